"""The run's tables as the review app needs them: claims to filter, evidence to show.

Tables are read through the store's published snapshot and cached until a new run publishes
another one, so a reviewer working during a re-run sees the old claims or the new ones,
never a mix. Nothing here writes; verdicts live in `pipeline.review.verdicts`.

Each claim also carries whether the corpus contests it: `contested` is true when the
`claim_summary` row of its (substance, effect) or of its (substance, target) (`level` effect,
target) is contested, i.e. two articles disagree on its polarity or on whether it holds.
Tables written before schema version 10 have no strength, flag or contested values: those
read as unknown, not flagged and not contested.
"""

from __future__ import annotations

import itertools
import math
import re
import threading
import warnings
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from urllib.parse import urlencode, urlsplit

import numpy as np
import pandas as pd

from pipeline.nlp.strength import STRENGTHS
from pipeline.storage import tables
from pipeline.storage.claim_summary import site_of
from pipeline.storage.schemas import columns
from pipeline.storage.sources import shown_source
from pipeline.storage.store import TableStore

# Columns the app reads from each table; a table without them comes from an older schema.
_COLUMNS = {
    "claims": columns(
        "claims",
        "claim_id",
        "doc_id",
        "source",
        "section",
        "sentence_id",
        "sentence",
        "sentence_start",
        "sentence_end",
        "substance",
        "substance_norm",
        "substance_antecedent",
        "substance_start",
        "substance_end",
        "mechanism",
        "target",
        "target_norm",
        "target_start",
        "target_end",
        "effect",
        "effect_norm",
        "effect_start",
        "effect_end",
        "polarity",
        "condition",
        "hedged",
        "negated",
        "certainty",
        "hedge_cues",
        "hedge_types",
        "negation_cues",
        "study_design",
        "preliminary",
        "attribution",
        "attribution_class",
        "strength",
        "causal_from_observational",
        "rule",
        "confidence",
        "pipeline_version",
    ),
    "documents": columns("documents", "doc_id", "source", "title", "url", "text", "run_id"),
    "sentences": columns(
        "sentences", "sentence_id", "doc_id", "index", "paragraph", "start_char", "end_char"
    ),
    "cues": columns(
        "cues",
        *("doc_id", "sentence_id", "kind", "cue", "type", "cue_start", "cue_end"),
        *("scope", "scope_start", "scope_end", "source"),
    ),
    "runs": columns("runs", "run_id", "corpus"),
}

# The claim_summary columns the app reads: whether articles agree on a substance's effect or
# target, and how they state it. Optional: without a readable claim_summary the app still
# shows the claims, with nothing contested.
_SUMMARY_COLUMNS = columns(
    "claim_summary",
    *("level", "substance", "target", "effect", "n_articles", "n_sites", "n_claims"),
    *("articles_benefit_share", "articles_harm_share", "articles_no_effect_share"),
    *("articles_hedged_share", "articles_causal_share", "articles_correlational_share"),
    *("n_causal_from_observational", "strongest_design", "contested"),
)
# The summary levels a claim is contested through, with the claims column naming the term.
CONTESTED_LEVELS = {"effect": "effect_norm", "target": "target_norm"}

# Review status of a claim, from the latest verdict of each reviewer (see summary.py);
# "todo" and "done" are relative to the reviewer using the app.
STATUSES = {
    "todo": "not yet judged by you",
    "done": "judged by you",
    "unreviewed": "judged by nobody",
    "correct": "all verdicts correct",
    "incorrect": "all verdicts incorrect",
    "disputed": "reviewers disagree",
}


class TablesUnavailable(RuntimeError):
    """The folder holds no claims tables the app can show; the message says what to do."""


@dataclass(frozen=True)
class ReviewData:
    """One published snapshot of the tables, indexed for the app."""

    snapshot: Path
    # claims table + `order` (reading order) + `doc_title` + `contested_effect`,
    # `contested_target` and `contested` (see `mark_contested`)
    claims: pd.DataFrame
    documents: pd.DataFrame  # indexed by doc_id
    sentences: pd.DataFrame
    cues: pd.DataFrame
    summary: pd.DataFrame = field(default_factory=pd.DataFrame)  # claim_summary rows
    summary_note: str | None = None  # why claim_summary could not be read, if it could not

    @property
    def empty(self) -> bool:
        return self.claims.empty

    def claim(self, claim_id: str) -> dict | None:
        rows = self.claims.loc[self.claims["claim_id"] == claim_id]
        return None if rows.empty else _plain(rows.iloc[0].to_dict())

    def agreement(self, claim: Mapping[str, object]) -> list[dict]:
        """The claim_summary rows of the claim's (substance, effect) and (substance, target),
        in that order: what the whole corpus says about it (see `summary_rows`)."""
        return summary_rows(self.summary, claim)


def load_tables(tables_dir: Path | str) -> ReviewData:
    """Read the current snapshot of a run's output folder, or say why it cannot be shown."""
    tables_dir = Path(tables_dir)
    summary_note = None
    try:
        with warnings.catch_warnings():  # the pages say nothing of older articles
            warnings.simplefilter("ignore", UserWarning)
            try:
                pinned = tables.snapshot(tables_dir, [*_COLUMNS, "claim_summary"])
            except tables.TablesError as error:  # the claims may still be readable
                pinned = tables.snapshot(tables_dir, list(_COLUMNS))
                summary_note = str(error)
        frames = {
            name: pinned.read(name, columns).to_pandas() for name, columns in _COLUMNS.items()
        }
        summary = (
            pinned.pandas("claim_summary", _SUMMARY_COLUMNS)
            if summary_note is None
            else pd.DataFrame(columns=list(_SUMMARY_COLUMNS))
        )
    except tables.TablesError as error:
        hint = " Verdicts already recorded are kept." if tables_dir.is_dir() else ""
        raise TablesUnavailable(f"{error}{hint}") from None
    except FileNotFoundError:  # the snapshot was retired while being read: take the new one
        return load_tables(tables_dir)
    snapshot = pinned.path
    documents = frames["documents"].set_index("doc_id", drop=False)
    corpora = dict(zip(frames["runs"]["run_id"], frames["runs"]["corpus"], strict=True))
    documents["site"] = documents["url"].map(lambda url: site_of(url) if is_web_link(url) else None)
    documents["where"] = [
        shown_source(source, corpora.get(run_id) or pinned.corpus, corpora.values())
        for source, run_id in zip(documents["source"], documents["run_id"], strict=True)
    ]
    claims = frames["claims"]
    titles = document_titles(documents)
    claims["doc_title"] = claims["doc_id"].map(titles).fillna(claims["source"])
    claims["doc_site"] = claims["doc_id"].map(documents["site"])
    claims["doc_where"] = claims["doc_id"].map(documents["where"]).fillna(claims["source"])
    claims = claims.sort_values(
        ["doc_title", "doc_id", "sentence_start", "substance_start", "claim_id"], kind="stable"
    ).reset_index(drop=True)
    claims["order"] = range(len(claims))
    return ReviewData(
        snapshot=snapshot,
        claims=mark_contested(claims, summary),
        documents=documents,
        sentences=frames["sentences"],
        cues=frames["cues"],
        summary=summary,
        summary_note=summary_note,
    )


# Agreement across the corpus -------------------------------------------------------------


def _levels(summary: pd.DataFrame) -> pd.Series:
    """Each claim_summary row's level; rows written before schema version 10 are claims."""
    if "level" not in summary.columns:
        return pd.Series("claim", index=summary.index, dtype=object)
    return summary["level"].astype(object).where(summary["level"].notna(), "claim")


def _truth(frame: pd.DataFrame, column: str) -> pd.Series:
    """A boolean column as plain bools, absent or null values false (older tables)."""
    if column not in frame.columns:
        return pd.Series(False, index=frame.index, dtype=bool)
    return frame[column].fillna(False).astype(bool)


def _pair_keys(first: pd.Series, second: pd.Series) -> pd.Series:
    """Each row's two values joined by a unit separator (a pair to match on), None where
    either is null."""
    both = (first.notna() & second.notna()).to_numpy(dtype=bool)
    keys = pd.Series(None, index=first.index, dtype=object)
    keys[both] = first[both].astype(str) + "\x1f" + second[both].astype(str)
    return keys


def contested_keys(summary: pd.DataFrame) -> dict[str, set[tuple[str, str]]]:
    """Per level in `CONTESTED_LEVELS`, the contested (substance, effect or target) pairs.

    A table without `level` or `contested` (written before schema version 10) has none.
    """
    keys: dict[str, set[tuple[str, str]]] = {level: set() for level in CONTESTED_LEVELS}
    if summary.empty or not {"substance", "target", "effect"} <= set(summary.columns):
        return keys
    contested = summary.loc[_truth(summary, "contested")]
    levels = _levels(contested)
    for level in CONTESTED_LEVELS:
        rows = contested.loc[(levels == level) & contested[level].notna()]
        keys[level] = set(zip(rows["substance"].astype(str), rows[level].astype(str), strict=True))
    return keys


def mark_contested(claims: pd.DataFrame, summary: pd.DataFrame) -> pd.DataFrame:
    """`claims` with `contested_effect` and `contested_target` (its (substance, effect) or
    (substance, target) row of `summary` is contested) and `contested` (either)."""
    claims = claims.copy()
    keys = contested_keys(summary)
    contested = pd.Series(False, index=claims.index, dtype=bool)
    for level, column in CONTESTED_LEVELS.items():
        wanted = {f"{substance}\x1f{term}" for substance, term in keys[level]}
        if wanted and {"substance_norm", column} <= set(claims.columns):
            hits = _pair_keys(claims["substance_norm"], claims[column]).isin(wanted)
        else:
            hits = pd.Series(False, index=claims.index, dtype=bool)
        claims[f"contested_{level}"] = hits.to_numpy(dtype=bool)
        contested |= hits.to_numpy(dtype=bool)
    claims["contested"] = contested
    return claims


def summary_rows(summary: pd.DataFrame, claim: Mapping[str, object]) -> list[dict]:
    """The `summary` rows of the claim's (substance, effect) and (substance, target), in that
    order, each with `contested` as a plain bool (false for tables that predate it)."""
    if summary.empty or not {"substance", "target", "effect"} <= set(summary.columns):
        return []
    levels = _levels(summary)
    rows = []
    for level, column in CONTESTED_LEVELS.items():
        term = claim.get(column)
        if term is None or (isinstance(term, float) and math.isnan(term)):
            continue
        match = summary.loc[
            (levels == level)
            & (_text(summary, "substance") == claim.get("substance_norm"))
            & (_text(summary, level) == term)
        ]
        for row in plain_rows(match.head(1)):
            row["level"] = level
            row["contested"] = bool(row.get("contested"))
            rows.append(row)
    return rows


def document_titles(documents: pd.DataFrame) -> pd.Series:
    """Title per doc_id; the file name (and record id) when the article has no title."""
    names = documents["source"].map(lambda source: Path(source.split("#")[0]).name)
    records = documents["source"].map(lambda source: source.partition("#")[2])
    fallback = names.where(records == "", names + "#" + records)
    return documents["title"].where(documents["title"].notna(), fallback)


class TableCache:
    """The tables of one folder, re-read only when a run publishes a new snapshot."""

    def __init__(self, tables_dir: Path | str):
        self.tables_dir = Path(tables_dir)
        self._lock = threading.Lock()
        self._data: ReviewData | None = None

    def get(self) -> ReviewData:
        """The current tables; raises TablesUnavailable with a message for the page."""
        try:
            current = TableStore(self.tables_dir).current()
        except RuntimeError:
            current = None
        with self._lock:
            if self._data is None or current != self._data.snapshot:
                self._data = load_tables(self.tables_dir)
            return self._data


# Filters --------------------------------------------------------------------------------


# Filter name -> the claims column it matches exactly.
FILTER_COLUMNS = {
    "substance": "substance_norm",
    "target": "target_norm",
    "effect": "effect_norm",
    "polarity": "polarity",
    "doc": "doc_id",
    "rule": "rule",
    "strength": "strength",
}
# Yes/no filters -> the boolean claims column they test (absent or null counts as no).
FLAG_COLUMNS = {
    "flagged": "causal_from_observational",
    "contested": "contested",
}
FLAG_VALUES = ("yes", "no")


@dataclass(frozen=True)
class Filters:
    """What the reviewer narrowed the list to; round-trips through the query string."""

    substance: str = ""
    target: str = ""
    effect: str = ""
    polarity: str = ""
    certainty: str = ""
    strength: str = ""
    flagged: str = ""  # yes: causal from observational only; no: not flagged
    contested: str = ""  # yes: articles disagree on its effect or target; no: they do not
    doc: str = ""
    rule: str = ""
    status: str = ""
    q: str = ""
    sort: str = ""  # a key of SORTS; "" is reading order

    @classmethod
    def from_query(cls, params: Mapping[str, str]) -> Filters:
        values = {f.name: str(params.get(f.name, "")).strip()[:200] for f in fields(cls)}
        if values["status"] not in STATUSES:
            values["status"] = ""
        if values["sort"] not in SORTS:
            values["sort"] = ""
        for name in FLAG_COLUMNS:
            if values[name] not in FLAG_VALUES:
                values[name] = ""
        return cls(**values)

    def items(self) -> list[tuple[str, str]]:
        return [(f.name, getattr(self, f.name)) for f in fields(self) if getattr(self, f.name)]

    def query(self, **extra: object) -> str:
        """The query string for these filters (plus `extra`), '' when there is none."""
        pairs = self.items() + [(k, str(v)) for k, v in extra.items() if v not in (None, "")]
        return urlencode(pairs)

    def without(self, name: str) -> Filters:
        return replace(self, **{name: ""})


# How the list, "next" and "previous" and the review queue order the claims. The learned
# extractor's `confidence` is its calibrated probability that the claim is one; the rules'
# claims have none and come last either way.
SORTS = {
    "": "reading order (document, sentence)",
    "confidence": "least confident first",
    "-confidence": "most confident first",
}


def in_order(claims: pd.DataFrame, sort: str) -> pd.DataFrame:
    """`claims` with `order` their position under `sort` (a key of SORTS); ties and claims
    without a confidence keep their reading order (the `order` `load_tables` gives)."""
    if not sort or "confidence" not in claims.columns:
        return claims
    ranked = claims.sort_values(
        ["confidence", "order"],
        ascending=[sort == "confidence", True],
        na_position="last",
        kind="stable",
    )
    order = pd.Series(np.arange(len(ranked)), index=ranked.index)
    return claims.assign(order=order)


def claim_statuses(
    claim_ids: pd.Series, latest: pd.DataFrame, reviewer: str | None
) -> pd.DataFrame:
    """Per claim: overall status and the reviewer's own latest verdict.

    `latest` holds claim_id, reviewer, verdict of each reviewer's latest verdict
    (`VerdictStore.latest_verdicts`). Status follows `summary.review_status`: unreviewed,
    correct or incorrect (every reviewer agrees), disputed.
    """
    judged = latest.assign(correct=latest["verdict"] == "correct")
    per_claim = judged.groupby("claim_id").agg(
        reviewers=("verdict", "size"), correct=("correct", "sum")
    )
    frame = pd.DataFrame({"claim_id": claim_ids.to_numpy()})
    reviewers = frame["claim_id"].map(per_claim["reviewers"]).fillna(0).astype(int)
    correct = frame["claim_id"].map(per_claim["correct"]).fillna(0).astype(int)
    frame["status"] = np.select(
        [reviewers == 0, correct == reviewers, correct == 0],
        ["unreviewed", "correct", "incorrect"],
        "disputed",
    )
    mine = judged.loc[judged["reviewer"] == reviewer].set_index("claim_id")["verdict"]
    frame["my_verdict"] = frame["claim_id"].map(mine) if reviewer else None
    frame["reviewers"] = reviewers
    return frame


def apply_filters(claims: pd.DataFrame, filters: Filters, skip: str | None = None) -> pd.DataFrame:
    """Claims matching every filter but `skip` (for facet counts). Needs status columns."""
    mask = pd.Series(True, index=claims.index)
    for name, column in FILTER_COLUMNS.items():
        value = getattr(filters, name)
        if value and name != skip:
            mask &= _text(claims, column) == value
    for name in FLAG_COLUMNS:
        value = getattr(filters, name)
        if value and name != skip:
            mask &= _flag_mask(claims, name, value)
    if filters.certainty and skip != "certainty":
        mask &= _certainty_mask(claims, filters.certainty)
    if filters.status and skip != "status":
        mask &= _status_mask(claims, filters.status)
    if filters.q and skip != "q":
        mask &= claims["sentence"].str.contains(filters.q, case=False, regex=False)
    return claims.loc[mask]


# "Hedged / negated" filter: a hedged negation ('may not help') is both hedged and negated.
CERTAINTIES = {
    "asserted": "asserted (neither hedged nor negated)",
    "hedged": "hedged",
    "negated": "negated (hedged or not)",
}


def _text(claims: pd.DataFrame, column: str) -> pd.Series:
    """A text column with nulls as '' (all '' when an older table lacks it)."""
    if column not in claims.columns:
        return pd.Series("", index=claims.index, dtype=object)
    return claims[column].fillna("")


def _flag_mask(claims: pd.DataFrame, name: str, value: str) -> pd.Series:
    flagged = _truth(claims, FLAG_COLUMNS[name])
    if value == "yes":
        return flagged
    if value == "no":
        return ~flagged
    return pd.Series(False, index=claims.index)


def flag_count(claims: pd.DataFrame, name: str) -> int:
    """How many of `claims` the yes/no filter `name` (`FLAG_COLUMNS`) says yes to."""
    return int(_truth(claims, FLAG_COLUMNS[name]).sum())


# Strength filter options, in order of strength (`claims.strength`), as the app shows them.
STRENGTH_LABELS = {
    "none": "none (no relationship stated)",
    "correlational": "correlational (“linked to”)",
    "conditional_causal": "conditional causal (“may reduce”)",
    "direct_causal": "direct causal (“reduces”)",
}
FLAG_LABELS = {
    "flagged": {
        "yes": "causal claim from observational evidence",
        "no": "not flagged",
    },
    "contested": {
        "yes": "articles disagree on its effect or target",
        "no": "not contested",
    },
}


def _certainty_mask(claims: pd.DataFrame, certainty: str) -> pd.Series:
    if certainty == "hedged":
        return claims["hedged"].astype(bool)
    if certainty == "negated":
        return claims["negated"].astype(bool)
    if certainty == "asserted":
        return claims["certainty"] == "asserted"
    return pd.Series(False, index=claims.index)


def _status_mask(claims: pd.DataFrame, status: str) -> pd.Series:
    if status == "todo":
        return claims["my_verdict"].isna()
    if status == "done":
        return claims["my_verdict"].notna()
    return claims["status"] == status


def facet_counts(
    claims: pd.DataFrame, filters: Filters, name: str, limit: int = 300
) -> list[tuple[str, int]]:
    """(value, count) of one filter's options among claims matching the other filters.

    At most `limit` values, the most frequent (plus the selected one): a corpus of thousands
    of documents must not make every list page megabytes long.
    """
    subset = apply_filters(claims, filters, skip=name)
    if name == "status":
        return [(s, int(_status_mask(subset, s).sum())) for s in STATUSES]
    if name == "certainty":
        return [(c, int(_certainty_mask(subset, c).sum())) for c in CERTAINTIES]
    if name in FLAG_COLUMNS:
        return [(v, int(_flag_mask(subset, name, v).sum())) for v in FLAG_VALUES]
    values = _text(subset, FILTER_COLUMNS[name])
    counts = values.loc[values != ""].value_counts()
    pairs = sorted(((str(v), int(n)) for v, n in counts.items()), key=lambda p: (-p[1], p[0]))
    if name == "strength":  # weakest first, as the scheme orders them
        rank = {value: i for i, value in enumerate(STRENGTHS)}
        pairs.sort(key=lambda p: (rank.get(p[0], len(rank)), p[0]))
    top = pairs[:limit]
    selected = getattr(filters, name)
    if selected and selected not in dict(top):  # keep the choice, with its own count
        top.insert(0, (selected, int(counts.get(selected, 0))))
    return top


def neighbours(ordered: pd.DataFrame, order: int) -> tuple[str | None, str | None]:
    """Claim ids before and after reading position `order` in an ordered selection."""
    positions = ordered["order"].to_numpy()
    before = ordered.loc[positions < order, "claim_id"]
    after = ordered.loc[positions > order, "claim_id"]
    return (
        before.iloc[-1] if len(before) else None,
        after.iloc[0] if len(after) else None,
    )


def next_todo(ordered: pd.DataFrame, order: int | None) -> str | None:
    """The first claim after `order` (wrapping round) that the reviewer has not judged."""
    todo = ordered.loc[ordered["my_verdict"].isna()]
    if todo.empty:
        return None
    if order is not None:
        later = todo.loc[todo["order"].to_numpy() > order]
        if len(later):
            return later["claim_id"].iloc[0]
    return todo["claim_id"].iloc[0]


# Evidence display ----------------------------------------------------------------------


@dataclass(frozen=True)
class Mark:
    """A highlighted span of the sentence: a claim role or a cue, with its label."""

    role: str  # substance, target, effect, hedge, negation, scope
    start: int  # offsets in documents.text
    end: int
    label: str  # shown beside the words, e.g. "hedge · epistemic"


# Reference markers of encyclopedic text, shown collapsed: numbered citations ("[12]",
# "[3, 4]", "[5–7]"), footnote letters ("[a]"), notes, and wiki maintenance tags.
REFERENCE = re.compile(
    r"(?:\s?\[(?:\d+(?:\s*[,–-]\s*\d+)*|[a-h]|(?:note|nb|n) ?\d+|citation needed|"
    r"dead link ?|clarification needed|better source needed|verification needed|"
    r"unreliable source\?|according to whom\?|who\?|when\?|SMW)\])+",
    re.IGNORECASE,
)


@dataclass
class Segment:
    """A run of sentence text under one set of marks; `opens` are the marks starting here."""

    text: str
    roles: list[str] = field(default_factory=list)
    opens: list[Mark] = field(default_factory=list)
    # None: text; a marker's text: the piece where a reference marker starts (shown folded);
    # "": the rest of a marker cut by a mark boundary (shown as nothing)
    ref: str | None = None

    @property
    def parts(self) -> list[tuple[str, bool]]:
        """The text as (piece, is_reference) pieces: references collapse on the page."""
        if self.ref is None:
            return [(self.text, False)]
        return [(self.ref, True)] if self.ref else []


def without_references(text: str | None) -> str | None:
    """`text` without its reference markers, and without one cut off at its end (a span
    that ends inside "[citation needed]")."""
    if not text:
        return text
    text = REFERENCE.sub("", text)
    at = text.rfind("[")
    if at != -1 and "]" not in text[at:] and REFERENCE.fullmatch(text[at:] + "]"):
        text = text[:at]
    return text.rstrip()


def segments(text: str, offset: int, marks: Iterable[Mark]) -> list[Segment]:
    """Cut `text` (which starts at `offset` in the document) at every mark boundary and
    around every reference marker (`Segment.ref`: shown folded, once, wherever marks cut it).

    Marks may nest or overlap; each piece lists every role covering it, so the template only
    escapes and wraps text and never builds markup from it.
    """
    inside = [
        Mark(m.role, max(m.start, offset), min(m.end, offset + len(text)), m.label)
        for m in marks
        if m.end > offset and m.start < offset + len(text) and m.end > m.start
    ]
    references = [
        (offset + r.start(), offset + r.end(), r.group(0).strip()) for r in REFERENCE.finditer(text)
    ]
    cuts = sorted(
        {offset, offset + len(text)}
        | {m.start for m in inside}
        | {m.end for m in inside}
        | {bound for start, end, _ in references for bound in (start, end)}
    )
    pieces = []
    for start, end in itertools.pairwise(cuts):
        covering = [m for m in inside if m.start <= start and m.end >= end]
        marker = next(((a, t) for a, b, t in references if a <= start and end <= b), None)
        pieces.append(
            Segment(
                text=text[start - offset : end - offset],
                roles=sorted({m.role for m in covering}),
                opens=[m for m in inside if m.start == start and m.role != "scope"],
                ref=None if marker is None else (marker[1] if marker[0] == start else ""),
            )
        )
    return [p for p in pieces if p.text]


@dataclass(frozen=True)
class ParagraphPart:
    """A sentence of the paragraph around a claim; the claim's own sentence has its marks."""

    is_claim: bool
    segments: list[Segment]


@dataclass(frozen=True)
class ClaimContext:
    """Everything the claim page shows about one claim."""

    claim: dict
    title: str
    source: str  # relative to the corpus the run read (`shown_source`)
    site: str | None  # the URL's site, as `claim_summary.n_sites` counts sites
    url: str | None  # only http(s) links; anything else is shown as text
    sentence: list[Segment]
    paragraph: list[ParagraphPart]  # the whole paragraph
    nearby: list[ParagraphPart]  # the claim's sentence and CONTEXT_SENTENCES either side
    cues: list[dict]  # hedge and negation cues of the sentence, with `covers_claim`

    @property
    def paragraph_longer(self) -> bool:
        """Whether the paragraph holds more than `nearby` (then it is shown folded)."""
        return len(self.paragraph) > len(self.nearby)


# Sentences shown before and after a claim's own; the rest of a long paragraph is folded.
CONTEXT_SENTENCES = 1


def role_marks(claim: Mapping[str, object]) -> list[Mark]:
    """The claim's substance, target and effect, as marks to highlight."""
    marks = [Mark("substance", claim["substance_start"], claim["substance_end"], "substance")]
    for role in ("target", "effect"):
        start, end = claim.get(f"{role}_start"), claim.get(f"{role}_end")
        if start is not None and end is not None:
            marks.append(Mark(role, int(start), int(end), role))
    return marks


def claim_marks(claim: Mapping[str, object], cues: Iterable[Mapping[str, object]]) -> list[Mark]:
    """The claim's roles and the sentence's cues, as marks to highlight.

    A cue that governs the claim (`covers_claim`: its scope reaches the claim and the claim
    names it) is marked as a hedge or a negation with its scope; any other cue of the
    sentence is marked `cue-other`, so a reviewer does not read it as the claim's.
    """
    marks = role_marks(claim)
    for cue in cues:
        kind = "negation" if cue["kind"] == "negation" else f"hedge · {cue['type']}"
        start, end = int(cue["cue_start"]), int(cue["cue_end"])
        if cue["covers_claim"]:
            marks.append(Mark(cue["kind"], start, end, kind))
            marks.append(Mark("scope", int(cue["scope_start"]), int(cue["scope_end"]), "scope"))
        else:
            marks.append(Mark("cue-other", start, end, f"{kind} · not this claim's"))
    return marks


def snippet(claim: Mapping[str, object], width: int = 200) -> tuple[bool, list[Segment], bool]:
    """The claim's sentence, cut to about `width` characters around its substance, target
    and effect (which are marked): (cut before, segments, cut after). Cuts fall between
    words."""
    sentence = str(claim["sentence"])
    base = int(claim["sentence_start"])
    marks = role_marks(claim)
    # A substance taken from elsewhere (the article's subject, "+subject") is not in it.
    inside = [m for m in marks if base <= m.start and m.end <= base + len(sentence)]
    low = min((m.start - base for m in inside), default=0)
    high = max((m.end - base for m in inside), default=min(width, len(sentence)))
    start, end = 0, len(sentence)
    if len(sentence) > width:
        room = max(width - (high - low), 0)
        start = max(0, min(low - room // 2, len(sentence) - width))
        end = max(high, min(len(sentence), start + width))
        if start > 0:  # begin at a word
            space = sentence.find(" ", start, low)
            start = space + 1 if space != -1 else start
        if end < len(sentence):
            space = sentence.rfind(" ", high, end)
            end = space if space != -1 else end
    return start > 0, segments(sentence[start:end], base + start, marks), end < len(sentence)


def covering_cues(claim: Mapping[str, object], cues: list[dict]) -> list[dict]:
    """The sentence's cues, each with `covers_claim`.

    The claims table names its cues by text; when a word occurs twice ('potential ...
    potential'), the occurrence whose scope reaches the claim's substance, target or effect is
    the one that covers it.
    """
    named = set(claim.get("hedge_cues") or []) | set(claim.get("negation_cues") or [])
    roles = [
        (claim.get(f"{role}_start"), claim.get(f"{role}_end"))
        for role in ("substance", "target", "effect")
    ]
    roles = [(int(a), int(b)) for a, b in roles if a is not None and b is not None]

    def reaches(cue: dict) -> bool:
        return any(cue["scope_start"] < end and start < cue["scope_end"] for start, end in roles)

    for cue in cues:
        cue["covers_claim"] = False
    for text in named:
        same = [cue for cue in cues if cue["cue"] == text]
        chosen = [cue for cue in same if reaches(cue)] or same
        for cue in chosen:
            cue["covers_claim"] = True
    return cues


def claim_context(data: ReviewData, claim: dict) -> ClaimContext:
    """The claim in its sentence and paragraph, with the document it came from."""
    document = (
        data.documents.loc[claim["doc_id"]] if claim["doc_id"] in data.documents.index else None
    )
    text = document["text"] if document is not None else claim["sentence"]
    base = 0 if document is not None else claim["sentence_start"]
    cue_rows = data.cues.loc[data.cues["sentence_id"] == claim["sentence_id"]]
    cues = covering_cues(claim, plain_rows(cue_rows.sort_values("cue_start")))
    marks = claim_marks(claim, cues)
    start, end = claim["sentence_start"], claim["sentence_end"]
    sentence = segments(text[start - base : end - base], start, marks)
    paragraph = nearby = [ParagraphPart(True, sentence)]
    row = data.sentences.loc[data.sentences["sentence_id"] == claim["sentence_id"]]
    if document is not None and not row.empty:
        same = data.sentences.loc[
            (data.sentences["doc_id"] == claim["doc_id"])
            & (data.sentences["paragraph"] == row["paragraph"].iloc[0])
        ].sort_values("index")
        paragraph = [
            ParagraphPart(True, sentence)
            if s["sentence_id"] == claim["sentence_id"]
            else ParagraphPart(False, [Segment(text[s["start_char"] : s["end_char"]])])
            for s in same.to_dict("records")
        ]
        at = next(i for i, part in enumerate(paragraph) if part.is_claim)
        nearby = paragraph[max(at - CONTEXT_SENTENCES, 0) : at + CONTEXT_SENTENCES + 1]
    title = claim.get("doc_title") or claim["source"]
    url = document["url"] if document is not None else None
    return ClaimContext(
        claim=claim,
        title=str(title),
        source=str(claim.get("doc_where") or claim["source"]),
        site=claim.get("doc_site"),
        url=url if is_web_link(url) else None,
        sentence=sentence,
        paragraph=paragraph,
        nearby=nearby,
        cues=cues,
    )


def is_web_link(url: object) -> bool:
    """Only http(s) URLs become links: a `javascript:` URL in an article must not."""
    if not isinstance(url, str) or not url:
        return False
    parts = urlsplit(url.strip())
    return parts.scheme.lower() in ("http", "https") and bool(parts.netloc)


def plain_rows(frame: pd.DataFrame) -> list[dict]:
    """Rows for a template: missing values as None (pandas gives NaN, which is truthy)."""
    return [_plain(row) for row in frame.to_dict("records")]


def _plain(row: Mapping[str, object]) -> dict:
    """A row with NaN and numpy scalars turned into None and Python values."""
    plain = {}
    for key, value in row.items():
        if hasattr(value, "tolist"):  # numpy arrays (list columns) and scalars
            value = value.tolist()
        if (isinstance(value, float) and math.isnan(value)) or value is pd.NA or value is pd.NaT:
            value = None
        plain[key] = value
    return plain
