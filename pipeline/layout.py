"""Document layout: paragraphs, headings and sections.

Web articles arrive as lines: headings ("Safety", "Mechanism Of Action") and paragraphs.
A sentence never crosses a line break, and every sentence needs to know the section it is in,
so this component runs right after the tokenizer: it marks the first token of every line as a
sentence start (the sentencizer and the parser respect preset starts), and records heading
and paragraph spans in `doc.spans`.

Headings come from the markup when the source had any (Markdown `#`, HTML `<h1>`..`<h6>`),
passed in `doc.user_data["claims.heading_lines"]` as character ranges; otherwise from the
line shape: a short line with no final punctuation.
"""

from __future__ import annotations

import bisect
import re

from spacy.language import Language
from spacy.tokens import Doc, Span

HEADINGS = "headings"
PARAGRAPHS = "paragraphs"
HEADING_HINTS_KEY = "claims.heading_lines"

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


class Layout:
    """Marks line-initial sentence starts, headings and paragraphs."""

    def __init__(self, max_heading_words: int, max_heading_chars: int):
        self.max_heading_words = max_heading_words
        self.max_heading_chars = max_heading_chars
        for name, getter in (
            ("section", _section_of),
            ("paragraph", _paragraph_of),
            ("is_heading", _is_heading),
        ):
            if not Span.has_extension(name):
                Span.set_extension(name, getter=getter)

    def __call__(self, doc: Doc) -> Doc:
        hints = doc.user_data.get(HEADING_HINTS_KEY)
        hinted = {tuple(r) for r in hints} if hints is not None else None
        paragraphs: list[Span] = []
        headings: list[Span] = []
        for start, end in _line_ranges(doc.text):
            span = doc.char_span(start, end, alignment_mode="expand")
            if span is None or len(span) == 0:
                continue
            # Lines are independent units: a sentence never runs across a line break.
            span[0].is_sent_start = True
            # The line break after a line belongs to that line, never starts a sentence.
            if span.end < len(doc) and doc[span.end].is_space:
                doc[span.end].is_sent_start = False
            paragraphs.append(span)
            if hinted is not None:
                is_heading = (start, end) in hinted
            else:
                is_heading = looks_like_heading(
                    span.text, self.max_heading_words, self.max_heading_chars
                )
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
        for group in (PARAGRAPHS, HEADINGS):
            doc.user_data.pop(f"claims.{group}.bounds", None)
        return doc


@Language.factory(
    "claims_layout",
    default_config={"max_heading_words": 12, "max_heading_chars": 120},
)
def make_layout(nlp: Language, name: str, max_heading_words: int, max_heading_chars: int) -> Layout:
    return Layout(max_heading_words=max_heading_words, max_heading_chars=max_heading_chars)
