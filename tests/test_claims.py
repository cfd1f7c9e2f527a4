"""The claim rules (`claims_extractor`) on real sentences of the two sample articles, one
construction each. The shipped pipeline decides claims with the learned `claims_edges`
(tests/test_edges.py); these rules propose its candidates and are tested on their own."""

from __future__ import annotations

import pytest
from spacy.tokens import Doc

from pipeline.nlp.claims import Claim
from tests.conftest import KRATOM, MDMA, SAMPLE_CORPUS


@pytest.fixture(scope="module")
def mdma(rules_nlp) -> Doc:
    return rules_nlp((SAMPLE_CORPUS / MDMA).read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def kratom(rules_nlp) -> Doc:
    return rules_nlp((SAMPLE_CORPUS / KRATOM).read_text(encoding="utf-8"))


def claims_in(doc: Doc, sentence_start: str) -> list[Claim]:
    found = [c for c in doc._.claims if c.sentence.text.strip().startswith(sentence_start)]
    assert found, f"no claim in the sentence starting {sentence_start!r}"
    return found


def targets(claims: list[Claim]) -> set[str]:
    return {c.target.span.text for c in claims if c.target is not None}


def effects(claims: list[Claim]) -> set[str]:
    return {c.effect.span.text for c in claims if c.effect is not None}


def test_entities_are_labelled_and_normalised(mdma, kratom):
    def entity(doc: Doc, text: str):
        return next(e for e in doc.spans["entities"] if e.text == text)

    assert entity(kratom, "mitragynine").label_ == "SUBSTANCE"
    assert entity(kratom, "7-hydroxymitragynine")._.norm == "7-hydroxymitragynine"
    assert entity(kratom, "opioid receptors").label_ == "TARGET"
    assert entity(kratom, "MDD")._.norm == "major depressive disorder"
    assert entity(kratom, "SSRIs")._.norm == "ssris"
    assert entity(mdma, "Molly")._.norm == "mdma"
    assert entity(mdma, "serotonin").label_ == "TARGET"
    # "MDMA-assisted psychotherapy" is MDMA
    assisted = [e for e in mdma.spans["entities"] if e.text == "MDMA"]
    assert any(mdma[e.end].text == "-" and mdma[e.end + 1].text == "assisted" for e in assisted)


def test_subject_verb_object(mdma):
    claims = claims_in(mdma, "Upon ingestion, MDMA stimulates")
    serotonin = next(c for c in claims if c.target and c.target.span.text == "serotonin")
    assert serotonin.substance.norm == "mdma"
    assert serotonin.mechanism == "stimulates release"
    assert serotonin.rule == "svo"
    assert not serotonin.hedged


def test_passive(mdma):
    claims = claims_in(mdma, "Moreover, MDMA is thought to have")
    assert "neural pathways" in targets(claims)
    assert all(c.rule.startswith("passive") and c.hedged for c in claims)


def test_nominalisation_and_coordination(kratom):
    claims = claims_in(kratom, "Research suggests that kratom’s impact")
    assert {"serotonin", "norepinephrine", "dopamine"} <= targets(claims)
    assert all(c.rule.startswith("nominal") and c.substance.norm == "kratom" for c in claims)
    assert any("impact" in (c.mechanism or "") for c in claims)


def test_coordination_gives_one_claim_per_target(mdma):
    claims = claims_in(mdma, "MDMA, also known as ecstasy or Molly")
    assert targets(claims) == {"serotonin", "norepinephrine", "dopamine"}
    assert len([c for c in claims if c.target is not None]) == 3


def test_by_means_keeps_mechanism_and_effect_in_one_claim(mdma):
    claims = claims_in(mdma, "By increasing serotonin levels")
    assert {c.rule for c in claims} == {"by_means"}
    assert all(c.target.span.text == "serotonin" for c in claims)
    assert effects(claims) == {"alleviate some symptoms of depression", "improve mood"}
    assert all(c.mechanism == "increasing levels" and c.hedged for c in claims)
    assert all(c.effect.polarity == "benefit" for c in claims)
    assert {cue.text for c in claims for cue in c.hedge_cues} == {"may"}


def test_chain_through_a_relative_clause(kratom):
    claims = claims_in(kratom, "Its alkaloids, mitragynine")
    chained = [c for c in claims if "+chain" in c.rule]
    assert {c.target.span.text for c in chained} == {"opioid receptors"}
    assert "antidepressant effects" in effects(chained)
    assert all(c.hedged for c in chained)


def test_chain_through_leading_to(mdma):
    claims = claims_in(mdma, "The substance can increase empathy")
    chained = [c for c in claims if "+chain" in c.rule]
    assert "effective communication" in effects(chained)
    assert "leading" in chained[0].mechanism


def test_chain_through_contributes_to(kratom):
    claims = claims_in(kratom, "Research suggests that kratom’s impact")
    assert "antidepressant properties" in effects(claims)
    assert all("+chain" in c.rule for c in claims if c.effect is not None)


@pytest.mark.parametrize(
    ("doc_name", "sentence_start", "reference", "antecedent"),
    [
        (KRATOM, "Its alkaloids, mitragynine", "Its alkaloids", "mitragynine"),
        (KRATOM, "These compounds interact", "These compounds", "7-hydroxymitragynine"),
        (KRATOM, "This interaction may contribute", "This interaction", "mitragynine"),
        (MDMA, "The substance can increase empathy", "The substance", "MDMA"),
    ],
)
def test_references_resolve_within_the_paragraph(
    request, doc_name, sentence_start, reference, antecedent
):
    doc = request.getfixturevalue("kratom" if doc_name == KRATOM else "mdma")
    claims = claims_in(doc, sentence_start)
    assert {c.substance.span.text for c in claims} == {reference}
    assert {c.substance.antecedent.text for c in claims} == {antecedent}
    assert all(c.rule.endswith("+ref") for c in claims)


def test_hedged_and_asserted_claims(mdma):
    hedged = claims_in(mdma, "By modulating the release and reuptake")
    assert all(c.hedged for c in hedged)
    asserted = claims_in(mdma, "Furthermore, MDMA also affects")
    assert {"norepinephrine", "dopamine"} <= targets(asserted)
    assert not any(c.hedged for c in asserted)


def test_negation(rules_nlp):
    doc = rules_nlp("Kratom does not relieve anxiety.")
    (claim,) = doc._.claims
    assert claim.negated and [cue.text for cue in claim.negation_cues] == ["not"]


def test_advice_and_research_calls_make_no_claims(kratom, mdma):
    for doc, start in [
        (kratom, "Prospective users should consult"),
        (mdma, "These trials involve carefully designed"),
    ]:
        assert not [c for c in doc._.claims if c.sentence.text.startswith(start)]


def test_headings_make_no_claims(kratom):
    assert not [c for c in kratom._.claims if c.sentence._.is_heading]
