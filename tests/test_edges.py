"""The learned claim extractor's parts: candidates, decisions, saving; gold merging."""

from __future__ import annotations

import sys

import pytest

from pipeline.evaluation.evaluate import genre_of
from pipeline.nlp.edges import EdgeClassifier, EdgeModel, decide, dependency_path, to_claims
from pipeline.nlp.hedging import LinearModel
from tests.conftest import PROJECT_DIR

sys.path.insert(0, str(PROJECT_DIR / "models" / "scripts"))
import check_gold
import merge_gold

TEXT = "Kratom may relieve pain. MDMA stimulates the release of serotonin."


def _model(weights: dict[str, float], bias: float = -2.0) -> EdgeModel:
    return EdgeModel(LinearModel(["claim"], {k: [v] for k, v in weights.items()}, [bias]), 0.5)


@pytest.fixture(scope="module")
def parsed(nlp):
    return nlp(TEXT)


def test_candidates_cover_both_roles_of_verb_phrases_and_targets(parsed):
    found = EdgeClassifier("claims_edges").candidates(parsed)
    spans = {(c.mention.span.text, c.span.text, c.role) for c in found}
    assert ("Kratom", "relieve pain", "effect") in spans
    assert ("Kratom", "relieve pain", "target") in spans
    assert any(m == "MDMA" and "serotonin" in s and r == "target" for m, s, r in spans)
    assert all(
        f"bias:{c.role}" in c.features and f"rule:{c.role}:{c.rule or 'none'}" in c.features
        for c in found
    )


def test_the_model_decides_and_keeps_the_longest_of_overlapping_spans(parsed):
    found = EdgeClassifier("claims_edges").candidates(parsed)
    model = _model({"bias:effect": 3.0, "src:effect:verb": 1.0})
    kept = decide(found, model)
    kratom = [c for c in kept if c.mention.span.text == "Kratom"]
    assert [c.span.text for c in kratom] == ["relieve pain"]  # "pain" overlaps: dropped
    assert all(c.role == "effect" and c.probability >= 0.5 for c in kept)
    assert decide(found, _model({}, bias=-5.0)) == []


def test_claims_carry_confidence_and_the_cue_scopes(parsed):
    found = EdgeClassifier("claims_edges").candidates(parsed)
    kept = decide(found, _model({"bias:effect": 3.0, "src:effect:verb": 1.0}))
    claims = to_claims(kept, list(parsed.spans["hedge_cues"]), [])
    relieve = next(c for c in claims if c.effect.span.text == "relieve pain")
    assert relieve.hedged and relieve.certainty == "hedged"
    assert 0.5 <= relieve.confidence <= 1.0
    assert relieve.rule.startswith("learned")


def test_weights_are_saved_with_the_pipeline_and_read_back(nlp, tmp_path, parsed):
    component = EdgeClassifier("claims_edges")
    with pytest.raises(ValueError, match="no weights"):
        component(parsed)
    component.model = _model({"bias:effect": 3.0}, bias=0.0)
    component.model.threshold = 0.7
    component.to_disk(tmp_path)
    again = EdgeClassifier("claims_edges").from_disk(tmp_path)
    assert again.model.threshold == 0.7
    assert again.model.model.weights == {"bias:effect": [3.0]}


def test_dependency_path_meets_at_the_verb(parsed):
    kratom, pain = parsed[0], parsed[3]
    up, down = dependency_path(kratom, pain)
    assert up[0] == kratom and up[-1].lemma_ == "relieve" and down[-1] == pain


@pytest.mark.parametrize(
    ("doc", "genre"),
    [
        ("story_reviews_00045", "news story"),
        ("news_reviews_00224", "press release"),
        ("WIKIPEDIA - PCE.md", "encyclopedia"),
        ("PSYCHONAUTWIKI - ALD-52.md", "encyclopedia"),
        ("DRUGBANK - Librium.md", "drug page"),
        ("mdma_depression", "web article"),
    ],
)
def test_genre_of_gold_names(doc, genre):
    assert genre_of(doc) == genre


def _edge(quote, value, key, *, role="effect", optional=False, hedged=False, names=("X",)):
    return {
        "doc": "d",
        "quote": quote,
        "substance": list(names),
        "role": role,
        "value": value,
        "key": key,
        "polarity": "benefit" if role == "effect" else None,
        "hedged": hedged,
        "negated": False,
        "optional": optional,
    }


MERGE_TEXT = "X relieves pain in most people. X may cause nausea and dizziness.\nA table\nRow"


def test_merge_requires_both_and_nulls_disagreement():
    a = [
        _edge("X relieves pain in most", "pain", "pain"),
        _edge("X may cause nausea and", "nausea", "nause", hedged=True),
        _edge("X may cause nausea and", "dizziness", "dizz", optional=True),
    ]
    b = [
        _edge("relieves pain in most people", "relieves pain", "pain"),
        _edge("may cause nausea and dizziness", "nausea", "nause", hedged=False),
        _edge("may cause nausea and dizziness", "dizziness", "dizz"),
        _edge("X relieves pain in most", "most people", "people"),
    ]
    merged, agreement = merge_gold.merge_article(a, b, MERGE_TEXT, "d")
    by_value = {e["value"]: e for e in merged}
    assert not by_value["pain"]["optional"]  # both required
    assert by_value["nausea"]["hedged"] is None  # they disagreed
    assert by_value["dizziness"]["optional"]  # one made it optional
    assert by_value["most people"]["optional"]  # only B made it
    assert (agreement.a, agreement.b, agreement.both, agreement.both_required) == (3, 4, 3, 2)
    assert agreement.to_json()["f1_all"] == pytest.approx(6 / 7)


def test_a_quote_over_a_line_break_is_cut_to_its_unique_line():
    edge = _edge("A table\nRow", "table", "table", role="target")
    assert merge_gold.fix_quote(edge, MERGE_TEXT)["quote"] == "A table"


def test_check_gold_names_each_broken_rule():
    bad = _edge("not in the text at all", "pain", "ache")
    problems = check_gold.problems(bad, MERGE_TEXT)
    assert any("occurs 0 times" in p for p in problems)
    assert any("key stems" in p for p in problems)
    assert check_gold.problems(_edge("X relieves pain in most", "pain", "pain"), MERGE_TEXT) == []


# -- the shipped pipeline decides claims with claims_edges ---------------------------------------


def test_the_shipped_pipeline_decides_claims_with_the_learned_extractor(nlp):
    assert "claims_edges" in nlp.pipe_names and "claims_extractor" not in nlp.pipe_names
    edges = nlp.get_pipe("claims_edges")
    assert edges.model is not None and edges.model.polarity is not None
    assert "heading" in edges.claim_kinds
    assert edges.model.trained_on["positives"] > 1000
    doc = nlp("Upon ingestion, MDMA stimulates the release of serotonin from presynaptic neurons.")
    (claim,) = doc._.claims
    assert claim.rule.startswith("learned")
    assert 0.0 < claim.confidence <= 1.0
    # the mechanism noun is the mechanism, the entity it governs the target
    assert (claim.target.span.text, claim.target.norm) == ("serotonin", "serotonin")
    assert claim.mechanism == "stimulates release"


def test_a_chain_of_target_and_effect_stays_one_claim(nlp):
    doc = nlp("By increasing serotonin levels, MDMA may help alleviate symptoms and improve mood.")
    chains = [c for c in doc._.claims if c.target is not None and c.effect is not None]
    assert {(c.target.norm, c.effect.span.text) for c in chains} == {
        ("serotonin", "alleviate symptoms"),
        ("serotonin", "improve mood"),
    }
    assert all(c.hedged and c.mechanism == "increasing levels" for c in chains)
    # the chain's confidence is its weaker edge's: a reviewer sorts by the doubtful part
    edges = nlp.get_pipe("claims_edges")
    kept = decide(edges.candidates(doc), edges.model)
    by_span = {(c.role, c.span.text): c.probability for c in kept}
    for chain in chains:
        effect = by_span[("effect", chain.effect.span.text)]
        target = max(p for (role, text), p in by_span.items() if role == "target")
        assert chain.confidence == pytest.approx(min(effect, target), abs=1e-4)


def test_an_effect_is_grouped_on_its_outcome_not_on_the_verb(nlp):
    doc = nlp("Kratom may relieve chronic pain. Kratom relieves chronic pain in many users.")
    effects = {(c.effect.span.text, c.effect.norm, c.effect.polarity) for c in doc._.claims}
    norms = {norm for _, norm, _ in effects}
    assert len(norms) == 1 and "reliev" not in norms.pop()
    assert {polarity for *_, polarity in effects} == {"benefit"}


def test_the_threshold_in_the_config_overrides_the_trained_one(nlp):
    text = "Kratom may relieve pain, but it can cause nausea and constipation in some users."
    edges = nlp.get_pipe("claims_edges")
    saved = edges.threshold
    try:
        counts = []
        for threshold in (0.05, 0.5, 0.999):
            edges.threshold = threshold
            doc = nlp(text)
            counts.append(len(doc._.claims))
            assert all(c.confidence >= threshold for c in doc._.claims)
        assert counts[0] >= counts[1] >= counts[2] and counts[0] > counts[2]
    finally:
        edges.threshold = saved


def test_both_roles_see_the_same_features_but_the_rule(parsed):
    found = EdgeClassifier("claims_edges").candidates(parsed)
    pairs: dict[tuple, dict[str, list[str]]] = {}
    for c in found:
        pairs.setdefault((c.mention.span.start, c.span.start, c.span.end), {})[c.role] = c.features
    assert pairs
    for roles in pairs.values():
        target = {f.replace(":target", ":ROLE", 1) for f in roles["target"]}
        effect = {f.replace(":effect", ":ROLE", 1) for f in roles["effect"]}
        differ = {f for f in target ^ effect if not f.startswith("rule:")}
        assert not differ
