"""Claim entities: SUBSTANCE, TARGET, EFFECT and CONDITION with normalised names.

Two sources, merged per document into `doc.spans["entities"]` (no overlaps):
- the lexicon (DrugBank, MeSH, curated; see models/scripts/build_lexicon.py), which also
  supplies the normalised name;
- the trained NER (BC5CDR labels), mapped CHEMICAL -> SUBSTANCE and DISEASE -> CONDITION, for
  names no lexicon lists. Where both find a span, the longer wins; on a tie the lexicon's
  label and name win, and the span's source says both ("model+lexicon").
Abbreviations take their long form's label and name ("MDD" -> major depressive disorder).
"""

from __future__ import annotations

import re
from pathlib import Path

from spacy.language import Language
from spacy.tokens import Doc, Span

from pipeline.nlp.lexicon import Lexicon, build_lexicon, read_entries

LEXICON_FILE = "lexicon.jsonl.gz"
# Parts of speech a one-word name cannot have in running text.
_NOT_A_NAME = {"VERB", "AUX", "ADJ", "ADV", "ADP", "PRON", "DET", "CCONJ", "SCONJ", "PART"}

if not Span.has_extension("norm"):
    Span.set_extension("norm", default=None)
if not Span.has_extension("entity_source"):
    Span.set_extension("entity_source", default=None)


@Language.factory(
    "claims_entities",
    default_config={
        "spans_key": "entities",
        "ner_labels": {"CHEMICAL": "SUBSTANCE", "DISEASE": "CONDITION"},
    },
)
def make_entities(
    nlp: Language, name: str, spans_key: str, ner_labels: dict[str, str]
) -> EntityMerger:
    return EntityMerger(nlp, name, spans_key=spans_key, ner_labels=ner_labels)


class EntityMerger:
    """Pipeline component: lexicon matches + NER entities -> one labelled, normalised group."""

    def __init__(
        self, nlp: Language, name: str, *, spans_key: str, ner_labels: dict[str, str]
    ) -> None:
        self.nlp = nlp
        self.name = name
        self.spans_key = spans_key
        self.ner_labels = dict(ner_labels)
        self.lexicon = Lexicon()
        self._words: frozenset[str] | None = None

    def initialize(self, get_examples=None, *, nlp: Language | None = None, lexicon_path=None):
        """Build the lexicon from a build_lexicon.py output file (`[initialize.components]`)."""
        if lexicon_path is not None:
            entries = read_entries(Path(lexicon_path))
            self.lexicon = build_lexicon(entries, (nlp or self.nlp).make_doc)

    def __call__(self, doc: Doc) -> Doc:
        candidates: list[Span] = []
        for start, end, term in self.lexicon.matches(doc):
            if end - start == 1 and doc[start].pos_ in _NOT_A_NAME:
                continue  # "antidepressant effects", "lead to": the word, not the name
            span = Span(doc, start, end, label=term.label)
            span._.norm = term.norm
            span._.entity_source = "lexicon"
            candidates.append(span)
        lexicon_by_offsets = {(span.start, span.end): span for span in candidates}
        for ent in doc.ents:
            label = self.ner_labels.get(ent.label_)
            if label is None:
                continue
            if not _plausible_name(ent):
                continue
            known = lexicon_by_offsets.get((ent.start, ent.end))
            if known is not None:
                known._.entity_source = "model+lexicon"
                continue
            if label == "SUBSTANCE" and self._common_words(ent):
                continue  # "Tuesday", "everyone", "phone", "Dr. Austen": no substance
            span = Span(doc, ent.start, ent.end, label=label)
            span._.norm = normalise_name(span.text)
            span._.entity_source = "model"
            candidates.append(span)
        entities = _without_overlaps(candidates)
        entities.extend(_abbreviation_entities(doc, entities))
        entities.sort(key=lambda span: span.start)
        doc.spans[self.spans_key] = entities
        return doc

    def _common_words(self, span: Span) -> bool:
        """A name the NER alone found that is ordinary English: every word a word of the
        pipeline lemmatizer's index (days, places, "phone"), a pronoun ("everyone") or a title
        ("Dr. Austen"). Names of substances the lexicon knows never reach here; drug names
        the lexicon lacks ("zotarolimus", "Avastin") are no dictionary words."""
        if span[0].lower_ in _TITLES or all(t.pos_ == "PRON" or t.lower_ in _PEOPLE for t in span):
            return True
        words = self._dictionary()
        if not words:
            return False
        alphabetic = [t for t in span if t.is_alpha]
        return bool(alphabetic) and all(
            t.lower_ in words or t.lemma_.lower() in words or t.pos_ == "PRON" for t in alphabetic
        )

    def _dictionary(self) -> frozenset[str]:
        """English words of the pipeline's lemmatizer tables (spacy-lookups-data's lemma
        index), read once; empty when the pipeline has no rule lemmatizer."""
        if self._words is None:
            words: set[str] = set()
            nlp = self.nlp
            if nlp is not None and "lemmatizer" in nlp.pipe_names:
                lookups = getattr(nlp.get_pipe("lemmatizer"), "lookups", None)
                if lookups is not None and lookups.has_table("lemma_index"):
                    index = lookups.get_table("lemma_index")
                    for pos in ("noun", "adj", "verb", "adv"):
                        words.update(w for w in index.get(pos, []) if w.isalpha())
            self._words = frozenset(words)
        return self._words

    def to_disk(self, path, *, exclude=()) -> None:
        path = Path(path)
        path.mkdir(parents=True, exist_ok=True)
        self.lexicon.to_disk(path / LEXICON_FILE)

    def from_disk(self, path, *, exclude=()) -> EntityMerger:
        lexicon_path = Path(path) / LEXICON_FILE
        if lexicon_path.exists():
            self.lexicon = Lexicon.from_disk(lexicon_path)
        return self


_TITLES = {"dr", "dr.", "mr", "mr.", "ms", "ms.", "mrs.", "prof", "prof."}
# Indefinite pronouns the tagger may take for nouns.
_PEOPLE = {"everyone", "someone", "anyone", "everybody", "somebody", "anybody", "nobody"}
_DURATION = re.compile(r"^\d+[- ]?(?:hours?|days?|weeks?|months?|years?)$", re.IGNORECASE)


def _plausible_name(span: Span) -> bool:
    """NER output that cannot be a name: clauses ("vitamin is"), titles, durations, adverbs."""
    if any(token.pos_ in {"VERB", "AUX"} for token in span):
        return False
    if len(span) == 1 and span[0].pos_ in _NOT_A_NAME:
        return False
    text = span.text.lower()
    return text not in _TITLES and not _DURATION.match(text)


def normalise_name(text: str) -> str:
    """A model-only name's normal form: lowercase, single spaces."""
    return " ".join(text.lower().split())


def _without_overlaps(candidates: list[Span]) -> list[Span]:
    """Longest spans first; lexicon before model on equal length."""
    ranked = sorted(
        candidates,
        key=lambda span: (-(span.end - span.start), span._.entity_source == "model", span.start),
    )
    taken: set[int] = set()
    kept = []
    for span in ranked:
        if taken.isdisjoint(range(span.start, span.end)):
            kept.append(span)
            taken.update(range(span.start, span.end))
    return kept


def _abbreviation_entities(doc: Doc, entities: list[Span]) -> list[Span]:
    """Short forms not yet labelled take the label and name of the entity at their long form."""
    if not Doc.has_extension("abbreviations"):
        return []
    by_offsets = {(span.start_char, span.end_char): span for span in entities}
    taken = {i for span in entities for i in range(span.start, span.end)}
    added = []
    for short in doc._.abbreviations:
        long = short._.long_form
        source = by_offsets.get((long.start_char, long.end_char))
        if source is None or not taken.isdisjoint(range(short.start, short.end)):
            continue
        span = Span(doc, short.start, short.end, label=source.label_)
        span._.norm = source._.norm
        span._.entity_source = f"abbreviation+{source._.entity_source}"
        added.append(span)
        taken.update(range(short.start, short.end))
    return added
