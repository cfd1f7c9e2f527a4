"""Claim strength (Yu et al.'s scheme): the component, its gold, its figures, the flag."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pipeline.evaluation import strength as evaluation
from pipeline.evaluation.strength import (
    GOLD_DIR,
    STRENGTHS,
    cross_validate,
    format_report,
    news_sentences,
    scores,
    yu_sentences,
)
from pipeline.nlp.evidence import STUDY_DESIGNS, strongest_design, study_designs
from pipeline.nlp.strength import (
    STRENGTHS as COMPONENT_STRENGTHS,
)
from pipeline.nlp.strength import (
    StrengthClassifier,
    StrengthWeights,
    causal_from_observational,
    default_words,
)
from pipeline.paths import PROJECT_DIR, corpora_dir

YU = corpora_dir() / "claim_strength_yu"
needs_yu = pytest.mark.skipif(not YU.exists(), reason=f"Yu et al.'s corpus not at {YU}")
needs_fakehealth = pytest.mark.skipif(
    not (corpora_dir() / "fakehealth").exists(),
    reason=f"FakeHealth not at {corpora_dir() / 'fakehealth'} (news gold texts)",
)


def test_one_list_of_strengths():
    assert (
        STRENGTHS
        == COMPONENT_STRENGTHS
        == (
            "none",
            "correlational",
            "conditional_causal",
            "direct_causal",
        )
    )


# -- the corpus and our gold ---------------------------------------------------------------------


@needs_yu
def test_yu_codes_follow_the_emnlp_file_and_the_other_file_agrees_under_the_swap():
    rows = yu_sentences()
    counts = {label: sum(r.strength == label for r in rows) for label in STRENGTHS}
    # the repository README's table: 1356 none, 494 direct, 213 conditional, 998 correlational
    assert counts == {
        "none": 1356,
        "direct_causal": 494,
        "conditional_causal": 213,
        "correlational": 998,
    }
    # Yu's own examples: a negated effect stays direct causal; "not associated" correlational
    by_text = {r.text: r.strength for r in rows}
    assert by_text["ZOL did not improve DFS when combined with CT."] == "direct_causal"
    assert (
        by_text[
            "Haematuria was not associated with a diagnosis of hypertension or renal dysfunction."
        ]
        == "correlational"
    )


def test_a_copy_whose_codes_disagree_beyond_the_swap_fails_loudly(tmp_path: Path):
    folder = tmp_path / "claim_strength_yu"
    folder.mkdir()
    (folder / evaluation.YU_FILE).write_text("sentence,label\nA causes B.,1\nA and B.,3\n")
    # the COLING file must swap 1 and 3; here it does not
    (folder / evaluation.YU_OTHER).write_text("sentence,label\nA causes B.,1\nA and B.,3\n")
    with pytest.raises(ValueError, match="disagree"):
        yu_sentences(tmp_path)
    (folder / evaluation.YU_OTHER).write_text("sentence,label\nA causes B.,3\nA and B.,1\n")
    assert [r.strength for r in yu_sentences(tmp_path)] == ["direct_causal", "correlational"]
    with pytest.raises(FileNotFoundError):
        yu_sentences(tmp_path / "nowhere")


def _gold(draw: str) -> list[dict]:
    return [json.loads(line) for line in (GOLD_DIR / f"{draw}.jsonl").read_text().splitlines()]


def test_the_news_gold_is_labels_offsets_and_short_quotes_from_disjoint_articles():
    held_out = (
        {
            line.strip()
            for line in (PROJECT_DIR.parent / "shared" / "heldout-docs.txt")
            .read_text()
            .splitlines()
            if line.strip() and not line.startswith("#")
        }
        if (PROJECT_DIR.parent / "shared" / "heldout-docs.txt").exists()
        else set()
    )
    draws = {draw: _gold(draw) for draw in ("eval", "train", "train2", "train3")}
    assert [len(rows) for rows in draws.values()] == [100, 600, 800, 1200]
    docs = {draw: {r["doc"] for r in rows} for draw, rows in draws.items()}
    assert not docs["eval"] & (docs["train"] | docs["train2"] | docs["train3"])  # never trained on
    assert not docs["train"] & docs["train2"] and not docs["train3"] & (
        docs["train"] | docs["train2"]
    )
    for rows in draws.values():
        for row in rows:
            assert set(row) == {
                "id",
                "doc",
                "start",
                "end",
                "quote",
                "a",
                "b",
                "adjudicated",
                "strength",
            }
            assert len(row["quote"].split()) <= 10
            assert row["doc"] not in held_out
            # gold is what both annotators said, else the adjudicator's label
            assert row["strength"] == (row["a"] if row["a"] == row["b"] else row["adjudicated"])
            assert row["strength"] in STRENGTHS
    agreement = json.loads((GOLD_DIR / "agreement.json").read_text())
    eval_rows = draws["eval"]
    assert agreement["eval"]["agreed"] == sum(r["a"] == r["b"] for r in eval_rows)


@needs_fakehealth
def test_news_sentences_are_rebuilt_from_the_articles_by_offsets():
    rows = news_sentences("eval")
    assert len(rows) == 100
    assert all(r.text.split()[:3] == r.text.split()[:3] and r.text for r in rows)
    assert {r.strength for r in rows} == set(STRENGTHS)


# -- scores and cross-validation -----------------------------------------------------------------


def test_scores_macro_f1_by_hand():
    gold = ["none", "none", "direct_causal", "correlational"]
    predicted = ["none", "direct_causal", "direct_causal", "none"]
    result = scores(gold, predicted)
    # none: P 1/2 R 1/2 F 0.5; direct: P 1/2 R 1 F 2/3; correlational: 0; conditional absent
    assert result["classes"] == ["none", "correlational", "direct_causal"]
    assert result["macro_f1"] == pytest.approx((0.5 + 2 / 3 + 0) / 3)
    assert result["accuracy"] == 0.5
    with pytest.raises(ValueError):
        scores(["none"], [])


def test_cross_validation_learns_separable_features():
    pytest.importorskip("sklearn")
    features, labels = [], []
    for i in range(40):
        for label in STRENGTHS:
            features.append([f"cue={label}", f"noise={i % 3}"])
            labels.append(label)
    result = cross_validate(features, labels, folds=5)
    assert len(result["folds"]) == 5
    assert result["mean_macro_f1"] == pytest.approx(1.0)
    noise = cross_validate([[f"noise={i % 3}"] for i in range(len(labels))], labels, folds=5)
    assert noise["mean_macro_f1"] < 0.5  # no signal, no score


# -- the component -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def shipped(nlp):
    return nlp


# Handed cases of each kind, with variants: an association, a direct effect (also negated), a
# hedged effect, and no relationship at all.
CASES = [
    ("Aspirin was linked to a lower risk of breast cancer.", "correlational"),
    ("Coffee drinking is associated with a longer life.", "correlational"),
    ("MDMA stimulates the release of serotonin.", "direct_causal"),
    ("The drug reduced pain in older adults.", "direct_causal"),
    ("Kratom may relieve chronic pain.", "conditional_causal"),
    ("Vitamin D could lower the risk of colds.", "conditional_causal"),
    ("The trial enrolled 200 patients in Boston.", "none"),
    ("The study was funded by the National Institutes of Health.", "none"),
]


@pytest.mark.parametrize(("text", "expected"), CASES)
def test_sentence_strength(shipped, text, expected):
    doc = shipped(text)
    sentences = list(doc.sents)
    assert all(s._.claim_strength in STRENGTHS for s in sentences)
    assert sentences[0]._.claim_strength == expected
    assert sum(sentences[0]._.strength_scores.values()) == pytest.approx(1.0, abs=1e-3)


def test_every_sentence_gets_a_strength_and_claims_get_theirs(shipped):
    doc = shipped(
        "Health news\n\nA cohort study of 5,000 adults followed them for ten years. "
        "Kratom relieves chronic pain, the researchers said. Kratom may also ease anxiety.\n"
    )
    assert all(s._.claim_strength in STRENGTHS for s in doc.sents)
    assert doc._.study_designs == ["observational"]
    by_effect = {c.effect.span.text: c for c in doc._.claims if c.effect is not None}
    pain = next(c for text, c in by_effect.items() if "pain" in text)
    assert pain.strength == "direct_causal"
    # "the researchers said" cites research of no named design: the article's design decides
    assert pain.study_design == ["research"]
    assert pain.causal_from_observational is True
    anxiety = next(c for text, c in by_effect.items() if "anxiety" in text)
    assert anxiety.strength == "conditional_causal"
    assert anxiety.causal_from_observational is False


def test_inflected_forms_count_when_the_tagger_is_wrong():
    from pipeline.nlp.strength import inflections

    assert {"reduces", "reduced", "reducing"} <= inflections("reduce")
    assert {"relieved", "worsened", "led", "tied", "intensifies"} <= (
        inflections("relieve")
        | inflections("worsen")
        | inflections("lead")
        | inflections("tie")
        | inflections("intensify")
    )


def test_a_trial_is_no_observational_evidence(shipped):
    doc = shipped(
        "Health news\n\nIn a randomized controlled trial, ibuprofen reduced pain in adults. "
        "A cohort study had found the same.\n"
    )
    claims = [c for c in doc._.claims if c.effect is not None]
    assert claims and all(c.study_design == ["trial"] for c in claims)
    assert not any(c.causal_from_observational for c in claims)


def test_the_flag_by_hand():
    assert causal_from_observational("direct_causal", ["observational"], [])
    assert not causal_from_observational("conditional_causal", ["observational"], [])
    assert not causal_from_observational("correlational", ["observational"], [])
    assert not causal_from_observational("direct_causal", ["observational", "trial"], [])
    assert not causal_from_observational("direct_causal", ["observational", "animal"], [])
    # the claim's own designs decide; generic research defers to the article's; a claim
    # citing no research at all is background ("It slows body functions, causing fatigue")
    assert not causal_from_observational("direct_causal", [], ["observational"])
    assert causal_from_observational("direct_causal", ["research"], ["observational"])
    assert not causal_from_observational("direct_causal", ["research"], ["trial"])
    assert not causal_from_observational("direct_causal", ["trial"], ["observational"])
    assert not causal_from_observational("direct_causal", [], [])


def test_a_hedged_claim_in_a_direct_sentence_is_conditional():
    from types import SimpleNamespace

    from pipeline.nlp.strength import claim_strength, word_sets

    words = word_sets(default_words())
    may = [SimpleNamespace(text="may")]
    claim = SimpleNamespace(mechanism="relieves", hedged=True, hedge_cues=may)
    assert claim_strength(claim, "direct_causal", words) == "conditional_causal"
    # "can" of a known effect and "suggests" hedge for the detector, not in Yu's scheme
    can = [SimpleNamespace(text="can"), SimpleNamespace(text="suggests")]
    claim = SimpleNamespace(mechanism="relieves", hedged=True, hedge_cues=can)
    assert claim_strength(claim, "direct_causal", words) == "direct_causal"
    claim = SimpleNamespace(mechanism="relieves", hedged=False)
    assert claim_strength(claim, "direct_causal", words) == "direct_causal"
    claim = SimpleNamespace(mechanism="linked", hedged=False)
    assert claim_strength(claim, "direct_causal", words) == "correlational"
    assert claim_strength(claim, "none", words) == "none"


def test_doubt_governs_the_causal_word(shipped):
    classifier = shipped.get_pipe("claims_strength")
    may = classifier.features(shipped("Kratom may reduce pain.")[:])
    plain = classifier.features(shipped("Kratom reduces pain.")[:])
    appears = classifier.features(shipped("Kratom appears to reduce pain.")[:])
    assert "causal+doubt" in may and "causal+doubt" in appears
    assert "causal+doubt" not in plain and "causal_undoubted" in plain
    linked = classifier.features(shipped("Kratom use was linked to liver injury.")[:])
    assert "corr" in linked and "kinds=corr" in linked


def test_weights_round_trip_and_unknown_labels_fail(shipped, tmp_path: Path):
    classifier = shipped.get_pipe("claims_strength")
    assert classifier.weights.model is not None
    assert "news-train" in classifier.weights.trained_on  # never Yu's corpus (GPL-3)
    classifier.to_disk(tmp_path)
    again = StrengthClassifier(
        shipped, "copy", hedges_key="hedge_cues", negations_key="negation_cues"
    )
    again.from_disk(tmp_path)
    text = shipped("Kratom may relieve chronic pain.")[:]
    assert again.predict(text)[0] == classifier.predict(text)[0]
    data = classifier.weights.to_json()
    data["model"]["labels"] = ["none", "maybe", "yes", "no"]
    with pytest.raises(ValueError, match="unknown labels"):
        StrengthWeights.from_json(data)


def test_without_weights_every_sentence_is_none(shipped):
    bare = StrengthClassifier(
        shipped, "bare", hedges_key="hedge_cues", negations_key="negation_cues"
    )
    assert bare.predict(shipped("MDMA stimulates the release of serotonin.")[:])[0] == "none"


# -- study designs ---------------------------------------------------------------------------------


def test_designs_are_named_apart_from_who_says_it():
    assert study_designs(["clinical trial", "observational study", "expert opinion"]) == [
        "trial",
        "observational",
    ]
    assert study_designs(["case report"]) == ["observational"]
    assert study_designs(["preliminary research"]) == ["research"]
    assert study_designs(["research", "animal study"]) == ["animal"]
    assert study_designs(["anecdotal", "regulatory warning"]) == ["anecdote", "regulatory"]
    # lay reports and warnings are no study: generic research stays beside them
    assert study_designs(["preliminary research", "anecdotal"]) == ["research", "anecdote"]
    assert strongest_design(["anecdote", "trial", "animal"]) == "trial"
    assert strongest_design([]) is None
    assert STUDY_DESIGNS[0] == "review"


def test_claims_carry_attribution_class_and_preliminary(shipped):
    doc = shipped("Preliminary research suggests that kratom relieves pain, experts say.")
    claims = [c for c in doc._.claims if c.effect is not None]
    assert claims
    assert all(c.preliminary for c in claims)
    assert {c.attribution_class for c in claims} == {"expert"}
    assert all("expert opinion" not in c.study_design for c in claims)


# -- the command ----------------------------------------------------------------------------------


@needs_yu
@needs_fakehealth
def test_claims_evaluate_strength_prints_every_figure(capsys, tmp_path: Path):
    pytest.importorskip("sklearn")
    from flows.cli import main

    report = tmp_path / "strength.json"
    assert main(["evaluate-strength", "--limit", "150", "--report", str(report)]) == 0
    out = capsys.readouterr().out
    for line in (
        "5-fold CV (mean)",
        "BioBERT (published)",
        "shipped weights on Yu PubMed",
        "shipped weights on news sample",
    ):
        assert line in out
    figures = json.loads(report.read_text())
    assert figures["yu_sentences"] <= 160
    assert figures["shipped_on_news"]["n"] == 100
    assert 0.0 <= figures["shipped_on_news"]["macro_f1"] <= 1.0


def test_format_report_without_shipped_weights():
    figures = {
        "yu_cv": {
            "folds": [{}] * 5,
            "pooled": {"n": 10},
            "mean_macro_f1": 0.5,
            "mean_accuracy": 0.6,
        },
        "yu_published": evaluation.YU_PUBLISHED,
        "yu_on_news": {"n": 3, "macro_f1": 0.1, "accuracy": 0.2},
        "trained_on": "",
    }
    text = format_report(figures)
    assert "shipped weights: none" in text and "0.880" in text


# How news describes an observational study without naming its design (issue 21 review).
# Named studies are not among them: the Nurses' Health Study is a cohort, the Women's Health
# Study a randomized trial.
OBSERVATIONAL_VARIANTS = [
    "Researchers looked at data from over 86,000 women.",
    "The team followed 10,000 adults for 12 years.",
    "They analysed medical records of 5,000 patients.",
    "Participants filled in a questionnaire about their diet.",
]


@pytest.mark.parametrize("text", OBSERVATIONAL_VARIANTS)
def test_observational_designs_news_describes(shipped, text):
    finder = shipped.get_pipe("claims_evidence").finder
    doc = shipped(text)
    assert "observational" in study_designs(finder.evidence_in(doc[:]))


def test_a_known_effect_with_can_stays_direct_causal(shipped):
    doc = shipped("Aspirin can help patients who have had a heart attack. It is cheap.")
    claims = [c for c in doc._.claims if c.effect is not None]
    assert claims and all(c.strength == "direct_causal" for c in claims)


TRIAL_VARIANTS = [
    "Volunteers were randomly assigned to take the pill or a placebo.",
    "Half the patients were given a placebo.",
    "The researchers randomized 300 adults to two diets.",
]


@pytest.mark.parametrize("text", TRIAL_VARIANTS)
def test_trials_news_describes_without_the_word(shipped, text):
    finder = shipped.get_pipe("claims_evidence").finder
    assert "trial" in study_designs(finder.evidence_in(shipped(text)[:]))


def test_a_disclaimer_or_a_hedge_is_never_flagged(shipped):
    doc = shipped(
        "Health news\n\nThe cohort study followed 10,000 adults for 12 years. "
        "The study does not prove that coffee prevents heart disease. "
        "Coffee may prevent strokes, the authors said. Coffee prevents liver disease, they said.\n"
    )
    flagged = {c.effect.span.text: c.causal_from_observational for c in doc._.claims if c.effect}
    assert any("liver" in effect and flag for effect, flag in flagged.items())
    assert not any(("heart" in e or "stroke" in e) and flag for e, flag in flagged.items())
