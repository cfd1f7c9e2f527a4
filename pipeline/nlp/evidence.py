"""Evidence and attribution: what a claim rests on and who makes it.

A claim is only as good as its support. Like INDRA's epistemics for each statement, every
extracted claim carries two facts about its sentence: the kinds of evidence the text cites
("preliminary studies", "in mice", "a randomized controlled trial", "the FDA has issued
warnings") and who says it (the subject of a reporting verb, "the FDA has flagged ...",
"researchers have found ...", or "according to X"). When the sentence itself gives neither,
the sentence's paragraph often does ("Researchers ran a trial of psilocybin. Psilocybin
reduced symptoms."), so `for_sentence` falls back to the other sentences of the paragraph.

The `claims_evidence` component runs after `claims_extractor` and fills each claim's
`study_design` (the designs of `STUDY_DESIGNS`, strongest first: evidence kinds mapped by
`DESIGN_OF_KIND`), `preliminary`, `attribution` and `attribution_class` (who says it, kept
apart from the design), like INDRA attaching evidence to a statement, and `doc._.study_designs`
(every design the article cites, which `claims_strength` needs for its
`causal_from_observational` flag); the attribution phrases also land in
`doc.spans[attributions_key]` (label: the source class). Its
word lists and token patterns are data (`data/evidence.json`, saved by `to_disk` beside the
pipeline and read back by `from_disk`, or from `data_path` in `initialize`), like spaCy's
SpanRuler.

Evidence is a token matcher over words and lemmas, built once per vocabulary, plus the
reporters found by the attribution rules ("experts say" is expert opinion, "some individuals
report" is anecdotal). Research that is called for rather than cited ("clinical trials are
essential to establish guidelines", "further research is needed", "ongoing trials") is not
evidence: see `is_call_for_research`.

Decisions:

- Generic "research" ("research suggests", "studies have shown", "has been studied") only
  when nothing more specific is cited in the span: "In recent clinical trials, researchers
  have found ..." is ["clinical trial"]. Ongoing, future or further research is no evidence.
- A review of trials cites both: "a meta-analysis of 12 randomized controlled trials" is
  ["review / meta-analysis", "clinical trial"], which says what the review pooled.
- "preclinical" counts as an animal study; "emerging evidence" as preliminary research.
- A regulatory warning needs a health authority (FDA, DEA, "health authorities" ...) and a
  warning word (warn, flag, ban, recall, advisory ...) in the same span, or a named warning
  ("black box warning").
- Patients' own reports are anecdotal only when quantified ("some patients report"); trial
  patients report outcomes too.
- Attribution is a person, group or organisation, never a pronoun, "we"/"I", or an
  inanimate source ("studies", "research", "data": those are evidence). A lone capitalised
  word ("Mdma has shown benefits") counts only with a speech verb (say, tell, explain ...).
  Advice is not attribution: "patients should consider ..." has none.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, fields
from pathlib import Path

from spacy.language import Language
from spacy.matcher import Matcher, PhraseMatcher
from spacy.tokens import Doc, Span, Token
from spacy.vocab import Vocab

from pipeline.nlp.layout import PARAGRAPHS

DATA_FILE = "evidence.json"
DEFAULT_DATA = Path(__file__).resolve().parent / "data" / DATA_FILE

# The controlled vocabulary, in a documented order: study designs from the top of the evidence
# hierarchy down, then generic research, then sources that are not studies.
EVIDENCE_KINDS: tuple[str, ...] = (
    "review / meta-analysis",
    "clinical trial",
    "observational study",
    "case report",
    "animal study",
    "in vitro study",
    "preliminary research",
    "research",
    "expert opinion",
    "regulatory warning",
    "anecdotal",
)
# What the tables call them: `claims.study_design` holds designs only, strongest first
# (reviews, trials, observational studies incl. case reports, animal and in vitro studies,
# research of no named design, lay reports, regulators' warnings). "Preliminary" is a
# separate flag, and "expert opinion" is the attribution's class, not a design.
STUDY_DESIGNS: tuple[str, ...] = (
    "review",
    "trial",
    "observational",
    "animal",
    "in vitro",
    "research",
    "anecdote",
    "regulatory",
)
DESIGN_OF_KIND = {
    "review / meta-analysis": "review",
    "clinical trial": "trial",
    "observational study": "observational",
    "case report": "observational",
    "animal study": "animal",
    "in vitro study": "in vitro",
    "preliminary research": "research",
    "research": "research",
    "anecdotal": "anecdote",
    "regulatory warning": "regulatory",
}
PRELIMINARY = "preliminary research"
_DESIGN_RANK = {design: rank for rank, design in enumerate(STUDY_DESIGNS)}
# Kinds more specific than generic "research": any of them drops "research".
_STUDY_KINDS = frozenset(EVIDENCE_KINDS[:7])
_KIND_ORDER = {kind: rank for rank, kind in enumerate(EVIDENCE_KINDS)}
_RESEARCH = "research"
_REGULATORY = "regulatory warning"
_SUBJECTS = ("nsubj",)
_CLAUSAL = ("ccomp", "xcomp", "oprd")
_NP_CUT = ("relcl", "acl", "advcl")
# Nouns in these relations are not subjects even when a verb follows them.
_NOT_SUBJECTS = ("pobj", "dobj", "poss", "appos", "attr", "nsubjpass")
# Kinds whose mentions are research that may be called for rather than cited.
_CALL_CHECKED = _STUDY_KINDS | {_RESEARCH}
# Keys of the patterns that are not kinds: the two halves of a regulatory warning.
_PARTS = ("_regulator", "_warning")


@dataclass(frozen=True)
class WordLists:
    """The word lists of the rules, by name (the `words` of `data/evidence.json`).

    Each is a set of lowercase words or lemmas; what each means is in the data file's order:
    research words, needs, people and organisations, reporting verbs, what is not a source.
    """

    research_nouns: frozenset[str]  # generic research ("research", "study")
    research_forms: frozenset[str]  # their forms, "Research" taken for a name included
    preliminary_nouns: frozenset[str]  # what follows "preliminary", "early", "pilot"
    preliminary_words: frozenset[str]
    not_research_time: frozenset[str]  # "early morning", "early onset"
    show_verbs: frozenset[str]  # research reports a result: "studies show"
    need_words: frozenset[str]  # govern research that is wanted: "requires trials"
    need_predicates: frozenset[str]  # "trials are essential / needed / underway"
    not_done_modifiers: frozenset[str]  # "further research", "no studies"
    future_modals: frozenset[str]
    copulas: frozenset[str]  # by lemma, with forms the lemmatizer leaves as they are
    expert_nouns: frozenset[str]
    researcher_nouns: frozenset[str]
    lay_nouns: frozenset[str]
    quantifiers: frozenset[str]  # "some patients report": lay only when quantified
    other_person_nouns: frozenset[str]
    regulator_acronyms: frozenset[str]  # case-sensitive: "WHO", not "who"
    regulator_words: frozenset[str]
    warning_words: frozenset[str]
    reporting_verbs: frozenset[str]  # their subject makes the statement
    weak_verbs: frozenset[str]  # report only with a clausal complement or an expert subject
    speech_verbs: frozenset[str]  # only speech takes them: a lone capitalised subject is a name
    issued: frozenset[str]  # what "issue" must issue to report something
    raising_verbs: frozenset[str]  # "experts continue to warn"
    lay_report_verbs: frozenset[str]
    lay_speech_verbs: frozenset[str]
    expert_stance_verbs: frozenset[str]
    finding_verbs: frozenset[str]
    study_verbs: frozenset[str]  # "kratom has been studied"
    inanimate_sources: frozenset[str]  # objects of "according to" that are evidence
    not_person_pronouns: frozenset[str]
    collective_nouns: frozenset[str]  # "a group of researchers": the members say it
    advice_modals: frozenset[str]  # "patients should consider": advice, not a statement
    not_trial_before: frozenset[str]  # "a free trial"
    not_trial_after: frozenset[str]  # "trial and error" (starts of what follows)

    @property
    def source_nouns(self) -> frozenset[str]:
        """Who can make a statement: experts, researchers, lay people, other persons."""
        return self.expert_nouns | self.researcher_nouns | self.lay_nouns | self.other_person_nouns


@dataclass(frozen=True)
class EvidenceRules:
    """The data of the rules: word lists, regulator names, token patterns by evidence kind.

    Raises ValueError when a word list is missing or unknown, or a pattern key is neither an
    evidence kind nor one of the two halves of a regulatory warning.
    """

    words: WordLists
    regulator_names: tuple[str, ...]
    patterns: Mapping[str, list[list[dict]]]
    description: str = ""

    @classmethod
    def from_dict(cls, data: Mapping) -> EvidenceRules:
        names = {f.name for f in fields(WordLists)}
        given = set(data["words"])
        if given != names:
            raise ValueError(
                f"evidence word lists: missing {sorted(names - given)}, "
                f"unknown {sorted(given - names)}"
            )
        unknown = set(data["patterns"]) - set(EVIDENCE_KINDS) - set(_PARTS)
        if unknown:
            raise ValueError(f"evidence patterns for unknown kinds: {sorted(unknown)}")
        return cls(
            words=WordLists(**{name: frozenset(data["words"][name]) for name in names}),
            regulator_names=tuple(data["regulator_names"]),
            patterns=dict(data["patterns"]),
            description=data.get("description", ""),
        )

    @classmethod
    def read(cls, path: Path) -> EvidenceRules:
        """The rules of a JSON file written by `write`."""
        with open(path, encoding="utf-8") as handle:
            return cls.from_dict(json.load(handle))

    def write(self, path: Path) -> None:
        words = {f.name: sorted(getattr(self.words, f.name)) for f in fields(WordLists)}
        data = {
            "description": self.description,
            "words": words,
            "regulator_names": list(self.regulator_names),
            "patterns": self.patterns,
        }
        with open(path, "w", encoding="utf-8") as handle:
            json.dump(data, handle, indent=1, ensure_ascii=False)
            handle.write("\n")


def _lemma(token: Token) -> str:
    return (token.lemma_ or token.text).lower()


@dataclass(frozen=True)
class _KeyMatcher:
    """The patterns of one key, and the words one of which a span needs for them to match."""

    key: str
    matcher: Matcher
    lower: frozenset[str]
    lemma: frozenset[str]
    text: frozenset[str]

    def could_match(self, lower: set[str], lemma: set[str], text: set[str]) -> bool:
        return not (
            self.lower.isdisjoint(lower)
            and self.lemma.isdisjoint(lemma)
            and self.text.isdisjoint(text)
        )


def _first_words(pattern: list[dict], attr: str) -> set[str]:
    """The values the first token of a pattern must have for `attr` (empty if unconstrained)."""
    value = pattern[0].get(attr)
    if value is None:
        return set()
    return set(value["IN"]) if isinstance(value, dict) else {value}


def _matchers(vocab: Vocab, rules: EvidenceRules) -> tuple[tuple[_KeyMatcher, ...], PhraseMatcher]:
    """The evidence matchers (one per key) and the regulator-name matcher.

    A Matcher's cost grows with its patterns times the tokens, so each key gets its own, run
    only on spans holding one of the first words of its patterns: most sentences cite nothing.
    """
    keyed = []
    for key, patterns in rules.patterns.items():
        matcher = Matcher(vocab)
        matcher.add(key, patterns, greedy="LONGEST")
        words = {attr: set() for attr in ("LOWER", "LEMMA", "TEXT")}
        for pattern in patterns:
            firsts = {attr: _first_words(pattern, attr) for attr in words}
            if not any(firsts.values()):
                raise ValueError(f"a {key!r} pattern needs a word for its first token")
            for attr, found in firsts.items():
                words[attr] |= found
        keyed.append(_KeyMatcher(key, matcher, *(frozenset(words[a]) for a in words)))
    names = PhraseMatcher(vocab, attr="LOWER")
    names.add("_regulator", [Doc(vocab, words=name.split()) for name in rules.regulator_names])
    return tuple(keyed), names


def _first_conjunct(token: Token) -> Token:
    """The first noun of a coordination the token is part of ("trials" in "trials and data")."""
    while token.dep_ == "conj" and token.head.pos_ in ("NOUN", "PROPN") and token.head != token:
        token = token.head
    return token


def _noun_phrase(head: Token) -> Span:
    """The noun phrase headed by `head`, without relative clauses or comma appositions.

    An abbreviation in brackets stays: "The U.S. Food and Drug Administration (FDA)".
    """
    doc = head.doc
    start, end = head.left_edge.i, head.right_edge.i + 1
    for child in head.rights:
        bracketed = child.left_edge.i > 0 and doc[child.left_edge.i - 1].text in "(["
        if child.dep_ in _NP_CUT or (child.dep_ == "appos" and not bracketed):
            end = child.left_edge.i
            break
    while end > head.i + 1 and (
        (doc[end - 1].is_punct and doc[end - 1].text not in ")]")
        or doc[end - 1].is_space
        or doc[end - 1].dep_ == "cc"
    ):
        end -= 1
    while start < head.i and (doc[start].is_punct or doc[start].is_space):
        start += 1
    text = doc[start:end].text
    if text.count("(") > text.count(")") and end < len(doc) and doc[end].text == ")":
        end += 1
    return doc[start:end]


def _cache(doc: Doc, name: str) -> dict:
    """A per-document memo of span results, in `doc.user_data`.

    A claim's sentence and the sentences of its paragraph are asked about once per claim, and
    a sentence often holds several claims.
    """
    return doc.user_data.setdefault(f"claims.evidence.{name}", {})


def _paragraph_neighbours(sentence: Span) -> list[Span]:
    """The sentences before this one in its paragraph, nearest first.

    Headings are left out, and without a paragraph (no layout) there are none.
    """
    if not Span.has_extension("paragraph"):
        return []
    index = sentence._.paragraph
    paragraphs = sentence.doc.spans.get(PARAGRAPHS)
    if index is None or not paragraphs:
        return []
    paragraph = paragraphs[index]
    if not paragraph.start <= sentence.start < paragraph.end:
        return []
    headings = Span.has_extension("is_heading")
    others = [s for s in paragraph.sents if not (headings and s._.is_heading)]
    return [s for s in others if s.end <= sentence.start][::-1]


class EvidenceFinder:
    """Evidence kinds and attribution of spans, by the rules it was built with.

    `evidence_in`, `attribution_in` and `for_sentence` are its public questions; results are
    memoised per document in `doc.user_data`, since a sentence often holds several claims.
    """

    def __init__(self, vocab: Vocab, rules: EvidenceRules, *, entities_key: str = "entities"):
        self.rules = rules
        self.words = rules.words
        self.entities_key = entities_key
        self.matchers, self.names = _matchers(vocab, rules)
        self.regulator_names_lower = tuple(name.lower() for name in rules.regulator_names)

    # -- research that is called for, not cited ----------------------------------------------------

    def is_call_for_research(self, mention: Span) -> bool:
        """True when a research mention ("clinical trials") is wanted, planned or absent, not cited.

        "clinical trials are essential to establish guidelines", "further research is needed",
        "requires rigorous clinical trials", "ongoing trials", "no studies": no evidence.
        """
        sentence = mention.sent
        return self._called_for(
            mention.doc, mention.start, mention.end, sentence.start, sentence.end
        )

    def _called_for(self, doc: Doc, start: int, end: int, low: int, high: int) -> bool:
        """`is_call_for_research` for doc[start:end] inside the bounds [low, high)."""
        if self._called_for_nearby(doc, start, end, low, high):
            return True
        root = doc[start:end].root
        first = _first_conjunct(root)
        # "warrants continued attention and investigation": ask of "attention" too.
        if (
            first is not root
            and low <= first.i < start
            and self._called_for_nearby(doc, first.i, first.i + 1, low, high)
        ):
            return True
        return self._called_for_by_parse(first)

    def _called_for_nearby(self, doc: Doc, start: int, end: int, low: int, high: int) -> bool:
        """`_called_for` from the words around the mention, for when the parse goes wrong."""
        # A premodifier of the mention: "further research", "ongoing clinical trials", "no studies".
        i = start - 1
        while (
            i >= low
            and doc[i].lower_ not in self.words.not_done_modifiers
            and (
                doc[i].pos_ in ("ADJ", "ADV")
                or doc[i].dep_ in ("amod", "compound")
                or doc[i].text == "-"
            )
        ):
            i -= 1
        if i >= low and doc[i].lower_ in self.words.not_done_modifiers:
            quantified = doc[i].lower_ == "few" and i > low and doc[i - 1].lower_ in ("a", "quite")
            if not quantified:
                return True
        # A need governing it from the left: "requires rigorous trials", "the need for more
        # research".
        for token in reversed(doc[max(low, start - 4) : start]):
            if token.is_punct:
                break
            if token.lower_ in self.words.need_words or _lemma(token) in self.words.need_words:
                return True
            if token.pos_ == "VERB":
                break
        # A predicate of need on the right: "trials are essential", "research is needed".
        copula = False
        for token in doc[end : min(high, end + 7)]:
            lemma = _lemma(token)
            if token.is_punct or token.dep_ == "mark" or token.lower_ in ("that", "which", "who"):
                break
            if token.tag_ == "MD":
                if token.lower_ in self.words.future_modals:
                    return True
                continue
            if lemma in ("need", "require", "warrant") or (
                copula and token.lower_ in self.words.need_predicates
            ):
                return True
            if lemma in self.words.copulas:
                copula = True
            elif token.pos_ == "VERB":
                break
        return False

    def _called_for_by_parse(self, token: Token) -> bool:
        """The same questions asked of the parse, for mentions far from their predicate.

        Also research in a future or advised clause: "we will navigate the current research".
        """
        if token.dep_ in ("nsubj", "nsubjpass"):
            predicate = token.head
            if _lemma(predicate) in self.words.need_words:
                return True
            for child in predicate.children:
                if child.dep_ == "aux" and child.lower_ in self.words.future_modals:
                    return True
                if child.dep_ in ("acomp", "attr", "oprd") and (
                    child.lower_ in self.words.need_predicates
                    or any(
                        g.dep_ == "amod" and g.lower_ in self.words.need_predicates
                        for g in child.children
                    )
                ):
                    return True
        elif token.dep_ in ("dobj", "pobj"):
            governor = token.head
            if token.dep_ == "pobj" and governor.dep_ in ("prep", "pcomp"):
                governor = governor.head
            if (
                _lemma(governor) in self.words.need_words
                or governor.lower_ in self.words.need_words
            ):
                return True
            return governor.pos_ == "VERB" and any(
                c.dep_ == "aux" and c.lower_ in self.words.future_modals for c in governor.children
            )
        return False

    def _not_a_trial(self, doc: Doc, start: int, end: int) -> bool:
        """A bare "trial" that is no clinical trial: "trial and error", "a free trial"."""
        if end - start != 1:
            return False
        before = doc[start - 1].lower_ if start > 0 else ""
        after = doc[end : end + 2].text.lower()
        return before in self.words.not_trial_before or after.startswith(
            tuple(self.words.not_trial_after)
        )

    # -- who says it -------------------------------------------------------------------------------

    def _in_entity(self, token: Token) -> bool:
        """True when the token is part of an entity (a substance, a condition ...)."""
        return any(e.start <= token.i < e.end for e in token.doc.spans.get(self.entities_key, ()))

    def _source_class(self, phrase: Span, head: Token, verb: Token | None) -> str | None:
        """What kind of source a noun phrase names: expert, researcher, lay, regulator, person.

        None when it names no person, group or organisation (pronouns, "studies", substances).
        """
        lemma = _lemma(head)
        if head.pos_ == "PRON" or head.lower_ in self.words.not_person_pronouns:
            return None
        if (
            lemma not in self.words.source_nouns
            and lemma.endswith("s")
            and lemma[:-1] in self.words.source_nouns
        ):
            lemma = lemma[:-1]  # a capitalised plural the lemmatizer took for a name: "Scientists"
        if lemma in self.words.expert_nouns:
            return "expert"
        if lemma in self.words.researcher_nouns:
            return "researcher"
        if lemma in self.words.lay_nouns:
            return "lay"
        if lemma == "patient":
            quantified = any(
                c.dep_ in ("det", "amod") and c.lower_ in self.words.quantifiers
                for c in head.children
            )
            return "lay" if quantified else "person"
        if (
            lemma in self.words.regulator_words
            or any(t.text in self.words.regulator_acronyms for t in phrase)
            or any(name in phrase.text.lower() for name in self.regulator_names_lower)
        ):
            return "regulator"
        if lemma in self.words.other_person_nouns:
            return "person"
        if lemma in self.words.collective_nouns:
            for prep in head.children:
                if prep.dep_ == "prep" and prep.lower_ == "of":
                    for member in prep.children:
                        if member.dep_ == "pobj":
                            return self._source_class(phrase, member, verb)
        if head.pos_ == "PROPN" and not self._in_entity(head):
            named = any(c.dep_ == "compound" and c.pos_ == "PROPN" for c in head.children)
            if named or (verb is not None and _lemma(verb) in self.words.speech_verbs):
                # "Dr. John Smith, a psychiatrist at Stanford,": the apposition says what kind.
                for apposition in head.children:
                    if apposition.dep_ == "appos" and _lemma(apposition) in self.words.expert_nouns:
                        return "expert"
                    if (
                        apposition.dep_ == "appos"
                        and _lemma(apposition) in self.words.researcher_nouns
                    ):
                        return "researcher"
                return "person"
        return None

    def _is_advice(self, verb: Token) -> bool:
        """True for a verb that is advice or a purpose, not a statement ("should consider")."""
        return any(
            c.dep_ == "aux" and (c.lower_ in self.words.advice_modals or c.tag_ == "TO")
            for c in verb.children
        )

    def _reporting_verb(self, subject: Token) -> Token | None:
        """The reporting verb that `subject` is the subject of, if any.

        Besides the plain case, it looks through the parser's known slips: "has issued warnings"
        parsed with "has" as the verb and "issued" as an adjective, "continue to warn", and a verb
        coordinated with the subject's verb ("reviewed the data and warned").
        """
        doc = subject.doc
        head = subject.head
        if self._is_advice(head):
            return None
        candidates = [head]
        if head.pos_ == "AUX":
            following = head.i + 1
            while following < len(doc) and doc[following].pos_ in ("ADV", "PART", "AUX"):
                following += 1
            if following < len(doc):
                candidates.append(doc[following])
        for child in head.children:
            raised = child.dep_ == "xcomp" and _lemma(head) in self.words.raising_verbs
            coordinated = (
                child.dep_ == "conj"
                and child.pos_ == "VERB"
                and not any(g.dep_ in ("nsubj", "nsubjpass") for g in child.children)
            )
            if raised or coordinated:
                candidates.append(child)
        for verb in candidates:
            if verb.pos_ not in ("VERB", "AUX") or _lemma(verb) not in self.words.reporting_verbs:
                continue
            if verb is not head and verb.dep_ != "xcomp" and self._is_advice(verb):
                continue
            if _lemma(verb) == "issue" and not self._issues_statement(verb):
                continue
            return verb
        return None

    def _next_reporting_verb(self, token: Token, limit: int) -> Token | None:
        """A reporting verb right after a noun the parser did not make its subject.

        "Scientists warn that ..." is parsed with "Scientists" as a compound of "warn" and
        "Doctors recommend avoiding ..." with "recommend" as an auxiliary: the words still say who.
        The verb comes before `limit` (the end of the span).
        """
        doc = token.doc
        following = token.i + 1
        if following < limit and doc[following].pos_ in ("NOUN", "PROPN"):
            return None  # not the last word of its noun phrase
        while following < limit and doc[following].pos_ in ("ADV", "AUX", "PART"):
            if doc[following].lower_ in self.words.advice_modals or doc[following].lower_ in (
                "to",
                "not",
            ):
                return None
            following += 1
        if following >= limit:
            return None
        verb = doc[following]
        if (
            verb.tag_ not in ("VB", "VBP", "VBZ", "VBD", "VBN")
            or _lemma(verb) not in self.words.reporting_verbs
        ):
            return None
        if _lemma(verb) == "issue" and not self._issues_statement(verb):
            return None
        return verb

    def _issues_statement(self, verb: Token) -> bool:
        """True when "issue" issues a warning, advisory, statement ... (also through a misparse)."""
        doc = verb.doc
        nearby = [c for c in verb.children if c.dep_ == "dobj"] + [verb.head]
        nearby += list(doc[verb.i + 1 : min(len(doc), verb.i + 4)])
        return any(_lemma(t) in self.words.issued for t in nearby)

    def _sources(self, span: Span) -> Iterator[tuple[Span, Token | None, str]]:
        """Who makes statements in the span: (noun phrase, reporting verb or None, source class)."""
        doc = span.doc
        for token in span:
            if token.dep_ in _SUBJECTS or (
                token.pos_ in ("NOUN", "PROPN") and token.dep_ not in _NOT_SUBJECTS
            ):
                verb = self._reporting_verb(token) if token.dep_ in _SUBJECTS else None
                if verb is None:
                    verb = self._next_reporting_verb(token, span.end)
                if verb is None:
                    continue
                subject = token
                if _lemma(subject) in self.words.inanimate_sources:
                    # "a study by researchers at Yale found": the researchers say it.
                    subject = next(
                        (
                            g
                            for c in token.children
                            if c.dep_ == "prep" and c.lower_ in ("by", "from")
                            for g in c.children
                            if g.dep_ == "pobj"
                        ),
                        None,
                    )
                    if subject is None:
                        continue
                phrase = _noun_phrase(subject)
                kind = self._source_class(phrase, subject, verb)
                if kind is None:
                    continue
                clausal = any(c.dep_ in _CLAUSAL for c in verb.children) or (
                    verb.i + 1 < len(doc) and doc[verb.i + 1].lower_ == "that"
                )
                if (
                    _lemma(verb) in self.words.weak_verbs
                    and not clausal
                    and kind in ("lay", "person")
                ):
                    continue
                yield phrase, verb, kind
            elif token.dep_ == "agent" and _lemma(token.head) in self.words.reporting_verbs:
                for agent in token.children:
                    if agent.dep_ == "pobj":
                        phrase = _noun_phrase(agent)
                        kind = self._source_class(phrase, agent, token.head)
                        if kind is not None:
                            yield phrase, token.head, kind
            elif (
                token.lower_ == "according"
                and token.i + 1 < span.end
                and doc[token.i + 1].lower_ == "to"
            ):
                yield from self._according_to(doc[token.i + 1])

    def _according_to(self, to: Token) -> Iterator[tuple[Span, Token | None, str]]:
        """ "according to X": X, unless X is a pronoun or a study (then it is evidence)."""
        source = next((c for c in to.children if c.dep_ == "pobj"), None)
        if source is None:
            source = next(
                (t for t in to.doc[to.i + 1 : to.i + 6] if t.pos_ in ("NOUN", "PROPN")), None
            )
        if (
            source is None
            or source.pos_ == "PRON"
            or _lemma(source) in self.words.inanimate_sources
        ):
            return
        phrase = _noun_phrase(source)
        yield phrase, None, self._source_class(phrase, source, None) or "person"

    def attribution_in(self, span: Span) -> Span | None:
        """The noun phrase naming who makes the statement in `span` (the first in text order).

        The subject of a reporting or stance verb when it names a person, group or organisation
        ("the FDA has flagged", "researchers have found", "some individuals report"), the agent of
        a passive one ("banned by the DEA"), or X in "according to X".
        """
        found = self._attribution(span)
        return None if found is None else span.doc[found[0] : found[1]]

    def source_class_of(self, phrase: Span) -> str | None:
        """The source class (expert, researcher, lay, regulator, person) of a phrase that
        `attribution_in` returned, else None."""
        for found in _cache(phrase.doc, "attribution").values():
            if found is not None and found[:2] == (phrase.start, phrase.end):
                return found[2]
        return None

    def _attribution(self, span: Span) -> tuple[int, int, str] | None:
        """`attribution_in` as (start, end, source class), memoised per document."""
        cache = _cache(span.doc, "attribution")
        bounds = (span.start, span.end)
        if bounds not in cache:
            first = next(iter(self._sources(span)), None)
            cache[bounds] = None if first is None else (first[0].start, first[0].end, first[2])
        return cache[bounds]

    # -- what it rests on --------------------------------------------------------------------------

    def _source_evidence(self, kind: str, verb: Token | None) -> str | None:
        """The evidence kind a source gives: experts' opinion, users' anecdotes ..."""
        lemma = _lemma(verb) if verb is not None else None
        if kind == "expert":
            return "expert opinion"
        if kind == "lay" and (lemma is None or lemma in self.words.lay_report_verbs):
            return "anecdotal"
        if kind == "researcher":
            # Researchers find things (research); when they warn or advise, it is their opinion.
            return (
                _RESEARCH
                if lemma is None or lemma in self.words.finding_verbs
                else "expert opinion"
            )
        if (
            kind == "regulator"
            and lemma is not None
            and (lemma in self.words.warning_words or lemma == "issue")
        ):
            return _REGULATORY
        return None

    def _has_been_studied(self, token: Token) -> bool:
        """A study verb in a completed passive: "kratom has been studied", not "is being"."""
        if token.pos_ != "VERB" or _lemma(token) not in self.words.study_verbs:
            return False
        children = list(token.children)
        return (
            any(c.dep_ == "auxpass" for c in children)
            and not any(
                c.lower_ == "being" or c.lower_ in self.words.future_modals for c in children
            )
            and not self._is_advice(token)
        )

    def evidence_in(self, span: Span) -> list[str]:
        """The kinds of evidence (from `EVIDENCE_KINDS`) cited in the span, unique, in text order.

        Generic "research" only when nothing more specific is cited; research that is called for
        ("clinical trials are essential", "further research is needed") is not cited.
        """
        cache = _cache(span.doc, "kinds")
        bounds = (span.start, span.end)
        if bounds not in cache:
            cache[bounds] = tuple(self._evidence_in(span))
        return list(cache[bounds])

    def _evidence_in(self, span: Span) -> list[str]:
        """`evidence_in`, not memoised."""
        doc = span.doc
        matchers, names = self.matchers, self.names
        found: dict[str, int] = {}
        regulator_at: int | None = None
        warning_at: int | None = None
        lower = {t.lower_ for t in span}
        lemma = {t.lemma_ for t in span}
        text = {t.text for t in span}
        matches = [
            (matcher.key, span.start + match_start, span.start + match_end)
            for matcher in matchers
            if matcher.could_match(lower, lemma, text)
            for _, match_start, match_end in matcher.matcher(span)
        ]
        for key, start, end in matches:
            if key == "_regulator":
                regulator_at = start if regulator_at is None else min(regulator_at, start)
                continue
            if key == "_warning":
                warning_at = start if warning_at is None else min(warning_at, start)
                continue
            if key == "clinical trial" and self._not_a_trial(doc, start, end):
                continue
            if key in _CALL_CHECKED and self._called_for(doc, start, end, span.start, span.end):
                continue
            found[key] = min(found.get(key, start), start)
        for _, match_start, _ in names(span):
            start = span.start + match_start
            regulator_at = start if regulator_at is None else min(regulator_at, start)
        if regulator_at is not None and warning_at is not None:
            start = min(regulator_at, warning_at)
            found[_REGULATORY] = min(found.get(_REGULATORY, start), start)
        for phrase, verb, kind in self._sources(span):
            evidence = self._source_evidence(kind, verb)
            if evidence is not None:
                found[evidence] = min(found.get(evidence, phrase.start), phrase.start)
        if _RESEARCH not in found:
            studied = next((t.i for t in span if self._has_been_studied(t)), None)
            if studied is not None:
                found[_RESEARCH] = studied
        if _RESEARCH in found and not _STUDY_KINDS.isdisjoint(found):
            del found[_RESEARCH]
        return sorted(found, key=lambda kind: (found[kind], _KIND_ORDER[kind]))

    # -- a claim's sentence and its paragraph ------------------------------------------------------

    def for_sentence(self, sentence: Span) -> tuple[list[str], Span | None]:
        """Evidence and attribution for a claim in `sentence`.

        The sentence's own first; when it gives none, the nearest sentence of the same paragraph
        that gives some, looking back only (a study or source named later speaks about what
        follows it), never crossing the paragraph and never from a heading. Evidence and
        attribution fall back independently.
        """
        evidence = self.evidence_in(sentence)
        attribution = self.attribution_in(sentence)
        if evidence and attribution is not None:
            return evidence, attribution
        for other in _paragraph_neighbours(sentence):
            if not evidence:
                evidence = self.evidence_in(other)
            if attribution is None:
                attribution = self.attribution_in(other)
            if evidence and attribution is not None:
                break
        return evidence, attribution


def study_designs(kinds: Iterable[str]) -> list[str]:
    """The designs (`STUDY_DESIGNS`) of evidence kinds, unique, strongest first; "research"
    only when no named study design (review, trial, observational, animal, in vitro) is
    cited: lay reports and warnings are no study."""
    found = {DESIGN_OF_KIND[kind] for kind in kinds if kind in DESIGN_OF_KIND}
    if found & set(STUDY_DESIGNS[:5]):
        found.discard("research")
    return sorted(found, key=_DESIGN_RANK.__getitem__)


def strongest_design(designs: Iterable[str]) -> str | None:
    """The design highest in `STUDY_DESIGNS` order, else None."""
    return min(designs, key=_DESIGN_RANK.__getitem__, default=None)


@Language.factory(
    "claims_evidence",
    default_config={"entities_key": "entities", "attributions_key": "attributions"},
)
def make_evidence(
    nlp: Language, name: str, entities_key: str, attributions_key: str
) -> EvidenceAnnotator:
    return EvidenceAnnotator(
        nlp, name, entities_key=entities_key, attributions_key=attributions_key
    )


if not Doc.has_extension("study_designs"):
    Doc.set_extension("study_designs", default=None)


class EvidenceAnnotator:
    """Pipeline component: each claim's `study_design`, `preliminary`, `attribution` and
    `attribution_class`; `doc._.study_designs`, the designs the whole article cites (computed
    when the article has claims, else empty).

    Runs after `claims_extractor`. Attribution phrases of claim sentences also go to
    `doc.spans[attributions_key]`, labelled with their source class (expert, researcher, lay,
    regulator, person), one span per phrase.
    """

    def __init__(
        self, nlp: Language, name: str, *, entities_key: str, attributions_key: str
    ) -> None:
        self.name = name
        self.vocab = nlp.vocab
        self.entities_key = entities_key
        self.attributions_key = attributions_key
        self.set_rules(EvidenceRules.read(DEFAULT_DATA))

    def set_rules(self, rules: EvidenceRules) -> None:
        self.finder = EvidenceFinder(self.vocab, rules, entities_key=self.entities_key)

    def __call__(self, doc: Doc) -> Doc:
        claims = doc._.claims if Doc.has_extension("claims") else None
        attributions: dict[tuple[int, int], Span] = {}
        for claim in claims or ():
            kinds, attribution = self.finder.for_sentence(claim.sentence)
            claim.study_design = study_designs(kinds)
            claim.preliminary = PRELIMINARY in kinds
            claim.attribution = attribution
            if attribution is not None:
                bounds = (attribution.start, attribution.end)
                if bounds not in attributions:
                    kind = self.finder.source_class_of(attribution)
                    attributions[bounds] = Span(doc, *bounds, label=kind or "person")
                claim.attribution_class = attributions[bounds].label_
        doc.spans[self.attributions_key] = sorted(attributions.values())
        doc._.study_designs = self.article_designs(doc) if claims else []
        return doc

    def article_designs(self, doc: Doc) -> list[str]:
        """The designs cited anywhere in the article's prose and list items, strongest first."""
        kinds: set[str] = set()
        for sentence in doc.sents:
            kind = sentence._.kind if Span.has_extension("kind") else "prose"
            if kind in ("prose", "list_item", "heading"):
                kinds.update(self.finder.evidence_in(sentence))
        return study_designs(kinds)

    def initialize(self, get_examples=None, *, nlp=None, data_path=None) -> None:
        """Read the rules from `data_path` (`[initialize.components]`), else the package's."""
        self.set_rules(EvidenceRules.read(Path(data_path) if data_path else DEFAULT_DATA))

    def to_disk(self, path, *, exclude=()) -> None:
        path = Path(path)
        path.mkdir(parents=True, exist_ok=True)
        self.finder.rules.write(path / DATA_FILE)

    def from_disk(self, path, *, exclude=()) -> EvidenceAnnotator:
        self.set_rules(EvidenceRules.read(Path(path) / DATA_FILE))
        return self
