"""Document layout: paragraphs, headings and sections.

Web articles arrive as lines: headings ("Safety", "Mechanism Of Action") and paragraphs.
A sentence never crosses a line break, and every sentence needs to know the section it is in,
so this component runs right after the tokenizer: it marks the first token of every line as a
sentence start (the sentencizer and the parser respect preset starts), and records heading
and paragraph spans in `doc.spans`.

Headings come from the markup when the source had any (Markdown `#`, HTML `<h1>`..`<h6>`),
passed in `doc.user_data["claims.heading_lines"]` as character ranges; otherwise from the
line shape: a short line with no final punctuation.

Not every line is prose. Each paragraph span is labelled with its kind, and every sentence
has `Span._.kind`: prose, heading, list_item, reference (citations, footnotes), navigation
("See also", link lists), category (ATC codes, "Agents that ..." lists, identifier lines),
table, or template (a sentence a site repeats across its pages with other names filled
in, e.g. DrugBank's interaction lines). The claim extractor reads claims from prose, list
items and templates only (templates flagged). The patterns are the component's data
(`line_kinds.json`, saved with the pipeline by `to_disk`), not code.
"""

from __future__ import annotations

import bisect
import json
import re
from dataclasses import dataclass, field
from pathlib import Path

from spacy.language import Language
from spacy.tokens import Doc, Span

HEADINGS = "headings"
PARAGRAPHS = "paragraphs"
HEADING_HINTS_KEY = "claims.heading_lines"
PATTERNS_FILE = "line_kinds.json"
DEFAULT_PATTERNS = Path(__file__).resolve().parent / "data" / PATTERNS_FILE
PROSE, HEADING, LIST_ITEM, TEMPLATE = "prose", "heading", "list_item", "template"
# Kinds recognised by pattern, line by line, in this order.
_LINE_KINDS = ("reference", "category", "table")

_FINAL_PUNCT = ".!?;:,\"'”’)…"
_BULLET_MARKS = {"-", "*", "•", "▪", "●", "–", "—"}
_BULLET = re.compile(r"^\s*([-*•▪●–]|\d+[.)])\s+")


def looks_like_heading(line: str, max_words: int = 12, max_chars: int = 120) -> bool:
    """True for a short, unpunctuated line that starts like a title ("Mechanism Of Action")."""
    stripped = line.strip()
    if not stripped or len(stripped) > max_chars or len(stripped.split()) > max_words:
        return False
    if stripped[-1] in _FINAL_PUNCT or _BULLET.match(stripped):
        return False
    first = stripped[0]
    return (first.isalpha() and first.isupper()) or first.isdigit()


@dataclass
class KindPatterns:
    """What makes a line or sentence non-prose: regexes per kind, and section headings
    whose lines all take a kind ("References" -> reference)."""

    patterns: dict[str, list[str]] = field(default_factory=dict)
    sections: dict[str, list[str]] = field(default_factory=dict)
    max_line_chars: int = 400  # longer lines are paragraphs: their sentences are judged

    def __post_init__(self) -> None:
        self._compiled = {
            kind: re.compile("|".join(_scoped(p) for p in regexes))
            for kind, regexes in self.patterns.items()
            if regexes
        }
        self._sections = {
            _heading_key(heading): kind
            for kind, headings in self.sections.items()
            for heading in headings
        }

    @classmethod
    def from_json(cls, path: Path) -> KindPatterns:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
        patterns = {kind: data.get(kind, []) for kind in (*_LINE_KINDS, TEMPLATE)}
        return cls(
            patterns=patterns,
            sections=data.get("sections", {}),
            max_line_chars=data.get("max_line_chars", 400),
        )

    def to_json(self, path: Path) -> None:
        data = {"sections": self.sections, "max_line_chars": self.max_line_chars}
        data.update(self.patterns)
        Path(path).write_text(json.dumps(data, indent=1, ensure_ascii=False), encoding="utf-8")

    def line_kind(self, line: str) -> str | None:
        """reference, category or table when a pattern of that kind matches the text (a
        short line, or a sentence of a long one)."""
        for kind in _LINE_KINDS:
            pattern = self._compiled.get(kind)
            if pattern is not None and pattern.search(line):
                return kind
        return None

    def section_kind(self, heading: str) -> str | None:
        return self._sections.get(_heading_key(heading))

    def is_template(self, sentence: str) -> bool:
        pattern = self._compiled.get(TEMPLATE)
        return pattern is not None and pattern.search(sentence) is not None


def _scoped(pattern: str) -> str:
    """One alternative of a kind's regex; a leading `(?i)` applies to it alone."""
    if pattern.startswith("(?i)"):
        return f"(?i:{pattern[4:]})"
    return f"(?:{pattern})"


def _heading_key(heading: str) -> str:
    return re.sub(r"[^a-z0-9]+", " ", heading.lower()).strip()


def _line_ranges(text: str) -> list[tuple[int, int]]:
    """Character ranges of the non-blank lines of `text`, without surrounding whitespace."""
    ranges = []
    for match in re.finditer(r"[^\n]+", text):
        start, end = match.span()
        line = match.group()
        stripped_start = start + (len(line) - len(line.lstrip()))
        stripped_end = end - (len(line) - len(line.rstrip()))
        if stripped_end > stripped_start:
            ranges.append((stripped_start, stripped_end))
    return ranges


def _bounds(doc: Doc, group: str) -> tuple[list[int], list[int]]:
    """Token starts and ends of a span group, computed once per document.

    The getters below run for every sentence; walking the group each time made writing
    the rows of a long article quadratic. Recomputed if the group is replaced.
    """
    spans = doc.spans.get(group, [])
    key = f"claims.{group}.bounds"
    cached = doc.user_data.get(key)
    if cached is None or len(cached[0]) != len(spans):
        cached = ([span.start for span in spans], [span.end for span in spans])
        doc.user_data[key] = cached
    return cached


def _index_of(span: Span, group: str) -> int:
    """Index of the last span of `group` starting at or before `span` (-1 if none)."""
    starts, _ = _bounds(span.doc, group)
    return bisect.bisect_right(starts, span.start) - 1


def _section_of(span: Span) -> str | None:
    """Text of the last heading that starts at or before this span."""
    position = _index_of(span, HEADINGS)
    return span.doc.spans[HEADINGS][position].text if position >= 0 else None


def _paragraph_of(span: Span) -> int | None:
    """Index of the paragraph (line) holding the span's first token."""
    position = _index_of(span, PARAGRAPHS)
    return position if position >= 0 else None


def _is_heading(span: Span) -> bool:
    """True when the span starts inside a heading line (sentences never cross lines)."""
    position = _index_of(span, HEADINGS)
    return position >= 0 and span.start < _bounds(span.doc, HEADINGS)[1][position]


def _kind_of(span: Span) -> str:
    """The kind of text the span (a sentence) is: its line's kind, or template."""
    if _is_heading(span):
        return HEADING
    position = _index_of(span, PARAGRAPHS)
    kind = span.doc.spans[PARAGRAPHS][position].label_ if position >= 0 else PROSE
    kind = kind or PROSE
    patterns = _PATTERNS.get(span.doc.user_data.get(_PATTERNS_KEY))
    if kind not in (PROSE, LIST_ITEM) or patterns is None:
        return kind
    if patterns.is_template(span.text):
        return TEMPLATE
    return patterns.line_kind(span.text) or kind  # a citation sentence in a long paragraph


_PATTERNS_KEY = "claims.kind_patterns"
# The patterns of each layout component in this process, by a key a Doc can carry in its
# user_data (plain values only, so Docs still serialise).
_PATTERNS: dict[int, KindPatterns] = {}


class Layout:
    """Marks line-initial sentence starts, headings, paragraphs and their kinds."""

    @property
    def patterns(self) -> KindPatterns:
        return self._patterns

    @patterns.setter
    def patterns(self, patterns: KindPatterns) -> None:
        self._patterns = patterns
        _PATTERNS[id(patterns)] = patterns

    def __init__(self, max_heading_words: int, max_heading_chars: int):
        self.max_heading_words = max_heading_words
        self.max_heading_chars = max_heading_chars
        self.patterns = KindPatterns.from_json(DEFAULT_PATTERNS)
        for name, getter in (
            ("section", _section_of),
            ("paragraph", _paragraph_of),
            ("is_heading", _is_heading),
            ("kind", _kind_of),
        ):
            if not Span.has_extension(name):
                Span.set_extension(name, getter=getter)

    def __call__(self, doc: Doc) -> Doc:
        hints = doc.user_data.get(HEADING_HINTS_KEY)
        hinted = {tuple(r) for r in hints} if hints is not None else None
        paragraphs: list[Span] = []
        headings: list[Span] = []
        section_kind: str | None = None
        for start, end in _line_ranges(doc.text):
            span = doc.char_span(start, end, alignment_mode="expand")
            if span is None or len(span) == 0:
                continue
            # Lines are independent units: a sentence never runs across a line break.
            span[0].is_sent_start = True
            # The line break after a line belongs to that line, never starts a sentence.
            if span.end < len(doc) and doc[span.end].is_space:
                doc[span.end].is_sent_start = False
            if hinted is not None:
                is_heading = (start, end) in hinted
            else:
                is_heading = looks_like_heading(
                    span.text, self.max_heading_words, self.max_heading_chars
                )
            if is_heading:
                section_kind = self.patterns.section_kind(span.text)
                kind = HEADING
            else:
                short = len(span.text) <= self.patterns.max_line_chars
                kind = (self.patterns.line_kind(span.text) if short else None) or section_kind
                if kind is None:
                    kind = LIST_ITEM if _BULLET.match(span.text) else PROSE
            paragraphs.append(Span(doc, span.start, span.end, label=kind))
            if is_heading:
                headings.append(span)
                # A heading is one unit: no sentence starts inside it.
                for token in span[1:]:
                    token.is_sent_start = False
            elif len(span) > 1 and span[0].text in _BULLET_MARKS:
                # "- item": the item starts its own sentence; the marker alone is no sentence
                # (records.sentence_rows skips it), so no parser can glue it elsewhere.
                span[1].is_sent_start = True
        doc.spans[PARAGRAPHS] = paragraphs
        doc.spans[HEADINGS] = headings
        doc.user_data[_PATTERNS_KEY] = id(self.patterns)
        for group in (PARAGRAPHS, HEADINGS):
            doc.user_data.pop(f"claims.{group}.bounds", None)
        return doc

    def initialize(self, get_examples=None, *, nlp=None, patterns_path=None) -> None:
        """Read the kind patterns from `patterns_path` (`[initialize.components]`)."""
        if patterns_path is not None:
            self.patterns = KindPatterns.from_json(Path(patterns_path))

    def to_disk(self, path, *, exclude=()) -> None:
        path = Path(path)
        path.mkdir(parents=True, exist_ok=True)
        self.patterns.to_json(path / PATTERNS_FILE)

    def from_disk(self, path, *, exclude=()) -> Layout:
        patterns = Path(path) / PATTERNS_FILE
        if patterns.exists():  # pipelines saved before kinds existed keep the defaults
            self.patterns = KindPatterns.from_json(patterns)
        return self


@Language.factory(
    "claims_layout",
    default_config={"max_heading_words": 12, "max_heading_chars": 120},
)
def make_layout(nlp: Language, name: str, max_heading_words: int, max_heading_chars: int) -> Layout:
    return Layout(max_heading_words=max_heading_words, max_heading_chars=max_heading_chars)
