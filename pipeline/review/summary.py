"""Figures from reviewers' verdicts: precision overall, by rule, by role and by reviewer,
the reasons given, and how far reviewers agree.

The definitions, which the summary page shows too, are in `ROLE_DEFINITION` below.
"""

from __future__ import annotations

import itertools
import math
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

import pandas as pd

from pipeline.review.verdicts import REASONS, Verdict

ROLE_DEFINITION: str = """\
Judgment: a reviewer's latest verdict on a claim. Earlier verdicts by the same reviewer on
the same claim are superseded. Stale verdicts, on claims the current claims table no longer
holds, are left out of every figure.

Precision: correct judgments / judgments, with a 95% Wilson interval. By rule uses the rule
in the current claims table; the base rule is the part before the first "+" (svo+coord+ref
counts as svo).

Role precision (substance, target, effect, polarity, hedging, negation): over the judgments
of claims the role applies to, leaving out those marked "not a claim", so it is precision
given that the sentence holds a claim. Substance, hedging and negation apply to every claim;
target, effect and polarity only when the claim has one. A judgment is correct for a role
unless it gives that role's reason (wrong substance, wrong target, wrong effect, wrong
polarity, hedging wrong, negation wrong).

Reasons: how many incorrect judgments give each reason; a judgment may give several.

Status of a claim: unreviewed (no judgment), correct or incorrect (every reviewer says so),
disputed (reviewers differ).

Agreement, per pair of reviewers, over the claims both judged: observed agreement (share
with the same verdict) and Cohen's kappa on correct/incorrect (agreement beyond chance;
undefined when chance agreement is 1, e.g. both called every shared claim correct).
"""

# Role -> (the claims column that must be non-null for the role to apply, or None when it
# always applies; the reason that marks the role wrong).
ROLES: dict[str, tuple[str | None, str]] = {
    "substance": (None, "wrong_substance"),
    "target": ("target", "wrong_target"),
    "effect": ("effect", "wrong_effect"),
    "polarity": ("polarity", "wrong_polarity"),
    "hedging": (None, "hedging_wrong"),
    "negation": (None, "negation_wrong"),
}

_CLAIM_COLUMNS = ("claim_id", "rule", "target", "effect", "polarity")


def review_status(verdicts: Mapping[str, Verdict]) -> str:
    """unreviewed, correct, incorrect or disputed, from one claim's latest verdict per
    reviewer."""
    if not verdicts:
        return "unreviewed"
    outcomes = {v.is_correct for v in verdicts.values()}
    if outcomes == {True}:
        return "correct"
    if outcomes == {False}:
        return "incorrect"
    return "disputed"


def wilson_interval(successes: int, n: int, z: float = 1.96) -> tuple[float, float]:
    """Wilson score interval for a proportion: sensible for the small counts and the
    proportions near 1 that reviews produce, where the normal approximation is not."""
    if not 0 <= successes <= n:
        raise ValueError(f"need 0 <= successes <= n, got {successes} of {n}")
    if n == 0:
        return (math.nan, math.nan)
    p = successes / n
    z2 = z * z
    denominator = 1 + z2 / n
    centre = (p + z2 / (2 * n)) / denominator
    half = z / denominator * math.sqrt(p * (1 - p) / n + z2 / (4 * n * n))
    return (max(0.0, centre - half), min(1.0, centre + half))


@dataclass(frozen=True)
class Precision:
    """Correct judgments out of judged ones, for one rule, role, reviewer or overall."""

    label: str
    judged: int
    correct: int

    @property
    def precision(self) -> float:
        return self.correct / self.judged if self.judged else math.nan

    @property
    def interval(self) -> tuple[float, float]:
        return wilson_interval(self.correct, self.judged)


@dataclass(frozen=True)
class Agreement:
    """Two reviewers over the claims both judged. `a_correct` and `b_correct` (how many of
    the shared claims each called correct) are the margins kappa needs."""

    reviewer_a: str
    reviewer_b: str
    shared: int
    agreed: int
    a_correct: int
    b_correct: int

    @property
    def observed(self) -> float:
        return self.agreed / self.shared if self.shared else math.nan

    @property
    def kappa(self) -> float:
        """Cohen's kappa, (p_o - p_e) / (1 - p_e), in exact integer arithmetic."""
        n = self.shared
        # n² * p_e: both correct by chance plus both incorrect by chance.
        chance = self.a_correct * self.b_correct + (n - self.a_correct) * (n - self.b_correct)
        if n == 0 or chance == n * n:
            return math.nan
        return (self.agreed * n - chance) / (n * n - chance)


@dataclass(frozen=True)
class ReviewSummary:
    """Everything the summary page shows."""

    overall: Precision
    by_rule: list[Precision]
    by_base_rule: list[Precision]
    by_role: list[Precision]
    by_reviewer: list[Precision]
    reasons: list[tuple[str, int]]
    agreement: list[Agreement]
    claims_total: int
    claims_reviewed: int
    claims_disputed: int
    stale_verdicts: int


def base_rule(rule: str) -> str:
    """svo+coord+ref -> svo."""
    return rule.split("+", 1)[0]


def summarise(latest: Iterable[Verdict], claims: pd.DataFrame) -> ReviewSummary:
    """The figures for `latest` (each reviewer's latest verdict per claim, as
    `VerdictStore.latest()` gives them) against the current `claims` table."""
    missing = [c for c in _CLAIM_COLUMNS if c not in claims.columns]
    if missing:
        raise ValueError(f"the claims table has no column {', '.join(missing)}")
    current: dict[str, dict[str, object]] = {}
    for row in claims[list(_CLAIM_COLUMNS)].to_dict("records"):
        current.setdefault(str(row["claim_id"]), row)

    judgments: list[Verdict] = []
    stale = 0
    for verdict in latest:
        if verdict.claim_id in current:
            judgments.append(verdict)
        else:
            stale += 1

    by_claim: dict[str, dict[str, Verdict]] = defaultdict(dict)
    for verdict in judgments:
        by_claim[verdict.claim_id][verdict.reviewer] = verdict

    def rule(verdict: Verdict) -> str:
        return str(current[verdict.claim_id]["rule"])

    return ReviewSummary(
        overall=_precision("all", judgments),
        by_rule=_by_count(_group(judgments, rule)),
        by_base_rule=_by_count(_group(judgments, lambda v: base_rule(rule(v)))),
        by_role=[_role_precision(role, judgments, current) for role in ROLES],
        by_reviewer=sorted(
            _group(judgments, lambda v: v.reviewer), key=lambda precision: precision.label
        ),
        reasons=_reason_counts(judgments),
        agreement=_agreement(by_claim),
        claims_total=len(current),
        claims_reviewed=len(by_claim),
        claims_disputed=sum(review_status(v) == "disputed" for v in by_claim.values()),
        stale_verdicts=stale,
    )


def _precision(label: str, judgments: Iterable[Verdict]) -> Precision:
    judgments = list(judgments)
    return Precision(label, len(judgments), sum(v.is_correct for v in judgments))


def _group(judgments: list[Verdict], key: Callable[[Verdict], str]) -> list[Precision]:
    groups: dict[str, list[Verdict]] = defaultdict(list)
    for verdict in judgments:
        groups[key(verdict)].append(verdict)
    return [_precision(label, members) for label, members in groups.items()]


def _by_count(precisions: list[Precision]) -> list[Precision]:
    return sorted(precisions, key=lambda p: (-p.judged, p.label))


def _role_precision(
    role: str, judgments: list[Verdict], current: Mapping[str, Mapping[str, object]]
) -> Precision:
    column, reason = ROLES[role]
    judged = correct = 0
    for verdict in judgments:
        if "not_a_claim" in verdict.reasons:
            continue
        if column is not None and _is_null(current[verdict.claim_id][column]):
            continue
        judged += 1
        correct += reason not in verdict.reasons
    return Precision(role, judged, correct)


def _reason_counts(judgments: list[Verdict]) -> list[tuple[str, int]]:
    counts = Counter(r for v in judgments if not v.is_correct for r in v.reasons)
    return [(reason, counts[reason]) for reason in REASONS]


def _agreement(by_claim: Mapping[str, Mapping[str, Verdict]]) -> list[Agreement]:
    """One Agreement per pair of reviewers who share at least one claim, sorted by names."""
    tables: dict[tuple[str, str], list[int]] = {}  # pair -> [shared, agreed, a_ok, b_ok]
    for verdicts in by_claim.values():
        for a, b in itertools.combinations(sorted(verdicts), 2):
            ok_a, ok_b = verdicts[a].is_correct, verdicts[b].is_correct
            counts = tables.setdefault((a, b), [0, 0, 0, 0])
            counts[0] += 1
            counts[1] += ok_a == ok_b
            counts[2] += ok_a
            counts[3] += ok_b
    return [Agreement(a, b, *counts) for (a, b), counts in sorted(tables.items())]


def _is_null(value: object) -> bool:
    return value is None or (pd.api.types.is_scalar(value) and bool(pd.isna(value)))
