"""The hedge and negation detector: cues, types, scopes, claims' certainty, scoring, corpora."""

from __future__ import annotations

import json

import pytest
import spacy

from flows.cli import main
from pipeline.evaluation.hedge_corpora import (
    GoldCue,
    GoldSentence,
    load_split,
    read_xml_corpus,
    split_of,
)
from pipeline.evaluation.hedge_eval import PARSE_COMPONENTS, Report, parse, score
from pipeline.nlp.hedging import HEDGE, NEGATION, CueDetector, DetectorWeights, LinearModel
from pipeline.paths import PROJECT_DIR

PRELIMINARY = (
    "Preliminary studies and anecdotal evidence suggest that kratom may offer therapeutic "
    "effects for individuals with major depressive disorder (MDD)."
)
MDMA = "MDMA stimulates the release of serotonin."
NOT_OPIOID = "Unlike opioids, kratom does not act on the brain's opioid receptors."
FDA = (
    "The U.S. Food and Drug Administration (FDA) has issued warnings about the dangers of "
    "kratom, including the potential for abuse, addiction, and serious side effects."
)


def claims_of(nlp, text):
    return nlp(text)._.claims


# -- acceptance on the seed sentences -----------------------------------------------------------


def test_preliminary_studies_sentence_is_hedged_with_its_evidence(nlp):
    claims = claims_of(nlp, PRELIMINARY)
    kratom = [c for c in claims if c.substance.norm == "kratom"]
    assert kratom
    for claim in kratom:
        assert claim.hedged and claim.certainty == "hedged"
        assert {"may", "suggest"} <= {cue.text for cue in claim.hedge_cues}
        assert claim.study_design == ["research", "anecdote"]
        assert claim.preliminary


def test_stimulates_release_is_asserted(nlp):
    claims = claims_of(nlp, MDMA)
    assert claims and all(c.certainty == "asserted" for c in claims)
    assert all(not c.hedge_cues and not c.negation_cues for c in claims)


def test_does_not_act_is_negated(nlp):
    claims = [c for c in claims_of(nlp, NOT_OPIOID) if c.substance.norm == "kratom"]
    assert claims and all(c.negated and c.certainty == "negated" for c in claims)
    assert all([cue.text for cue in c.negation_cues] == ["not"] for c in claims)


def test_fda_warning_is_attributed_to_the_fda(nlp):
    claims = claims_of(nlp, FDA)
    assert claims
    for claim in claims:
        assert "FDA" in claim.attribution.text
        assert "regulatory" in claim.study_design
        assert claim.attribution_class == "regulator"


def test_a_may_elsewhere_in_the_sentence_does_not_hedge_the_claim(nlp):
    doc = nlp("MDMA stimulates the release of serotonin, which may improve mood.")
    by_effect = {c.effect.span.text if c.effect else None: c for c in doc._.claims}
    assert "may" in {cue.text for cue in doc.spans["hedge_cues"]}
    serotonin_only = [c for c in doc._.claims if c.effect is None]
    assert all(not c.hedged for c in serotonin_only)
    assert any(c.hedged for text, c in by_effect.items() if text and "mood" in text)


# -- cues, types and scopes ---------------------------------------------------------------------


def test_cues_have_types_and_scopes(nlp):
    doc = nlp(
        "These compounds are believed to interact with opioid receptors. "
        "It remains unclear whether kratom is safe. "
        "Some studies suggest that MDMA might help."
    )
    cues = {cue.text: cue for cue in doc.spans["hedge_cues"]}
    assert cues["believed"].label_ == "doxastic"
    assert cues["whether"].label_ == "investigation"
    assert cues["Some studies"].label_ == "weasel"
    assert cues["might"].label_ == "epistemic"
    for cue in cues.values():
        scope = cue._.scope
        assert scope.start <= cue.start and cue.end <= scope.end
    assert cues["might"]._.scope.text == "might help"
    assert "interact with opioid receptors" in cues["believed"]._.scope.text


def test_multi_word_cues(nlp):
    doc = nlp(
        "The mechanism is not yet fully understood, and further research is needed to confirm it."
    )
    texts = {cue.text for cue in doc.spans["hedge_cues"]}
    assert "not yet fully understood" in texts
    assert "further research is needed" in texts
    # the "not" of a knowledge gap is no negation
    assert not [cue for cue in doc.spans["negation_cues"] if cue.text == "not"]


def test_negation_scope_takes_in_the_subject(nlp):
    doc = nlp("Kratom does not act on opioid receptors.")
    (cue,) = doc.spans["negation_cues"]
    assert cue.text == "not" and cue.label_ == "negation"
    assert cue._.scope.text.startswith("Kratom")


def test_detector_round_trips_through_disk(nlp, tmp_path):
    nlp.to_disk(tmp_path / "model")
    loaded = spacy.load(tmp_path / "model")
    text = "Kratom may not be safe, and whether it helps is unclear."
    ours, theirs = nlp(text), loaded(text)
    for group in ("hedge_cues", "negation_cues"):
        assert [(c.start, c.end, c.label_, c._.scope_bounds) for c in ours.spans[group]] == [
            (c.start, c.end, c.label_, c._.scope_bounds) for c in theirs.spans[group]
        ]
    assert loaded.get_pipe("claims_hedging").weights.meta["split_seed"] == 2010


# -- scoring on a hand-made gold ----------------------------------------------------------------


def _detector_with_one_cue_word(nlp) -> CueDetector:
    """A detector that knows 'may' as a hedge cue and nothing else (no scope ranker)."""
    detector = CueDetector(nlp, "test", use_phrases=False)
    detector.set_weights(
        DetectorWeights(
            models={"hedge_cue": LinearModel(["cue"], {"w=may": [2.0]}, [-1.0])},
            candidates={HEDGE: ["may", "might"], NEGATION: []},
        )
    )
    return detector


def test_scores_count_sentences_cues_and_scopes_exactly(nlp):
    gold = [
        # found: a true positive cue, scope "may" vs gold "may help" -> 1 tp token, 1 fn
        GoldSentence(
            "bioscope", "biomedical", "d1", "s1", "It may help.",
            (GoldCue(HEDGE, "speculation", ((3, 6),), ((3, 11),)),),
        ),
        # missed: "might" scores -1 -> a false negative sentence and cue
        GoldSentence(
            "bioscope", "biomedical", "d1", "s2", "It might help.",
            (GoldCue(HEDGE, "speculation", ((3, 8),), ((3, 13),)),),
        ),
        # false alarm: "may" where the gold has none
        GoldSentence("bioscope", "biomedical", "d2", "s3", "It may rain.", ()),
        GoldSentence("bioscope", "biomedical", "d2", "s4", "It rains.", ()),
    ]  # fmt: skip
    detector = _detector_with_one_cue_word(nlp)
    report = score(detector, parse(nlp, gold), gold, Report())
    sentences = report.get("uncertain sentences", "bioscope")
    assert (sentences.tp, sentences.fp, sentences.fn) == (1, 1, 1)
    assert sentences.f1 == pytest.approx(0.5)
    cues = report.get("hedge cues", "bioscope")
    assert (cues.tp, cues.fp, cues.fn) == (1, 1, 1)
    alone = report.get("hedge scope tokens (gold cues)", "bioscope")
    assert (alone.tp, alone.fp, alone.fn) == (2, 0, 2)  # 'may', 'might' right; 'help' x2 missed
    end_to_end = report.get("hedge scope tokens (predicted cues)", "bioscope")
    assert (end_to_end.tp, end_to_end.fp, end_to_end.fn) == (1, 1, 3)


# -- the corpora (skip without ../shared/corpora) -------------------------------------------------


def test_split_is_by_document_and_never_leaks_a_sentence(corpora):
    sentences = [s for name in ("szeged_bio", "bioscope") for s in read_xml_corpus(name, corpora)]
    assignment = split_of(sentences)
    assert assignment == split_of(reversed(sentences))  # order-free, seeded
    train = {s.text for s in sentences if assignment[(s.corpus, s.doc_id)] == "train"}
    test = [s for s in sentences if assignment[(s.corpus, s.doc_id)] == "test"]
    assert test and not [s for s in test if len(s.text) >= 40 and s.text in train]


def test_starsem_reader_keeps_affixal_cues(corpora):
    sentences = load_split("dev", corpora=["starsem"], root=corpora)
    cues = [(s.text[a:b], s) for s in sentences for c in s.cues for a, b in c.spans]
    assert len(sentences) == 787
    assert {"not", "no", "un"} <= {text.lower() for text, _ in cues}


def test_evaluate_hedges_command_prints_held_out_figures(corpora, capsys):
    assert main(["evaluate", "hedges", "--limit", "40"]) == 0
    out = capsys.readouterr().out
    assert "held-out test documents" in out
    for line in ("uncertain sentences [szeged_bio]", "hedge cues [all]", "negation cues [starsem]"):
        assert line in out
    assert "hedge scope tokens (gold cues) [bioscope]" in out


# -- conditions of the phrase lexicon (web hedges that science uses otherwise) -----------------


@pytest.fixture(scope="module")
def phrases_only(nlp):
    """The shipped phrase lexicon alone, read from models/lexicon (no trained cue model)."""
    lexicon = PROJECT_DIR / "models" / "lexicon" / "hedge_cues.jsonl"
    phrases = [json.loads(line) for line in lexicon.read_text().splitlines() if line]
    detector = CueDetector(nlp, "phrases")
    detector.set_weights(DetectorWeights(phrases=phrases))

    def cues(text: str) -> list[str]:
        with nlp.select_pipes(enable=[n for n in PARSE_COMPONENTS if n in nlp.pipe_names]):
            doc = nlp(text)
        return [cue.text.lower() for cue in detector(doc).spans["hedge_cues"]]

    return cues


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("This effect could be due to a loss of PTEN.", ["could"]),
        ("Kratom could cause liver damage.", ["could"]),
        ("Researchers found that psilocybin could help with depression.", ["could"]),
        ("The protein could not be detected in mutant cells.", []),
        ("IFN-gamma could only be detected on T cells.", []),
        ("We could show that the receptor binds the ligand.", []),
        ("Transcripts could be observed in the embryo.", []),
        ("The site was induced by the virus and could confer inducibility to the promoter.", []),
        ("A link with liver injury could not be ruled out.", ["could not be ruled out"]),
        ("MDMA might not be safe.", ["might"]),
        ("Potential side effects include nausea.", ["potential"]),
        ("Weigh the benefits against the known and potential harms.", ["potential"]),
        ("The FDA warned of the potential for abuse.", ["potential"]),
        ("MDMA has the potential to enhance psychotherapy.", ["potential"]),
        ("The membrane potential of the neurons was recorded.", []),
        ("We assessed the proliferative potential of mutant glia.", []),
        ("A possible role of NF-kappa B in this process is discussed.", ["possible"]),
        ("It is possible that kratom worsens anxiety.", ["possible"]),
        ("Patients were treated as soon as possible.", []),
        ("The gift made the opera house possible.", []),
        ("It was not possible to distinguish the two species.", []),
    ],
)
def test_phrase_conditions(phrases_only, text, expected):
    assert phrases_only(text) == expected


def test_an_unknown_phrase_condition_is_refused(nlp):
    weights = DetectorWeights(
        phrases=[
            {"kind": "hedge", "type": "epistemic", "pattern": [{"LOWER": "x"}], "when": ["no"]}
        ]
    )
    with pytest.raises(ValueError, match="unknown condition"):
        CueDetector(nlp, "phrases").set_weights(weights)


def test_szeged_bio_is_also_scored_per_part(nlp):
    def sentence(doc_id: str, cue: bool) -> GoldSentence:
        cues = (GoldCue("hedge", "epistemic", ((0, 3),), None),) if cue else ()
        return GoldSentence("szeged_bio", "biomedical", doc_id, doc_id + ":1", "May be.", cues)

    sentences = [sentence("bio_fly.xml:P1", True), sentence("bio_hbc.xml:9", False)]
    detector = CueDetector(nlp, "empty")
    report = score(detector, parse(nlp, sentences), sentences)
    assert report.sentences == {"szeged_bio": 2, "szeged_bio_fly": 1, "szeged_bio_hbc": 1}
    assert report.get("uncertain sentences", "szeged_bio_fly").fn == 1
    assert report.get("uncertain sentences", "szeged_bio_hbc").fn == 0
