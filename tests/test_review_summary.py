"""Summary figures from verdicts, checked against a case worked out by hand."""

from __future__ import annotations

import math
from datetime import UTC, datetime

import pandas as pd
import pytest

from pipeline.review.summary import (
    Agreement,
    Precision,
    ReviewSummary,
    review_status,
    summarise,
    wilson_interval,
)
from pipeline.review.verdicts import REASONS, Verdict, VerdictStore

T0 = datetime(2025, 3, 1, tzinfo=UTC)


def verdict(claim_id: str, reviewer: str, reasons: tuple[str, ...] = (), verdict_id: int = 1):
    return Verdict(
        verdict_id=verdict_id,
        claim_id=claim_id,
        reviewer=reviewer,
        verdict="incorrect" if reasons else "correct",
        reasons=reasons,
        comment="",
        recorded_at=T0,
        doc_id="d",
        sentence_id="d:0",
        sentence="s",
        substance="x",
        target=None,
        effect=None,
        rule="svo",
        pipeline_version="1",
    )


def test_review_status():
    assert review_status({}) == "unreviewed"
    assert review_status({"ana": verdict("c", "ana")}) == "correct"
    assert review_status({"ana": verdict("c", "ana"), "bob": verdict("c", "bob")}) == "correct"
    wrong = verdict("c", "bob", ("other",))
    assert review_status({"bob": wrong}) == "incorrect"
    assert review_status({"ana": verdict("c", "ana", ("not_a_claim",)), "bob": wrong}) == (
        "incorrect"
    )
    assert review_status({"ana": verdict("c", "ana"), "bob": wrong}) == "disputed"


def test_wilson_interval():
    low, high = wilson_interval(8, 10)
    assert (round(low, 4), round(high, 4)) == (0.4902, 0.9433)
    assert all(math.isnan(x) for x in wilson_interval(0, 0))
    low, high = wilson_interval(10, 10)
    assert high == 1.0 and round(low, 4) == 0.7225
    assert wilson_interval(0, 10)[0] == 0.0
    with pytest.raises(ValueError):
        wilson_interval(11, 10)


def test_precision_and_agreement_properties():
    assert Precision("svo", 10, 8).precision == 0.8
    assert Precision("svo", 10, 8).interval == wilson_interval(8, 10)
    assert math.isnan(Precision("none", 0, 0).precision)
    assert all(math.isnan(x) for x in Precision("none", 0, 0).interval)

    # 2x2 table, rows reviewer a (correct, incorrect), columns reviewer b:
    #   [[20, 5],
    #    [10, 15]]   n = 50, agreed = 20 + 15 = 35, p_o = 0.7
    # a called 25 correct, b called 30: p_e = 25/50 * 30/50 + 25/50 * 20/50 = 0.3 + 0.2 = 0.5
    # kappa = (0.7 - 0.5) / (1 - 0.5) = 0.4
    pair = Agreement("ana", "bob", shared=50, agreed=35, a_correct=25, b_correct=30)
    assert pair.observed == pytest.approx(0.7)
    assert pair.kappa == pytest.approx(0.4)
    # Both called everything correct: chance agreement is 1, kappa is undefined.
    assert math.isnan(Agreement("ana", "bob", 5, 5, 5, 5).kappa)
    assert Agreement("ana", "bob", 5, 5, 5, 5).observed == 1.0
    # Perfect agreement with both outcomes present: kappa 1.
    assert Agreement("ana", "bob", 4, 4, 2, 2).kappa == 1.0
    assert math.isnan(Agreement("ana", "bob", 0, 0, 0, 0).observed)


def _claims() -> pd.DataFrame:
    """The current claims table: c5 is unreviewed; c9 (judged below) is no longer in it."""
    return pd.DataFrame(
        {
            "claim_id": ["c1", "c2", "c3", "c4", "c5"],
            "rule": ["svo", "svo+coord", "passive", "svo+coord+ref", "nominal+chain"],
            "target": ["5-HT2A receptors", None, "dopamine", None, "GABA"],
            "effect": ["mood", "pain", None, float("nan"), None],
            "polarity": ["benefit", "benefit", None, None, None],
            "certainty": ["asserted"] * 5,
        }
    )


def _record_case(store: VerdictStore) -> None:
    """Verdicts, superseded ones included; the snapshot's rule is the OLD rule ("svo")
    for every claim, so by-rule figures must come from the current table."""
    claims = {
        row["claim_id"]: {
            **row,
            "doc_id": "d",
            "sentence_id": "d:0",
            "sentence": "s",
            "substance": "x",
            "rule": "svo",
            "pipeline_version": "0.6",
        }
        for row in _claims().to_dict("records")
    }
    claims["c9"] = {**claims["c1"], "claim_id": "c9"}

    def say(claim_id: str, reviewer: str, *reasons: str) -> None:
        verdict = "incorrect" if reasons else "correct"
        store.record(claims[claim_id], reviewer, verdict, reasons)

    say("c1", "ana", "wrong_target")  # superseded by #1
    say("c3", "bob")  # superseded by #6
    say("c1", "ana")  # 1
    say("c1", "bob")  # 2
    say("c2", "ana", "wrong_effect", "wrong_polarity")  # 3
    say("c2", "bob")  # 4
    say("c3", "ana", "not_a_claim")  # 5
    say("c3", "bob", "wrong_target")  # 6
    say("c4", "ana", "hedging_wrong")  # 7
    say("c4", "bob", "hedging_wrong", "other")  # 8
    say("c1", "cy", "wrong_substance")  # 9
    say("c9", "ana")  # stale
    say("c9", "bob", "other")  # stale


def test_summary_of_a_case_worked_by_hand(tmp_path):
    store = VerdictStore(tmp_path / "reviews.sqlite")
    _record_case(store)
    result = summarise(store.latest(), _claims())

    assert isinstance(result, ReviewSummary)
    # Judgments #1-#9 (the two on c9 are stale); #1, #2 and #4 are correct.
    assert result.overall == Precision("all", 9, 3)
    assert result.stale_verdicts == 2
    assert result.claims_total == 5
    assert result.claims_reviewed == 4  # c1-c4
    assert result.claims_disputed == 2  # c1 (ana, bob correct; cy not), c2 (ana no, bob yes)

    # Current rules: c1 svo (#1 #2 #9: 2 of 3), c2 svo+coord (#3 #4: 1 of 2),
    # c3 passive (#5 #6: 0 of 2), c4 svo+coord+ref (#7 #8: 0 of 2).
    # Sorted by judged, then label.
    assert result.by_rule == [
        Precision("svo", 3, 2),
        Precision("passive", 2, 0),
        Precision("svo+coord", 2, 1),
        Precision("svo+coord+ref", 2, 0),
    ]
    # Base rule svo: c1 + c2 + c4 = 3 + 2 + 2 judged, 2 + 1 + 0 correct.
    assert result.by_base_rule == [Precision("svo", 7, 3), Precision("passive", 2, 0)]

    # Roles leave out #5 (not a claim): 8 judgments, #1 #2 #3 #4 #6 #7 #8 #9.
    # target applies to c1 and c3 (#1 #2 #9 #6; #6 says wrong_target);
    # effect and polarity to c1 and c2 (#1 #2 #9 #3 #4; #3 says both are wrong).
    assert result.by_role == [
        Precision("substance", 8, 7),  # #9 wrong_substance
        Precision("target", 4, 3),
        Precision("effect", 5, 4),
        Precision("polarity", 5, 4),
        Precision("hedging", 8, 6),  # #7 and #8 hedging_wrong
        Precision("negation", 8, 8),
    ]

    # ana: #1 #3 #5 #7 (1 correct); bob: #2 #4 #6 #8 (2 correct); cy: #9 (0 correct).
    assert result.by_reviewer == [
        Precision("ana", 4, 1),
        Precision("bob", 4, 2),
        Precision("cy", 1, 0),
    ]

    # Incorrect judgments #3 #5 #6 #7 #8 #9; the stale "other" on c9 does not count.
    assert result.reasons == [
        ("not_a_claim", 1),
        ("wrong_substance", 1),
        ("wrong_target", 1),
        ("wrong_effect", 1),
        ("wrong_polarity", 1),
        ("hedging_wrong", 2),
        ("negation_wrong", 0),
        ("other", 1),
    ]
    assert [key for key, _ in result.reasons] == list(REASONS)

    # ana vs bob over c1-c4: ana C I I I, bob C C I I.
    #   2x2 [[both C, ana C/bob I], [ana I/bob C, both I]] = [[1, 0], [1, 2]]
    #   p_o = 3/4; p_e = (1/4)(2/4) + (3/4)(2/4) = 1/2; kappa = (3/4 - 1/2) / (1/2) = 0.5
    # ana vs cy and bob vs cy share c1 only and disagree: p_o = 0, p_e = 1*0 + 0*1 = 0,
    # kappa = 0. The stale c9 (ana C, bob I) is not counted.
    assert result.agreement == [
        Agreement("ana", "bob", shared=4, agreed=3, a_correct=1, b_correct=2),
        Agreement("ana", "cy", shared=1, agreed=0, a_correct=1, b_correct=0),
        Agreement("bob", "cy", shared=1, agreed=0, a_correct=1, b_correct=0),
    ]
    assert result.agreement[0].kappa == pytest.approx(0.5)
    assert result.agreement[0].observed == pytest.approx(0.75)
    assert result.agreement[1].kappa == 0.0


def test_summary_with_no_verdicts():
    result = summarise([], _claims())
    assert result.overall == Precision("all", 0, 0)
    assert math.isnan(result.overall.precision)
    assert (result.by_rule, result.by_base_rule, result.by_reviewer) == ([], [], [])
    assert [p.judged for p in result.by_role] == [0] * 6
    assert result.reasons == [(key, 0) for key in REASONS]
    assert result.agreement == []
    assert (result.claims_total, result.claims_reviewed, result.claims_disputed) == (5, 0, 0)
    assert result.stale_verdicts == 0


def test_summary_of_an_empty_claims_table_counts_everything_stale():
    empty = _claims().iloc[0:0]
    result = summarise([verdict("c1", "ana")], empty)
    assert result.stale_verdicts == 1
    assert result.overall.judged == 0
    assert result.claims_total == 0


def test_summary_needs_the_claim_columns():
    with pytest.raises(ValueError, match="polarity"):
        summarise([], _claims().drop(columns="polarity"))
