"""Abbreviations and their long forms.

scispaCy's Schwartz-Hearst detector finds "major depressive disorder (MDD)". Web articles
also define names in apposition: "MDMA, also known as 3,4-methylenedioxymethamphetamine".
This component runs scispaCy's detector, then adds apposition definitions whose letters pass
the same Schwartz-Hearst check, so an alias is only accepted when it really abbreviates.

Results: `doc._.abbreviations` (scispaCy's list of short-form spans, each with
`span._.long_form`) and the `doc.spans["abbreviations"]` group holding every short-form
occurrence, labelled with its long form.
"""

from __future__ import annotations

import warnings

from spacy.language import Language
from spacy.matcher import Matcher
from spacy.tokens import Doc, Span
from spacy.util import filter_spans

ABBREVIATIONS = "abbreviations"

# "<short>, also known as <long>," and "<long>, also known as <short>,"; also "a.k.a.".
_ALIAS_CUES = [
    [
        {"LOWER": ","},
        {"LOWER": "also"},
        {"LOWER": {"IN": ["known", "called", "termed"]}},
        {"LOWER": "as", "OP": "?"},
    ],
    [{"LOWER": ","}, {"LOWER": {"IN": ["aka", "a.k.a."]}}],
]
_MAX_ALIAS_TOKENS = 8


def _is_short_form(span: Span) -> bool:
    """An abbreviation: one token, 2-10 chars, starts with a letter, mostly upper case or digits."""
    if len(span) != 1:
        return False
    text = span.text
    if not 2 <= len(text) <= 10 or not text[0].isalpha():
        return False
    capitals = sum(c.isupper() or c.isdigit() for c in text)
    return capitals >= max(2, len(text) // 2)


def _alias_after(doc: Doc, start: int) -> Span | None:
    """The noun phrase after an alias cue, up to the next comma, bracket or sentence end."""
    end = start
    while end < len(doc) and end - start < _MAX_ALIAS_TOKENS:
        token = doc[end]
        if (
            token.text in {",", ";", "(", ")", ".", ":"}
            or token.is_space
            or (end > start and token.is_sent_start)
        ):
            break
        end += 1
    return doc[start:end] if end > start else None


def _whole_words(span: Span, floor: int) -> Span:
    """Widen a long form to whole words: "3,4-methylenedioxy...", not "methylenedioxy..."."""
    doc = span.doc
    start = span.start
    while start > floor and doc[start - 1].whitespace_ == "":
        start -= 1
    return doc[start : span.end]


def propagate_entities(doc: Doc) -> None:
    """Give an abbreviation's occurrences the entity label of its long form, and back.

    "beraprost (BPT)": when the recogniser labels "beraprost" CHEMICAL, every "BPT" in the
    document is CHEMICAL too; when it only labels "BPT", the long form gets the label.
    Existing entities are never overwritten. When the short form's occurrences disagree, the
    long form takes the label of the first one in reading order: scispaCy lists occurrences
    in set order, which changes from run to run, and so did the label.
    """
    label_at = {}
    for ent in doc.ents:
        for i in range(ent.start, ent.end):
            label_at[i] = ent
    added: list[Span] = []
    for short in sorted(doc._.abbreviations, key=lambda span: (span.start, span.end)):
        long = short._.long_form
        long_ent = next((label_at[i] for i in range(long.start, long.end) if i in label_at), None)
        short_ent = label_at.get(short.start)
        if long_ent is not None and short_ent is None:
            added.append(Span(doc, short.start, short.end, label=long_ent.label_))
        elif short_ent is not None and long_ent is None:
            added.append(Span(doc, long.start, long.end, label=short_ent.label_))
    if added:
        free = [
            span for span in added if not any(i in label_at for i in range(span.start, span.end))
        ]
        doc.ents = filter_spans([*doc.ents, *free])


class AbbreviationDetector:
    """scispaCy's detector plus Schwartz-Hearst-checked "also known as" definitions."""

    def __init__(self, nlp: Language, name: str, propagate_entities: bool = True):
        from scispacy.abbreviation import AbbreviationDetector as SciSpacyDetector
        from scispacy.abbreviation import find_abbreviation

        self._scispacy = SciSpacyDetector(nlp, name=name)
        self._find_abbreviation = find_abbreviation
        self._alias_matcher = Matcher(nlp.vocab)
        self._alias_matcher.add("alias", _ALIAS_CUES)
        self.propagate_entities = propagate_entities

    def __call__(self, doc: Doc) -> Doc:
        with warnings.catch_warnings():
            # scispaCy runs its per-document matcher even when it holds no patterns (W036).
            warnings.filterwarnings("ignore", message=r"\[W036\]")
            doc = self._scispacy(doc)
        known_short = {span.text for span in doc._.abbreviations}
        for short, long in self._alias_definitions(doc):
            if short.text in known_short:
                continue
            known_short.add(short.text)
            for occurrence in self._occurrences(doc, short.text):
                occurrence._.long_form = long
                doc._.abbreviations.append(occurrence)
        # Reading order, not scispaCy's set order: whatever reads the list gets the same
        # result in every run.
        doc._.abbreviations.sort(key=lambda span: (span.start, span.end))
        group = []
        for span in doc._.abbreviations:
            labelled = Span(doc, span.start, span.end, label=span._.long_form.text)
            group.append(labelled)
        doc.spans[ABBREVIATIONS] = group
        if self.propagate_entities and doc.has_annotation("ENT_IOB"):
            propagate_entities(doc)
        return doc

    def _alias_definitions(self, doc: Doc) -> list[tuple[Span, Span]]:
        definitions = []
        for _, cue_start, cue_end in self._alias_matcher(doc):
            after = _alias_after(doc, cue_end)
            before_start = cue_start - 1
            if after is None or before_start < 0:
                continue
            before = doc[before_start:cue_start]
            if _is_short_form(before):
                short, long = before, after
            elif _is_short_form(after):
                # Long form before the cue: take up to the same number of words backwards.
                short = after
                start = cue_start
                while start > 0 and cue_start - start < _MAX_ALIAS_TOKENS:
                    previous = doc[start - 1]
                    if previous.is_punct or previous.is_space or doc[start].is_sent_start:
                        break
                    start -= 1
                long = doc[start:cue_start]
            else:
                continue
            if len(long) == 0:
                continue
            _, matched_long = self._find_abbreviation(long, short)
            if matched_long is not None and len(matched_long) > 0:
                definitions.append((short, _whole_words(matched_long, long.start)))
        return definitions

    @staticmethod
    def _occurrences(doc: Doc, text: str) -> list[Span]:
        return [doc[i : i + 1] for i, token in enumerate(doc) if token.text == text]


@Language.factory("claims_abbreviations", default_config={"propagate_entities": True})
def make_abbreviation_detector(
    nlp: Language, name: str, propagate_entities: bool
) -> AbbreviationDetector:
    return AbbreviationDetector(nlp, name, propagate_entities=propagate_entities)
