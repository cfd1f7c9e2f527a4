"""Claim entities: SUBSTANCE, TARGET, EFFECT and CONDITION with normalised names.

Two sources, merged per document into `doc.spans["entities"]` (no overlaps):
- the lexicon (DrugBank, MeSH, curated; see models/scripts/build_lexicon.py), which also
  supplies the normalised name;
- the trained NER (BC5CDR labels), mapped CHEMICAL -> SUBSTANCE and DISEASE -> CONDITION, for
  names no lexicon lists. Where both find a span, the longer wins; on a tie the lexicon's
  label and name win, and the span's source says both ("model+lexicon").
Abbreviations take their long form's label and name ("MDD" -> major depressive disorder),
also over a label the NER alone gave ("DAT" for the dopamine transporter is a target).

Grounding: each entity carries `span._.db_refs`, the ontology ids of its normalised name
({"MESH": "D002110", "DRUGBANK": "DB00201", "CHEBI": "CHEBI:27732"}, INDRA's convention), and
`doc._.db_refs` maps every normalised name in the document to its ids, for the claims built
on them. A name only the NER found takes the name and ids of a lexicon term it holds
("Merck's boceprevir" -> boceprevir) or spells in the singular. Names only the NER found are
dropped when they are ordinary English words, codes and numbers ("90s", "p=.0005"), or
written like a person's name and listed as one ("Katherine", "Cohen").
"""

from __future__ import annotations

import re
from itertools import pairwise
from pathlib import Path

from spacy.language import Language
from spacy.tokens import Doc, Span

from pipeline.nlp import gzjson
from pipeline.nlp.lexicon import Lexicon, build_lexicon, read_entries

LEXICON_FILE = "lexicon.jsonl.gz"
GROUNDINGS_FILE = "groundings.json.gz"
PERSON_NAMES_FILE = "person_names.jsonl.gz"
# Parts of speech a one-word name cannot have in running text.
_NOT_A_NAME = {"VERB", "AUX", "ADJ", "ADV", "ADP", "PRON", "DET", "CCONJ", "SCONJ", "PART"}

if not Span.has_extension("norm"):
    Span.set_extension("norm", default=None)
if not Span.has_extension("entity_source"):
    Span.set_extension("entity_source", default=None)
if not Span.has_extension("db_refs"):
    Span.set_extension("db_refs", default=None)
if not Doc.has_extension("db_refs"):
    Doc.set_extension("db_refs", default=None)


@Language.factory(
    "claims_entities",
    default_config={
        "spans_key": "entities",
        "ner_labels": {"CHEMICAL": "SUBSTANCE", "DISEASE": "CONDITION"},
        "organisation_words": [
            "institute",
            "institutes",
            "university",
            "universiteit",
            "universidad",
            "universität",
            "college",
            "hospital",
            "clinic",
            "foundation",
            "society",
            "association",
            "laboratories",
            "inc",
            "inc.",
            "corp",
            "corp.",
            "ltd",
            "llc",
            "republic",
            "ministry",
            "agency",
            "council",
            "investigaciones",
            "school",
        ],
    },
)
def make_entities(
    nlp: Language,
    name: str,
    spans_key: str,
    ner_labels: dict[str, str],
    organisation_words: list[str],
) -> EntityMerger:
    return EntityMerger(
        nlp,
        name,
        spans_key=spans_key,
        ner_labels=ner_labels,
        organisation_words=organisation_words,
    )


class EntityMerger:
    """Pipeline component: lexicon matches + NER entities -> one labelled, normalised group."""

    def __init__(
        self,
        nlp: Language,
        name: str,
        *,
        spans_key: str,
        ner_labels: dict[str, str],
        organisation_words: list[str] = (),
    ) -> None:
        self.nlp = nlp
        self.name = name
        self.spans_key = spans_key
        self.ner_labels = dict(ner_labels)
        self.organisation_words = frozenset(word.lower() for word in organisation_words)
        self.lexicon = Lexicon()
        self.groundings: dict[str, dict[str, str]] = {}
        self.person_names: frozenset[str] = frozenset()
        self._words: frozenset[str] | None = None
        self._by_pos: dict[str, frozenset[str]] = {}

    def initialize(
        self,
        get_examples=None,
        *,
        nlp: Language | None = None,
        lexicon_path=None,
        person_names_path=None,
    ):
        """Build the lexicon, its groundings and the person-name list from build_lexicon.py's
        output files (`[initialize.components]`)."""
        if lexicon_path is not None:
            entries = list(read_entries(Path(lexicon_path)))
            self.lexicon = build_lexicon(entries, (nlp or self.nlp).make_doc)
            self.groundings = {e["norm"]: e["db_refs"] for e in entries if e.get("db_refs")}
        if person_names_path is not None and Path(person_names_path).exists():
            text = Path(person_names_path).read_text(encoding="utf-8")
            self.person_names = frozenset(line for line in text.splitlines() if line)

    def ground(self, norm: str | None) -> dict[str, str]:
        """Ontology ids of a normalised name ({} when the lexicon has none)."""
        return dict(self.groundings.get(norm, {})) if norm else {}

    def __call__(self, doc: Doc) -> Doc:
        candidates: list[Span] = []
        for start, end, term in self.lexicon.matches(doc):
            if end - start == 1 and self._used_as_word(doc[start]):
                continue  # "antidepressant effects", "lead to": the word, not the name
            if end - start == 1 and self._in_persons_name(doc[start]):
                continue  # "Bruce Sands", "Holly Drewry", "Timothy Leary": a person
            span = Span(doc, start, end, label=term.label)
            span._.norm = term.norm
            span._.entity_source = "lexicon"
            named = doc[start - 1] if start > 0 else None
            if (
                end - start == 1
                and doc[start].lower_ in _SALTS
                and named is not None
                and named.is_alpha
                and not named.is_stop
                and named.pos_ in _NAME_POS
                and named.lower_ not in self._dictionary()
            ):  # "ulipristal acetate": the drug is the word before ("dietary calcium" is not)
                span = Span(doc, start - 1, end, label=term.label)
                drug = self.lexicon.lookup((named.text,))
                span._.norm = drug.norm if drug is not None else normalise_name(span.text)
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
            if self._person(ent) or (
                label == "SUBSTANCE"
                and (
                    self._common_words(ent)
                    or _not_a_name(ent)
                    or self._organisation_or_acronym(ent)
                )
            ):
                continue  # "Tuesday", "everyone", "Dr. Austen", "90s", "Katherine": no substance
            span = Span(doc, ent.start, ent.end, label=label)
            span._.norm = self._model_norm(ent, label, candidates)
            span._.entity_source = "model"
            candidates.append(span)
        entities = _without_overlaps(candidates)
        entities = _abbreviation_entities(doc, entities)
        entities.sort(key=lambda span: span.start)
        refs = {}
        for span in entities:
            span._.db_refs = self.ground(span._.norm)
            if span._.db_refs:
                refs[span._.norm] = span._.db_refs
        doc._.db_refs = refs
        doc.spans[self.spans_key] = entities
        return doc

    def _used_as_word(self, token) -> bool:
        """A one-word lexicon match used as an ordinary word: a verb, adverb, pronoun...; an
        adjective or verb tag on a word that is no English word and heads a noun phrase
        ("Turmeric/JJ may reduce inflammation") is a mistagged name, not "the same"."""
        if token.pos_ not in _NOT_A_NAME:
            return False
        mistagged = (
            token.pos_ in {"ADJ", "VERB"}
            and token.dep_ in _NOMINAL_DEPS
            and token.lower_ not in self._dictionary(token.pos_.lower())
        )
        return not mistagged

    def _model_norm(self, ent: Span, label: str, lexicon_spans: list[Span]) -> str:
        """The normalised name of a name only the NER found: the name of the one lexicon term
        of its label inside it ("oral enclomiphene citrate" -> enclomiphene), else of its
        singular ("SSRIs"), else the name lowercased."""
        inside = {
            span._.norm
            for span in lexicon_spans
            if ent.start <= span.start
            and span.end <= ent.end
            and span.label_ == label
            and not self._salt_of(span)  # "ulipristal acetate" is no acetate
        }
        if len(inside) == 1:
            return inside.pop()
        long = _long_form(ent)
        if long is not None:  # "PUFA" defined as "polyunsaturated fatty acids"
            for words in (tuple(t.text for t in long), tuple(t.lemma_ for t in long)):
                term = self.lexicon.lookup(words)
                if term is not None and term.label == label:
                    return term.norm
        singular = tuple(token.lemma_.lower() for token in ent)
        unlocated = _LOCANTS.sub("", ent.text)  # "1,2-benzodiazepine" -> "benzodiazepine"
        salt_free = tuple(t.text for t in ent[:-1]) if ent[-1].lower_ in _SALTS else ()
        for words in (singular, (unlocated,) if unlocated != ent.text else (), salt_free):
            term = self.lexicon.lookup(words) if words else None
            if term is not None and term.label == label:
                return term.norm
        return normalise_name(ent.text)

    def _in_persons_name(self, token) -> bool:
        """A capitalised word that is part of a person's name: after a listed first name or
        a title ("Bruce Sands", "Dr. Rowan"), or a listed first name before a capitalised
        word no lexicon term spells ("Holly Drewry")."""
        if not token.is_title:
            return False
        doc = token.doc
        before = doc[token.i - 1] if token.i > 0 else None
        after = doc[token.i + 1] if token.i + 1 < len(doc) else None
        named = (
            before is not None
            and before.is_title
            and (before.lower_ in self.person_names or before.lower_ in _TITLES)
        ) or (
            token.lower_ in self.person_names
            and after is not None
            and after.is_title
            and after.is_alpha
            and self.lexicon.lookup((after.text,)) is None
        )
        return named and not _title_case_line(token)

    def _salt_of(self, span: Span) -> bool:
        """A salt word after a drug's name the lexicon lacks ("ulipristal acetate"), not a
        substance of its own ("dietary calcium" is calcium)."""
        if span.text.lower() not in _SALTS or span.start == 0:
            return False
        named = span.doc[span.start - 1]
        return named.is_alpha and not named.is_stop and named.lower_ not in self._dictionary()

    def _person(self, span: Span) -> bool:
        """Written like a person's name and listed as one: every word capitalised, and either
        every word in the census name lists ("Katherine", "Cohen") or the first one a name
        before a surname the lists lack ("David Haytowitz", "Xingwei"'s "Dongsheng Li")."""
        words = [part for token in span for part in _HYPHEN.split(token.text) if part.isalpha()]
        if not words or not all(w[0].isupper() and w[1:].islower() for w in words):
            return False
        if _title_case_line(span[0]):
            return False  # "Green Tea Lowers Blood Pressure": a headline, not people
        listed = [w.lower() in self.person_names for w in words]
        if all(listed) or (len(words) > 1 and listed[0]):
            return True
        return all(w.lower() in self._surnames(span.doc) for w in words)

    def _surnames(self, doc: Doc) -> frozenset[str]:
        """Capitalised words the article writes after a listed first name or a title
        ("David Haytowitz", "Dr. Elmariah"): its people's surnames, computed once a doc."""
        cached = doc.user_data.get(_SURNAMES_KEY)
        if cached is None:
            found = set()
            for before, token in pairwise(doc):
                if (
                    token.is_title
                    and before.is_title
                    and (before.lower_ in self.person_names or before.lower_ in _TITLES)
                    and not _title_case_line(token)
                ):
                    found.add(token.lower_)
            cached = doc.user_data[_SURNAMES_KEY] = frozenset(found)
        return cached

    def _organisation_or_acronym(self, span: Span) -> bool:
        """A name only the NER found that names an organisation ("the Scripps Research
        Institute", "Universiteit"), or a short capital acronym that is neither defined in
        the article nor stands for a substance the lexicon knows ("NIHR", "TTH" for
        tension-type headache): neither is a substance a reader can use."""
        if any(token.lower_ in self.organisation_words for token in span):
            return True
        text = span.text
        if len(span) == 1 and text.isupper() and text.isalpha() and len(text) <= 5:
            long = _long_form(span)
            if long is None:
                return True
            term = self.lexicon.lookup(tuple(t.text for t in long)) or self.lexicon.lookup(
                tuple(t.lemma_ for t in long)
            )
            return term is None or term.label != "SUBSTANCE"
        return False

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
        if not alphabetic:  # "self-esteem", "freely-chosen", "all-in-one": words joined
            parts = [p.lower() for t in span for p in _HYPHEN.split(t.text) if p]
            return bool(parts) and all(
                p.isalpha() and (p in words or p in _SMALL_WORDS) for p in parts
            )
        return all(
            t.lower_ in words or t.lemma_.lower() in words or t.pos_ == "PRON" for t in alphabetic
        )

    def _dictionary(self, pos: str | None = None) -> frozenset[str]:
        """English words of the pipeline's lemmatizer tables (spacy-lookups-data's lemma
        index): all of them, or those of one part of speech ("adj", "verb"), read once;
        empty when the pipeline has no rule lemmatizer."""
        if self._words is None:
            by_pos: dict[str, frozenset[str]] = {}
            nlp = self.nlp
            if nlp is not None and "lemmatizer" in nlp.pipe_names:
                lookups = getattr(nlp.get_pipe("lemmatizer"), "lookups", None)
                if lookups is not None and lookups.has_table("lemma_index"):
                    index = lookups.get_table("lemma_index")
                    for part in ("noun", "adj", "verb", "adv"):
                        by_pos[part] = frozenset(w for w in index.get(part, []) if w.isalpha())
            self._by_pos = by_pos
            self._words = frozenset().union(*by_pos.values())
        return self._words if pos is None else self._by_pos.get(pos, frozenset())

    def to_disk(self, path, *, exclude=()) -> None:
        path = Path(path)
        path.mkdir(parents=True, exist_ok=True)
        self.lexicon.to_disk(path / LEXICON_FILE)
        gzjson.write_json(path / GROUNDINGS_FILE, dict(sorted(self.groundings.items())))
        gzjson.write_lines(path / PERSON_NAMES_FILE, sorted(self.person_names))

    def from_disk(self, path, *, exclude=()) -> EntityMerger:
        path = Path(path)
        if (path / LEXICON_FILE).exists():
            self.lexicon = Lexicon.from_disk(path / LEXICON_FILE)
        if (path / GROUNDINGS_FILE).exists():
            self.groundings = gzjson.read_json(path / GROUNDINGS_FILE)
        if (path / PERSON_NAMES_FILE).exists():
            self.person_names = frozenset(gzjson.read_lines(path / PERSON_NAMES_FILE))
        return self


_HYPHEN = re.compile(r"[-‐–]")
_NAME_POS = {"NOUN", "PROPN", "ADJ", "X"}
# Salt and counter-ion words: the part of a drug's name that does not say which drug it is.
_SALTS = frozenset(
    [
        "acetate",
        "acetates",
        "hydrochloride",
        "hcl",
        "citrate",
        "sulfate",
        "sulphate",
        "sodium",
        "potassium",
        "calcium",
        "phosphate",
        "maleate",
        "tartrate",
        "mesylate",
        "bromide",
        "chloride",
        "fumarate",
        "succinate",
        "besylate",
        "hydrobromide",
        "nitrate",
        "oxalate",
        "salt",
        "salts",
        "acid",
        "acids",
        "ester",
        "esters",
    ]
)
_LOCANTS = re.compile(r"^\d+(?:,\d+)*-(?=[a-zA-Z])")
_SURNAMES_KEY = "claims.surnames"
# Function words inside hyphenated phrases ("all-in-one"), which the lemma index lacks.
_SMALL_WORDS = frozenset({"in", "on", "of", "to", "the", "a", "and", "or", "for", "by", "at"})
_TITLES = {"dr", "dr.", "mr", "mr.", "ms", "ms.", "mrs.", "prof", "prof."}
# Indefinite pronouns the tagger may take for nouns.
_PEOPLE = {"everyone", "someone", "anyone", "everybody", "somebody", "anybody", "nobody"}
_DURATION = re.compile(r"^\d+[- ]?(?:hours?|days?|weeks?|months?|years?)$", re.IGNORECASE)


_CODE_OR_NUMBER = re.compile(
    r"^(?:\d+'?s|(?:[a-z]\.){2,}|.*[©@=:].*|.*/|(?-i:[A-Z][a-z]+\d+)|[a-z]+\.[a-z])$",
    re.IGNORECASE,
)  # 90s, a.d.h.d., © 2016, p=.0005, ly/, Abdous1 (an affiliation mark), TSE:6501, MDT.N


def _title_case_line(token) -> bool:
    """In a headline written in title case ("Green Tea May Lower Blood Pressure"), where every
    word is capitalised and many are also census surnames (Green, May, Young); not in an
    author list or a contact line, which are as capitalised."""
    sentence = token.sent
    if sum(t.text == "," for t in sentence) > 1 or any(t.like_num for t in sentence):
        return False  # an author list or a contact line, where people's names are
    words = [t for t in sentence if t.is_alpha and not t.is_stop]
    return len(words) >= 3 and sum(t.is_title for t in words) >= 0.8 * len(words)


def _long_form(span: Span) -> Span | None:
    """The long form the article defines for this short form, else None."""
    if not Doc.has_extension("abbreviations"):
        return None
    for short in span.doc._.abbreviations:
        if short.text == span.text:
            return short._.long_form
    return None


def _not_a_name(span: Span) -> bool:
    """No substance's name: no word of three letters ("573", "AB1") or a code, a decade,
    dotted initials or a copyright line."""
    text = span.text.strip()
    if _CODE_OR_NUMBER.match(text):
        return True
    return not any(sum(character.isalpha() for character in token.text) >= 3 for token in span)


# Dependencies of a noun phrase's head: a word mistagged as an adjective or verb there
# ("Turmeric/JJ may reduce inflammation") is still used as a name.
_NOMINAL_DEPS = {"nsubj", "nsubjpass", "dobj", "pobj", "conj", "appos", "attr"}


def _plausible_name(span: Span) -> bool:
    """NER output that cannot be a name: clauses ("vitamin is"), titles, durations, adverbs."""
    if any(token.pos_ in {"VERB", "AUX"} for token in span):
        return False
    if len(span) == 1 and span[0].pos_ in _NOT_A_NAME:
        return False
    text = span.text.lower()
    return text not in _TITLES and not _DURATION.match(text)


# Namespaces of `db_refs` in the order a single id is chosen (`curie`): MeSH covers
# substances, targets and conditions alike, so most joins need only it.
NAMESPACES = ("MESH", "DRUGBANK", "CHEBI")


def curie(db_refs: dict[str, str] | None) -> str | None:
    """One compact URI for a name's ids, the first namespace of `NAMESPACES` it has:
    {"MESH": "D002110", "DRUGBANK": "DB00201"} -> "mesh:D002110"; None for no ids."""
    for namespace in NAMESPACES:
        value = (db_refs or {}).get(namespace)
        if value:
            local = value.split(":", 1)[1] if value.upper().startswith(namespace + ":") else value
            return f"{namespace.lower()}:{local}"
    return None


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
    """Short forms take the label and name of the entity at their long form: where nothing
    was found, and over what the NER alone found there ("DAT" read as a chemical)."""
    if not Doc.has_extension("abbreviations"):
        return entities
    by_offsets = {(span.start_char, span.end_char): span for span in entities}
    owner = {i: span for span in entities for i in range(span.start, span.end)}
    replaced: set[int] = set()
    added = []
    for short in doc._.abbreviations:
        long = short._.long_form
        source = by_offsets.get((long.start_char, long.end_char))
        if source is None:
            continue
        there = {id(owner[i]): owner[i] for i in range(short.start, short.end) if i in owner}
        if any(span._.entity_source != "model" for span in there.values()):
            continue  # the lexicon named it: keep that
        if any(span.start < short.start or span.end > short.end for span in there.values()):
            continue  # the NER's span reaches beyond the short form
        replaced.update(there)
        span = Span(doc, short.start, short.end, label=source.label_)
        span._.norm = source._.norm
        span._.entity_source = f"abbreviation+{source._.entity_source}"
        added.append(span)
        for i in range(short.start, short.end):
            owner[i] = span
    return [span for span in entities if id(span) not in replaced] + added
