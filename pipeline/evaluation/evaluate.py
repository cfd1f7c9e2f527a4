"""Scoring a run's `claims` table against a claim gold standard.

The rules are those of the gold guideline (../shared/gold-guideline.md, "Scoring"): a claims
row gives one predicted edge for its target and one for its effect, and a predicted edge
matches a gold edge of the same document when its sentence contains the gold quote, a
substance name of one contains a name of the other (after the document's abbreviations), the
role is the same and its value contains every key stem. Optional gold edges cost neither
recall nor precision. Everything here is a plain function of files and lists, so the
`claims evaluate claims` command and the tests share it.
"""

from __future__ import annotations

import json
import re
import warnings
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from pipeline.ingest import strip_markdown
from pipeline.storage.schemas import columns
from pipeline.storage.tables import Snapshot, snapshot

Aliases = dict[str, set[str]]  # normalised name -> its other forms in one document
ROLES = ("target", "effect")
POLARITIES = ("benefit", "harm", "neutral")
_GOLD_FIELDS = ("doc", "quote", "substance", "role", "value", "key")
# The guideline asks for 4 to 10 words; shorter quotes (a list item of two words) are
# scored but named in the warnings, since they may match more than one sentence. Longer
# ones are read too: the shared gold copies whole phrases (it is never committed here).
MIN_QUOTE_WORDS, MAX_QUOTE_WORDS = 4, 10
_GOLD_FIELDS += ("polarity", "hedged", "negated")
_CLAIM_COLUMNS = columns(
    "claims",
    "claim_id",
    "doc_id",
    "sentence_id",
    "sentence",
    "sentence_start",
    "substance",
    "substance_norm",
    "substance_antecedent",
    "target",
    "effect",
    "polarity",
    "hedged",
    "negated",
    "rule",
)
_STRAIGHT = str.maketrans("‘’‚‛′“”„‟″", "'''''\"\"\"\"\"")
_SPACES = re.compile(r"\s+")


def normalise(text: str) -> str:
    """Text as compared: one space per whitespace run, straight quotes, lower case.

    Quotes are copied from a browser or an editor, which may curl quotes and rewrap lines.
    """
    return _SPACES.sub(" ", text.translate(_STRAIGHT)).strip().lower()


@dataclass(frozen=True)
class GoldEdge:
    """One annotated substance -> target or substance -> effect edge."""

    doc: str
    quote: str
    substance: tuple[str, ...]
    role: str
    value: str
    key: tuple[str, ...]
    polarity: str | None
    hedged: bool | None  # None: the annotators disagreed, so it is not scored
    negated: bool | None
    optional: bool = False
    where: str = ""  # file:line, to point the annotator at it

    def to_json(self) -> dict:
        return {
            "doc": self.doc,
            "quote": self.quote,
            "substance": list(self.substance),
            "role": self.role,
            "value": self.value,
            "key": " ".join(self.key),
            "polarity": self.polarity,
            "hedged": self.hedged,
            "negated": self.negated,
            "optional": self.optional,
            "where": self.where,
        }


@dataclass(frozen=True)
class PredictedEdge:
    """One edge read off the claims table: a row's target or its effect."""

    doc: str  # the gold document name
    doc_id: str
    sentence_id: str
    sentence: str
    role: str
    value: str
    substance: str  # as written
    names: frozenset[str]  # as written, normalised, antecedent
    polarity: str | None
    hedged: bool
    negated: bool
    rule: str
    claim_id: str

    def to_json(self) -> dict:
        return {
            "doc": self.doc,
            "doc_id": self.doc_id,
            "sentence_id": self.sentence_id,
            "sentence": self.sentence,
            "role": self.role,
            "value": self.value,
            "substance": self.substance,
            "names": sorted(self.names),
            "polarity": self.polarity,
            "hedged": self.hedged,
            "negated": self.negated,
            "rule": self.rule,
            "claim_id": self.claim_id,
        }


@dataclass(frozen=True)
class Ratio:
    """A score with the counts behind it, so a 1.00 on two edges is not read as solid."""

    hits: int
    total: int

    @property
    def value(self) -> float | None:
        return self.hits / self.total if self.total else None

    def __str__(self) -> str:
        shown = "n/a" if self.value is None else f"{self.value:.2f}"
        return f"{shown} ({self.hits}/{self.total})"

    def to_json(self) -> dict:
        return {"value": self.value, "hits": self.hits, "total": self.total}


@dataclass(frozen=True)
class Scores:
    precision: Ratio
    recall: Ratio

    @property
    def f1(self) -> float | None:
        p, r = self.precision.value, self.recall.value
        if p is None or r is None:
            return None
        return 0.0 if p + r == 0 else 2 * p * r / (p + r)

    def to_json(self) -> dict:
        return {
            "precision": self.precision.to_json(),
            "recall": self.recall.to_json(),
            "f1": self.f1,
        }


Pair = tuple[GoldEdge, PredictedEdge]


@dataclass
class Evaluation:
    """Every figure of one evaluation and the edges behind them."""

    overall: Scores
    by_role: dict[str, Scores]
    by_doc: dict[str, Scores]
    by_genre: dict[str, Scores]
    hedge: Ratio
    negation: Ratio
    polarity: Ratio
    n_gold: int
    n_predicted: int  # predicted edges in gold documents, optional-only ones included
    misses: list[GoldEdge]  # required gold edges no prediction matched
    false_positives: list[PredictedEdge]
    optional_only: list[PredictedEdge]  # left out of precision
    pairs: list[Pair]  # every matching (gold, prediction)
    missing_docs: list[str] = field(default_factory=list)
    missing_quotes: list[GoldEdge] = field(default_factory=list)
    short_quotes: list[GoldEdge] = field(default_factory=list)  # under MIN_QUOTE_WORDS

    def mismatches(self, attribute: str) -> list[Pair]:
        pairs = self.pairs
        if attribute == "polarity":
            pairs = [p for p in pairs if p[0].role == "effect"]
        else:  # hedged or negated left null by a merge is not scored
            pairs = [p for p in pairs if getattr(p[0], attribute) is not None]
        return [(g, p) for g, p in pairs if getattr(g, attribute) != getattr(p, attribute)]

    def warnings(self) -> list[str]:
        lines = [f"gold document not found in the tables: {doc}" for doc in self.missing_docs]
        lines += [
            f"gold quote not found in any sentence of {g.doc} (annotation or segmentation "
            f'problem): "{g.quote}" ({g.where})'
            for g in self.missing_quotes
        ]
        short = self.short_quotes
        if short:
            lines.append(
                f"{len(short)} gold quotes are shorter than the guideline's {MIN_QUOTE_WORDS} "
                f"words (scored; they may match more than one sentence), e.g. "
                f'"{short[0].quote}" ({short[0].where})'
            )
        return lines

    def to_json(self) -> dict:
        def pairs(attribute: str) -> list[dict]:
            return [
                {"gold": g.to_json(), "predicted": p.to_json()}
                for g, p in self.mismatches(attribute)
            ]

        return {
            "overall": self.overall.to_json(),
            "by_role": {role: s.to_json() for role, s in self.by_role.items()},
            "by_doc": {doc: s.to_json() for doc, s in self.by_doc.items()},
            "by_genre": {genre: s.to_json() for genre, s in self.by_genre.items()},
            "hedge_accuracy": self.hedge.to_json(),
            "negation_accuracy": self.negation.to_json(),
            "polarity_accuracy": self.polarity.to_json(),
            "gold_edges": self.n_gold,
            "predicted_edges": self.n_predicted,
            "misses": [g.to_json() for g in self.misses],
            "false_positives": [p.to_json() for p in self.false_positives],
            "optional_only": [p.to_json() for p in self.optional_only],
            "hedge_mismatches": pairs("hedged"),
            "negation_mismatches": pairs("negated"),
            "polarity_mismatches": pairs("polarity"),
            "missing_docs": self.missing_docs,
            "missing_quotes": [g.to_json() for g in self.missing_quotes],
        }


# Gold


GENRES = {
    "story": "news story",
    "news": "press release",
    "WIKIPEDIA": "encyclopedia",
    "PSYCHONAUTWIKI": "encyclopedia",
    "DRUGBANK": "drug page",
}


def genre_of(doc: str) -> str:
    """A gold article's genre from its name: news story, press release (FakeHealth
    `story_` / `news_` ids), encyclopedia, drug page (dosewiki's sources), else web article."""
    prefix = re.split(r"[_ ]", doc, maxsplit=1)[0]
    return GENRES.get(prefix, "web article")


def load_gold(paths: Iterable[Path | str]) -> list[GoldEdge]:
    """Gold edges from JSONL files or folders of them (every *.jsonl, sorted).

    Raises ValueError naming file:line on the first bad line: a silently skipped edge would
    shift every figure.
    """
    files: list[Path] = []
    for path in map(Path, paths):
        if path.is_dir():
            found = sorted(path.glob("*.jsonl"))
            if not found:
                raise ValueError(f"{path}: no .jsonl files")
            files += found
        elif path.is_file():
            files.append(path)
        else:
            raise ValueError(f"{path}: not found")
    edges: list[GoldEdge] = []
    for file in files:
        try:
            lines = file.read_text(encoding="utf-8").splitlines()
        except UnicodeDecodeError:
            raise ValueError(f"{file}: not UTF-8") from None
        edges += [
            _gold_edge(line, f"{file}:{number}")
            for number, line in enumerate(lines, 1)
            if line.strip()
        ]
    if not edges:
        raise ValueError("no gold edges in " + ", ".join(map(str, files)))
    return edges


def _gold_edge(line: str, where: str) -> GoldEdge:
    try:
        record = json.loads(line)
    except json.JSONDecodeError as error:
        raise ValueError(f"{where}: bad JSON ({error.msg})") from None
    if not isinstance(record, dict):
        raise ValueError(f"{where}: expected a JSON object")
    missing = [name for name in _GOLD_FIELDS if name not in record]
    if missing:
        raise ValueError(f"{where}: missing field(s): {', '.join(missing)}")

    def fail(problem: str) -> ValueError:
        return ValueError(f"{where}: {problem}")

    doc, quote, value, key = record["doc"], record["quote"], record["value"], record["key"]
    substance, role, polarity = record["substance"], record["role"], record["polarity"]
    optional = record.get("optional", False)
    if role not in ROLES:
        raise fail(f"role must be target or effect, got {role!r}")
    if not isinstance(quote, str):
        raise fail(f"quote must be a string, got {quote!r}")
    # Quotes are copied from the source as written; Markdown sources carry link and
    # emphasis syntax that the article text (read as Markdown) no longer has.
    quote = strip_markdown(quote).strip()
    if not quote:
        raise fail(f"quote must hold at least one word, got {record['quote']!r}")
    for name, text in (("doc", doc), ("value", value), ("key", key)):
        if not isinstance(text, str) or not text.strip():
            raise fail(f"{name} must be a non-empty string, got {text!r}")
    if (
        not isinstance(substance, list)
        or not substance
        or not all(isinstance(s, str) and s.strip() for s in substance)
    ):
        raise fail(f"substance must be a non-empty list of names, got {substance!r}")
    if polarity is not None and polarity not in POLARITIES:
        raise fail(f"polarity must be benefit, harm, neutral or null, got {polarity!r}")
    for name, flag in (("hedged", record["hedged"]), ("negated", record["negated"])):
        if flag is not None and not isinstance(flag, bool):  # null: annotators disagreed
            raise fail(f"{name} must be true, false or null, got {flag!r}")
    if not isinstance(optional, bool):
        raise fail(f"optional must be true or false, got {optional!r}")
    return GoldEdge(
        doc=doc.strip(),
        quote=quote,
        substance=tuple(substance),
        role=role,
        value=value,
        key=tuple(key.lower().split()),
        polarity=polarity,
        hedged=record["hedged"],
        negated=record["negated"],
        optional=optional,
        where=where,
    )


# Tables


# The tables evaluation reads, pinned in one snapshot and checked once.
_TABLES = ("documents", "claims", "abbreviations", "sentences")
Tables = Path | str | Snapshot  # a run's output folder, or a snapshot of it already pinned


def pin(tables_dir: Path | str) -> Snapshot:
    """The run's current snapshot of the tables evaluation reads (raises TablesError)."""
    with warnings.catch_warnings():  # older articles or unfinished runs do not change a score
        warnings.simplefilter("ignore", UserWarning)
        return snapshot(tables_dir, _TABLES)


def _read(
    source: Tables, table: str, columns: list[str], doc_ids: Iterable[str] | None = None
) -> pd.DataFrame:
    """Some columns of a table, for some documents only: a corpus is larger than its gold."""
    pinned = source if isinstance(source, Snapshot) else pin(source)
    return pinned.read(table, columns, doc_ids).to_pandas()


def _text(value: object) -> str | None:
    """A nullable string cell as str or None (pandas gives None, NaN or pd.NA)."""
    if value is None or pd.isna(value):
        return None
    text = str(value).strip()
    return text or None


def doc_names(tables_dir: Tables) -> dict[str, str]:
    """doc_id -> the name gold uses: the JSONL record id, else the file name without extension."""
    frame = _read(tables_dir, "documents", ["doc_id", "source", "record_id"])
    return {
        doc_id: _text(record_id) or Path(source.split("#")[0]).stem
        for doc_id, source, record_id in frame.itertuples(index=False)
    }


def predicted_edges(tables_dir: Tables, names: dict[str, str] | None = None) -> list[PredictedEdge]:
    """The claims table as edges, one per distinct target and effect of a sentence.

    `names` (doc_id -> gold name, see `doc_names`) limits the read to those documents.
    Rows that share a target (one row per substance, target and effect) give it once.
    """
    frame = _read(tables_dir, "claims", _CLAIM_COLUMNS, None if names is None else names.keys())
    if names is None:
        names = doc_names(tables_dir)
    frame = frame.sort_values(["doc_id", "sentence_start", "claim_id"], kind="stable")
    edges: dict[tuple, PredictedEdge] = {}
    for row in frame.to_dict("records"):
        substance = _text(row["substance"]) or ""
        aliases = (substance, _text(row["substance_norm"]), _text(row["substance_antecedent"]))
        names_ = frozenset(n for n in aliases if n)
        for role in ROLES:
            value = _text(row[role])
            if value is None:
                continue
            key = (row["doc_id"], row["sentence_id"], role, value, names_)
            edges.setdefault(
                key,
                PredictedEdge(
                    doc=names.get(row["doc_id"], row["doc_id"]),
                    doc_id=row["doc_id"],
                    sentence_id=row["sentence_id"],
                    sentence=row["sentence"],
                    role=role,
                    value=value,
                    substance=substance,
                    names=names_,
                    polarity=_text(row["polarity"]),
                    hedged=_flag(row["hedged"]),
                    negated=_flag(row["negated"]),
                    rule=_text(row["rule"]) or "",
                    claim_id=str(row["claim_id"]),
                ),
            )
    return list(edges.values())


def _flag(value: object) -> bool:
    return False if value is None or pd.isna(value) else bool(value)


def load_aliases(tables_dir: Tables, names: dict[str, str] | None = None) -> dict[str, Aliases]:
    """Gold name -> normalised name -> its other forms, from the abbreviations table.

    Both directions, so gold "3,4-methylenedioxymethamphetamine" meets a predicted "MDMA"
    and gold "SSRIs" meets "selective serotonin reuptake inhibitors".
    """
    if names is None:
        names = doc_names(tables_dir)
    frame = _read(
        tables_dir,
        "abbreviations",
        ["doc_id", "short_form", "long_form"],
        names.keys(),
    )
    aliases: dict[str, dict[str, set[str]]] = defaultdict(lambda: defaultdict(set))
    for doc_id, short, long in frame.itertuples(index=False):
        short, long = _text(short), _text(long)
        if doc_id not in names or not short or not long:
            continue
        forms = aliases[names[doc_id]]
        forms[normalise(short)].add(normalise(long))
        forms[normalise(long)].add(normalise(short))
    return {doc: dict(forms) for doc, forms in aliases.items()}


def load_sentences(tables_dir: Tables, names: dict[str, str]) -> dict[str, list[str]]:
    """Gold name -> its sentence texts, to check the gold quotes against the segmentation."""
    sentences: dict[str, list[str]] = {name: [] for name in names.values()}
    frame = _read(tables_dir, "sentences", ["doc_id", "text"], names.keys())
    for doc_id, text in frame.itertuples(index=False):
        sentences[names[doc_id]].append(text)
    return sentences


# Scoring


def _expand(names: Iterable[str], aliases: Aliases) -> set[str]:
    found = {normalise(n) for n in names if n and n.strip()}
    return found.union(*(aliases.get(n, set()) for n in found))


def names_match(
    predicted: Iterable[str], gold: Iterable[str], aliases: Aliases | None = None
) -> bool:
    """One predicted name equals or contains a gold name, or the reverse, after aliases."""
    aliases = aliases or {}
    ours, theirs = _expand(predicted, aliases), _expand(gold, aliases)
    return any(a in b or b in a for a in ours for b in theirs)


def matches(gold: GoldEdge, edge: PredictedEdge, aliases: Aliases | None = None) -> bool:
    """The guideline's match: same document and role, quote in sentence, names, key stems."""
    value = normalise(edge.value)
    return (
        gold.doc == edge.doc
        and gold.role == edge.role
        and all(stem in value for stem in gold.key)
        and normalise(gold.quote) in normalise(edge.sentence)
        and names_match(edge.names, gold.substance, aliases)
    )


def _agreement(pairs: list[Pair], attribute: str) -> Ratio:
    """Share of matched pairs agreeing on `attribute`, over the gold edges that score it."""
    scored = [(g, p) for g, p in pairs if getattr(g, attribute) is not None]
    return Ratio(
        sum(getattr(g, attribute) == getattr(p, attribute) for g, p in scored), len(scored)
    )


def score(
    gold: list[GoldEdge],
    predicted: list[PredictedEdge],
    aliases: dict[str, Aliases] | None = None,
) -> Evaluation:
    """Precision, recall and F1 overall, per role and per document, and the attribute accuracies.

    Only predictions in gold documents count. A prediction matching only optional gold edges
    is left out of precision; optional gold edges are left out of recall.
    """
    aliases = aliases or {}
    gold_by_doc: dict[str, list[int]] = defaultdict(list)
    for index, edge in enumerate(gold):
        gold_by_doc[edge.doc].append(index)
    matched: set[int] = set()
    counted: list[tuple[PredictedEdge, bool]] = []
    optional_only: list[PredictedEdge] = []
    pairs: list[Pair] = []
    n_predicted = 0
    for edge in predicted:
        if edge.doc not in gold_by_doc:
            continue
        n_predicted += 1
        doc_aliases = aliases.get(edge.doc, {})
        hits = [i for i in gold_by_doc[edge.doc] if matches(gold[i], edge, doc_aliases)]
        matched.update(hits)
        pairs += [(gold[i], edge) for i in hits]
        if hits and all(gold[i].optional for i in hits):
            optional_only.append(edge)
        else:
            counted.append((edge, bool(hits)))
    required = [i for i, g in enumerate(gold) if not g.optional]

    def scores(doc: str | None = None, role: str | None = None, genre: str | None = None) -> Scores:
        def keep(edge: GoldEdge | PredictedEdge) -> bool:
            return (
                (doc is None or edge.doc == doc)
                and (role is None or edge.role == role)
                and (genre is None or genre_of(edge.doc) == genre)
            )

        ours = [hit for edge, hit in counted if keep(edge)]
        theirs = [i in matched for i in required if keep(gold[i])]
        return Scores(Ratio(sum(ours), len(ours)), Ratio(sum(theirs), len(theirs)))

    effect_pairs = [(g, p) for g, p in pairs if g.role == "effect"]
    return Evaluation(
        overall=scores(),
        by_role={role: scores(role=role) for role in ROLES},
        by_doc={doc: scores(doc=doc) for doc in sorted(gold_by_doc)},
        by_genre={
            genre: scores(genre=genre) for genre in sorted({genre_of(d) for d in gold_by_doc})
        },
        hedge=_agreement(pairs, "hedged"),
        negation=_agreement(pairs, "negated"),
        polarity=Ratio(sum(g.polarity == p.polarity for g, p in effect_pairs), len(effect_pairs)),
        n_gold=len(gold),
        n_predicted=n_predicted,
        misses=[gold[i] for i in required if i not in matched],
        false_positives=[edge for edge, hit in counted if not hit],
        optional_only=optional_only,
        pairs=pairs,
    )


def check_gold(
    gold: list[GoldEdge], found: Iterable[str], sentences: dict[str, list[str]] | None = None
) -> tuple[list[str], list[GoldEdge]]:
    """Gold documents absent from the run (`found` are the names present), and gold quotes in
    none of their document's sentences.

    Either makes edges unmatchable whatever the pipeline does, so they are worth a warning.
    """
    missing_docs = sorted({g.doc for g in gold} - set(found))
    normalised = {doc: [normalise(s) for s in texts] for doc, texts in (sentences or {}).items()}
    missing_quotes = [
        g
        for g in gold
        if g.doc in normalised and not any(normalise(g.quote) in s for s in normalised[g.doc])
    ]
    return missing_docs, missing_quotes


def evaluate(gold_paths: Iterable[Path | str], tables_dir: Path | str) -> Evaluation:
    """Load the gold and the run's tables, score, and note what cannot match."""
    gold = load_gold(gold_paths)
    pinned = pin(tables_dir)
    wanted = {g.doc for g in gold}
    names = {doc_id: n for doc_id, n in doc_names(pinned).items() if n in wanted}
    predicted = predicted_edges(pinned, names)
    evaluation = score(gold, predicted, load_aliases(pinned, names))
    sentences = load_sentences(pinned, names)
    evaluation.missing_docs, evaluation.missing_quotes = check_gold(gold, names.values(), sentences)
    evaluation.short_quotes = [g for g in gold if len(g.quote.split()) < MIN_QUOTE_WORDS]
    return evaluation


# Report


def _cut(text: str, width: int) -> str:
    text = _SPACES.sub(" ", text).strip()
    return text if len(text) <= width else text[: width - 1] + "…"


def _f1(scores: Scores) -> str:
    return "n/a" if scores.f1 is None else f"{scores.f1:.2f}"


def format_report(evaluation: Evaluation, show: int = 20) -> str:
    """The text report: figures first, then up to `show` misses and false positives."""
    e = evaluation
    n_required = e.overall.recall.total
    lines = [
        f"Gold: {e.n_gold} edges ({n_required} required, {e.n_gold - n_required} optional) "
        f"in {len(e.by_doc)} documents.",
        f"Predicted: {e.n_predicted} edges in those documents, {len(e.optional_only)} of them "
        "matching only optional gold edges (not counted).",
        "",
    ]
    width = max([len("overall"), *(len(_cut(d, 30)) for d in e.by_doc)]) + 2

    def header(label: str) -> str:
        return f"{label:{width}}{'precision':<16}{'recall':<16}F1"

    def row(label: str, scores: Scores) -> str:
        p, r = str(scores.precision), str(scores.recall)
        return f"{_cut(label, 30):{width}}{p:<16}{r:<16}{_f1(scores)}"

    lines += [header(""), row("overall", e.overall)]
    lines += [row(role, s) for role, s in e.by_role.items()]
    lines += [row(genre, s) for genre, s in e.by_genre.items()]
    lines += [
        "",
        f"hedge accuracy     {e.hedge}   (matched pairs)",
        f"negation accuracy  {e.negation}   (matched pairs)",
        f"polarity accuracy  {e.polarity}   (matched effect pairs)",
        "",
        header("document"),
    ]
    lines += [row(doc, s) for doc, s in e.by_doc.items()]

    lines += ["", f"Misses: {len(e.misses)}" + (f" (first {show})" if len(e.misses) > show else "")]
    for g in e.misses[:show]:
        names = ", ".join(g.substance)
        lines.append(f'  {g.doc}  {g.role}: {g.value}  [{names}]  "{g.quote}"')
    fps = e.false_positives
    lines += ["", f"False positives: {len(fps)}" + (f" (first {show})" if len(fps) > show else "")]
    for p in fps[:show]:
        lines.append(
            f"  {p.doc}  {p.role}: {p.value}  [{p.substance}]  rule {p.rule or '?'}  "
            f'"{_cut(p.sentence, 90)}"'
        )
    return "\n".join(lines) + "\n"
