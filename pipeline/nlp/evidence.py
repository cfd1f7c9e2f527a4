"""Evidence and attribution: what a claim rests on and who makes it.

A claim is only as good as its support. Like INDRA's epistemics for each statement, every
extracted claim carries two facts about its sentence: the kinds of evidence the text cites
("preliminary studies", "in mice", "a randomized controlled trial", "the FDA has issued
warnings") and who says it (the subject of a reporting verb, "the FDA has flagged ...",
"researchers have found ...", or "according to X"). When the sentence itself gives neither,
the sentence's paragraph often does ("Researchers ran a trial of psilocybin. Psilocybin
reduced symptoms."), so `for_sentence` falls back to the other sentences of the paragraph.

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

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from functools import lru_cache

from spacy.matcher import Matcher, PhraseMatcher
from spacy.tokens import Doc, Span, Token
from spacy.vocab import Vocab


def _words(text: str) -> frozenset[str]:
    """A word list written as whitespace-separated words."""
    return frozenset(text.split())


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
# Kinds more specific than generic "research": any of them drops "research".
_STUDY_KINDS = frozenset(EVIDENCE_KINDS[:7])
_KIND_ORDER = {kind: rank for rank, kind in enumerate(EVIDENCE_KINDS)}
_RESEARCH = "research"
_REGULATORY = "regulatory warning"

# -- word lists --------------------------------------------------------------------------------

# Research nouns of the generic "research" kind.
RESEARCH_NOUNS = _words("research study experiment investigation finding literature")
# Their forms: a capitalised "Research" may come out as a name with the lemma "Research".
RESEARCH_FORMS = RESEARCH_NOUNS | _words("studies experiments investigations findings")
# Nouns that follow "preliminary", "early", "pilot" ... in preliminary research.
PRELIMINARY_NOUNS = _words(
    """
    study research finding result evidence data trial investigation work report experiment
    observation analysis test testing
    """
)
PRELIMINARY_WORDS = _words(
    "preliminary early initial pilot emerging exploratory early-stage early-phase"
)
# "early morning", "early onset": times and stages of life, not of research.
_NOT_RESEARCH_TIME = _words(
    "morning evening night afternoon day week hour childhood life pregnancy onset adolescence age"
)
# Verbs by which research reports a result ("studies show", "evidence suggests").
SHOW_VERBS = _words(
    """
    show suggest indicate find demonstrate reveal report link associate support confirm point
    conclude observe
    """
)
# Verbs and nouns that govern research which is wanted, not done ("requires trials").
NEED_WORDS = _words(
    """
    need require warrant lack absence await call necessitate demand merit deserve paucity
    dearth scarcity shortage without
    """
)
# Predicates of research that is wanted, not done ("trials are essential / needed / underway").
NEED_PREDICATES = _words(
    """
    needed necessary required essential crucial warranted vital important lacking scarce
    sparse limited missing underway ongoing planned imperative critical
    """
)
# Modifiers of research that is not (yet) done ("further research", "no studies").
NOT_DONE_MODIFIERS = _words(
    "further more additional future ongoing upcoming planned larger continued longer no few"
)
FUTURE_MODALS = _words("should must will would shall need ought")
# Copulas by lemma; the lemmatizer leaves some forms as they are ("are" -> "are").
_COPULAS = _words("be is are was were been being remain seem appear")

# People and organisations, by what their word says about the evidence.
EXPERT_NOUNS = _words(
    """
    expert doctor physician clinician psychiatrist psychologist pharmacologist toxicologist
    specialist professional practitioner pharmacist nurse therapist neurologist provider
    """
)
RESEARCHER_NOUNS = _words("researcher scientist investigator author team")
LAY_NOUNS = _words(
    "individual people person user consumer customer enthusiast advocate proponent anecdote"
)
# Patients count as lay reporters only when quantified ("some patients report").
QUANTIFIERS = _words("some many several numerous countless most few certain")
OTHER_PERSON_NOUNS = _words(
    """
    patient participant official spokesperson spokesman spokeswoman representative critic
    opponent supporter government organization organisation agency authority administration
    regulator ministry department committee panel board council institute association society
    college academy university center centre manufacturer company vendor
    """
)
# Health authorities, by acronym (case-sensitive: "WHO", not "who") or word.
REGULATOR_ACRONYMS = _words(
    "FDA EMA DEA CDC WHO MHRA TGA NICE SAMHSA NIDA NIH HHS FTC EFSA USDA ANVISA"
)
REGULATOR_WORDS = _words("regulator authority agency official")
REGULATOR_NAMES = (
    "Food and Drug Administration",
    "Drug Enforcement Administration",
    "European Medicines Agency",
    "Centers for Disease Control",
    "World Health Organization",
    "Health Canada",
    "National Institutes of Health",
    "National Institute on Drug Abuse",
    "Therapeutic Goods Administration",
    "Medicines and Healthcare products Regulatory Agency",
    "Department of Health",
)
WARNING_WORDS = _words(
    """
    warn warning flag ban recall advisory alert caution prohibit restrict restriction seize
    crackdown outlaw schedule
    """
)
# Who can make a statement (a source of attribution).
SOURCE_NOUNS = EXPERT_NOUNS | RESEARCHER_NOUNS | LAY_NOUNS | OTHER_PERSON_NOUNS

# Reporting and stance verbs whose subject is the one making the statement.
REPORTING_VERBS = _words(
    """
    say warn report claim suggest believe state note find show flag issue caution recommend
    advise argue conclude indicate think approve ban announce consider explain add tell write
    emphasize emphasise stress urge agree observe discover demonstrate estimate predict propose
    hypothesize acknowledge describe schedule classify list label designate recall prohibit
    restrict grant confirm maintain insist assert attest swear testify share publish reveal
    """
)
# Verbs that take a person subject without reporting anything unless they have a clausal
# complement or an expert subject ("patients showed improvement", "users find relief").
WEAK_VERBS = _words("find show consider note indicate think believe list")
# Verbs that only speech takes: a single capitalised subject is then a name.
SPEECH_VERBS = _words("say tell explain add write note argue warn state claim announce")
# What "issue" must issue to report something.
ISSUED = _words(
    """
    warning advisory alert statement guidance recommendation caution notice report letter
    ban recall guideline
    """
)
# Verbs a subject passes through to a reporting verb ("experts continue to warn").
RAISING_VERBS = _words("continue begin start go seem appear tend")
LAY_REPORT_VERBS = _words(
    """
    report claim say describe swear share attest testify find believe feel notice mention
    credit
    """
)
# The same, said outright: what a word matcher may take without the parse.
LAY_SPEECH_VERBS = _words("report claim say describe swear share attest testify mention credit")
# What experts do when they give an opinion.
EXPERT_STANCE_VERBS = _words(
    "say recommend advise warn caution believe agree argue urge emphasize stress think state note"
)
FINDING_VERBS = _words(
    """
    find show report observe discover demonstrate conclude note suggest say state publish
    estimate reveal confirm
    """
)
# Verbs that study a substance: "kratom has been studied" is research.
STUDY_VERBS = _words("study investigate test examine evaluate research trial")
# Objects of "according to" that are evidence, not sources.
INANIMATE_SOURCES = _words(
    """
    study research result data evidence finding trial review analysis report survey experiment
    literature paper article label guideline
    """
)
NOT_PERSON_PRONOUNS = _words("i we you it this that these those they some many one he she")
_SUBJECTS = ("nsubj",)
_CLAUSAL = ("ccomp", "xcomp", "oprd")
_NP_CUT = ("relcl", "acl", "advcl")
# Nouns in these relations are not subjects even when a verb follows them.
_NOT_SUBJECTS = ("pobj", "dobj", "poss", "appos", "attr", "nsubjpass")


def _lemma(token: Token) -> str:
    return (token.lemma_ or token.text).lower()


# -- matcher -------------------------------------------------------------------------------


def _lower(words: str | Iterable[str], **more: object) -> dict:
    """A token pattern: the lowercased word is one of `words` (a string is split)."""
    listed = words.split() if isinstance(words, str) else words
    return {"LOWER": {"IN": sorted(listed)}, **more}


def _lemmas(words: str | Iterable[str], **more: object) -> dict:
    """A token pattern: the lemma is one of `words` (a string is split)."""
    listed = words.split() if isinstance(words, str) else words
    return {"LEMMA": {"IN": sorted(listed)}, **more}


_NOUN = {"POS": {"IN": ["NOUN", "PROPN"]}}
# Auxiliaries and adverbs between a subject and its verb, but not advice ("should say").
_AUX_NOT_ADVICE = {"POS": {"IN": ["AUX", "ADV", "PART"]}, "LOWER": {"NOT_IN": ["should", "must"]}}
_HYPHEN = {"ORTH": "-"}

PATTERNS: dict[str, list[list[dict]]] = {
    "anecdotal": [
        [_lower("anecdotal anecdotally anecdote anecdotes testimonial testimonials")],
        [_lower("self-reported self-reports")],
        [
            _lower("personal user consumer patient online"),
            _lemmas("account story testimony review"),
        ],
        [_lower("user consumer"), _lemmas("report experience")],
        [{"LOWER": "word"}, {"LOWER": "of"}, {"LOWER": "mouth"}],
        # "some individuals report", "many users claim"
        [
            _lower(QUANTIFIERS),
            {"POS": "ADJ", "OP": "?"},
            _lemmas(LAY_NOUNS | {"patient"}),
            {**_AUX_NOT_ADVICE, "OP": "*"},
            _lemmas(LAY_SPEECH_VERBS),
        ],
        [_lemmas("user consumer"), {**_AUX_NOT_ADVICE, "OP": "*"}, _lemmas(LAY_SPEECH_VERBS)],
    ],
    "preliminary research": [
        # "preliminary studies", "early clinical trials", "initial findings", "pilot study"
        [
            _lower(PRELIMINARY_WORDS),
            {
                "POS": {"IN": ["ADJ", "NOUN", "VERB"]},
                "OP": "{0,2}",
                "LOWER": {"NOT_IN": sorted(_NOT_RESEARCH_TIME)},
            },
            _lemmas(PRELIMINARY_NOUNS, **_NOUN),
        ],
        [{"LOWER": "experimental"}, _lower("stage stages phase phases")],
        [
            _lower("early initial preliminary"),
            _lower("stage stages phase phases"),
            {"LOWER": "of"},
            _lemmas("research study investigation testing trial"),
        ],
    ],
    "animal study": [
        [_lower("mice rats rodents preclinical pre-clinical")],
        [
            _lower("animal mouse rat rodent murine primate"),
            _lemmas("model study research experiment data trial test"),
        ],
        [{"LOWER": "in"}, _lower("animals monkeys primates dogs pigs rabbits zebrafish")],
    ],
    "in vitro study": [
        [{"LOWER": "in"}, {"LOWER": "vitro"}],
        [{"LOWER": "ex"}, {"LOWER": "vivo"}],
        [_lower("in-vitro invitro ex-vivo")],
        [{"LEMMA": "cell"}, _lemmas("culture line")],
        [{"LOWER": "cultured"}, _lemmas("cell neuron tissue")],
        [{"LOWER": "test"}, _lower("tube tubes")],
        [{"LOWER": "petri"}, _lower("dish dishes")],
    ],
    "observational study": [
        [_lower("cohort observational epidemiological epidemiologic cross-sectional case-control")],
        [{"LOWER": "case"}, _HYPHEN, {"LOWER": "control"}],
        [{"LOWER": "cross"}, _HYPHEN, {"LOWER": "sectional"}],
        # "prospective study", not "prospective users"
        [
            _lower("prospective retrospective longitudinal population-based"),
            {"POS": {"IN": ["ADJ", "NOUN"]}, "OP": "{0,2}"},
            _lemmas("study analysis data research cohort survey"),
        ],
        [_lemmas("survey registry", POS="NOUN")],
        [
            {"LOWER": "real"},
            {**_HYPHEN, "OP": "?"},
            {"LOWER": "world"},
            _lemmas("data evidence study"),
        ],
        [{"LOWER": "real-world"}, _lemmas("data evidence study")],
    ],
    "clinical trial": [
        [{"LOWER": "clinical"}, _lemmas("trial study")],
        [
            _lower("randomized randomised double-blind double-blinded placebo-controlled"),
            {"POS": {"IN": ["ADJ", "VERB", "NOUN", "PUNCT"]}, "OP": "{0,4}"},
            _lemmas("trial study experiment"),
        ],
        [_lower("placebo-controlled double-blind double-blinded rct rcts")],
        [{"LOWER": "placebo"}, _HYPHEN, {"LOWER": "controlled"}],
        [{"LOWER": "double"}, _HYPHEN, _lower("blind blinded")],
        [{"LOWER": "phase"}, _lower("1 2 3 4 i ii iii iv 1/2 2/3 2a 2b i/ii ii/iii iia iib")],
        # a bare "trial" ("trial and error" and "free trial" are dropped after matching)
        [{"LEMMA": "trial", **_NOUN}],
    ],
    "review / meta-analysis": [
        [_lower("meta-analysis meta-analyses metaanalysis metaanalyses meta-analytic")],
        [{"LOWER": "meta"}, {**_HYPHEN, "OP": "?"}, _lower("analysis analyses")],
        [
            _lower("systematic umbrella cochrane literature scoping narrative"),
            {"LEMMA": "review", "POS": "NOUN"},
        ],
        # "a review of 20 studies"
        [
            {"LEMMA": "review", "POS": "NOUN"},
            {"LOWER": "of"},
            {"POS": {"IN": ["DET", "ADJ", "NUM", "VERB"]}, "OP": "{0,3}"},
            _lemmas("study trial research literature evidence data"),
        ],
        [{"LOWER": "pooled"}, {"LEMMA": "analysis"}],
    ],
    "case report": [
        [{"LOWER": "case"}, _lemmas("report study series")],
        [_lower("case-report case-reports")],
    ],
    "expert opinion": [
        [
            {"LEMMA": "expert"},
            _lemmas("opinion consensus panel advice recommendation testimony view guidance"),
        ],
        [
            {"LOWER": "according"},
            {"LOWER": "to"},
            {"POS": {"IN": ["DET", "ADJ", "NOUN"]}, "OP": "{0,3}"},
            _lemmas(EXPERT_NOUNS),
        ],
        # "experts say", "doctors recommend" (the parser often misses these subjects)
        [
            _lemmas(EXPERT_NOUNS, POS="NOUN"),
            {**_AUX_NOT_ADVICE, "OP": "*"},
            _lemmas(EXPERT_STANCE_VERBS, POS="VERB"),
        ],
    ],
    # Generic research: research nouns; evidence and data only when they show something.
    _RESEARCH: [
        [_lower(RESEARCH_FORMS, **_NOUN)],
        [_lower("scientific clinical empirical experimental"), _lemmas("evidence literature data")],
        [
            _lemmas("evidence data"),
            {"POS": {"IN": ["AUX", "ADV", "PART"]}, "OP": "*"},
            _lemmas(SHOW_VERBS, POS="VERB"),
        ],
    ],
    # Named warnings, with or without their authority.
    _REGULATORY: [
        [_lower("black boxed"), {"LOWER": "box", "OP": "?"}, {"LEMMA": "warning"}],
        [
            _lower("health safety import public"),
            {"LOWER": "health", "OP": "?"},
            _lemmas("advisory alert warning"),
        ],
        [{"LOWER": "schedule"}, _lower("i ii 1 2")],
    ],
    # The two halves of a regulatory warning, which must meet in one span.
    "_regulator": [
        [{"TEXT": {"IN": sorted(REGULATOR_ACRONYMS)}}],
        [_lemmas(REGULATOR_WORDS, POS="NOUN")],
        [
            _lower("health regulatory government federal state"),
            _lemmas("authority agency official regulator"),
        ],
    ],
    "_warning": [
        [_lemmas(WARNING_WORDS - {"schedule"})],
        [{"LEMMA": "schedule", "POS": "VERB"}],
    ],
}


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


@lru_cache(maxsize=8)
def _matchers(vocab: Vocab) -> tuple[tuple[_KeyMatcher, ...], PhraseMatcher]:
    """The evidence matchers (one per key) and the regulator-name matcher, built once per vocab.

    A Matcher's cost grows with its patterns times the tokens, so each key gets its own, run
    only on spans holding one of the first words of its patterns: most sentences cite nothing.
    """
    keyed = []
    for key, patterns in PATTERNS.items():
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
    names.add("_regulator", [Doc(vocab, words=name.split()) for name in REGULATOR_NAMES])
    return tuple(keyed), names


# Kinds whose mentions are research that may be called for rather than cited.
_CALL_CHECKED = _STUDY_KINDS | {_RESEARCH}
_REGULATOR_NAMES_LOWER = tuple(name.lower() for name in REGULATOR_NAMES)


# -- research that is called for, not cited -----------------------------------------------------


def is_call_for_research(mention: Span) -> bool:
    """True when a research mention ("clinical trials") is wanted, planned or absent, not cited.

    "clinical trials are essential to establish guidelines", "further research is needed",
    "requires rigorous clinical trials", "ongoing trials", "no studies": no evidence.
    """
    sentence = mention.sent
    return _called_for(mention.doc, mention.start, mention.end, sentence.start, sentence.end)


def _called_for(doc: Doc, start: int, end: int, low: int, high: int) -> bool:
    """`is_call_for_research` for doc[start:end] inside the bounds [low, high)."""
    if _called_for_nearby(doc, start, end, low, high):
        return True
    root = doc[start:end].root
    first = _first_conjunct(root)
    # "warrants continued attention and investigation": ask of "attention" too.
    if (
        first is not root
        and low <= first.i < start
        and _called_for_nearby(doc, first.i, first.i + 1, low, high)
    ):
        return True
    return _called_for_by_parse(first)


def _first_conjunct(token: Token) -> Token:
    """The first noun of a coordination the token is part of ("trials" in "trials and data")."""
    while token.dep_ == "conj" and token.head.pos_ in ("NOUN", "PROPN") and token.head != token:
        token = token.head
    return token


def _called_for_nearby(doc: Doc, start: int, end: int, low: int, high: int) -> bool:
    """`_called_for` from the words around the mention, for when the parse goes wrong."""
    # A premodifier of the mention: "further research", "ongoing clinical trials", "no studies".
    i = start - 1
    while (
        i >= low
        and doc[i].lower_ not in NOT_DONE_MODIFIERS
        and (
            doc[i].pos_ in ("ADJ", "ADV")
            or doc[i].dep_ in ("amod", "compound")
            or doc[i].text == "-"
        )
    ):
        i -= 1
    if i >= low and doc[i].lower_ in NOT_DONE_MODIFIERS:
        quantified = doc[i].lower_ == "few" and i > low and doc[i - 1].lower_ in ("a", "quite")
        if not quantified:
            return True
    # A need governing it from the left: "requires rigorous trials", "the need for more research".
    for token in reversed(doc[max(low, start - 4) : start]):
        if token.is_punct:
            break
        if token.lower_ in NEED_WORDS or _lemma(token) in NEED_WORDS:
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
            if token.lower_ in FUTURE_MODALS:
                return True
            continue
        if lemma in ("need", "require", "warrant") or (copula and token.lower_ in NEED_PREDICATES):
            return True
        if lemma in _COPULAS:
            copula = True
        elif token.pos_ == "VERB":
            break
    return False


def _called_for_by_parse(token: Token) -> bool:
    """The same questions asked of the parse, for mentions far from their predicate.

    Also research in a future or advised clause: "we will navigate the current research".
    """
    if token.dep_ in ("nsubj", "nsubjpass"):
        predicate = token.head
        if _lemma(predicate) in NEED_WORDS:
            return True
        for child in predicate.children:
            if child.dep_ == "aux" and child.lower_ in FUTURE_MODALS:
                return True
            if child.dep_ in ("acomp", "attr", "oprd") and (
                child.lower_ in NEED_PREDICATES
                or any(g.dep_ == "amod" and g.lower_ in NEED_PREDICATES for g in child.children)
            ):
                return True
    elif token.dep_ in ("dobj", "pobj"):
        governor = token.head
        if token.dep_ == "pobj" and governor.dep_ in ("prep", "pcomp"):
            governor = governor.head
        if _lemma(governor) in NEED_WORDS or governor.lower_ in NEED_WORDS:
            return True
        return governor.pos_ == "VERB" and any(
            c.dep_ == "aux" and c.lower_ in FUTURE_MODALS for c in governor.children
        )
    return False


def _not_a_trial(doc: Doc, start: int, end: int) -> bool:
    """A bare "trial" that is no clinical trial: "trial and error", "a free trial"."""
    if end - start != 1:
        return False
    before = doc[start - 1].lower_ if start > 0 else ""
    after = doc[end : end + 2].text.lower()
    return before in ("free", "on", "stand") or after.startswith(("and error", "period", "version"))


# -- who says it --------------------------------------------------------------------------------


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


def _in_entity(token: Token) -> bool:
    """True when the token is part of an entity of the pipeline (a substance, a condition ...)."""
    return any(e.start <= token.i < e.end for e in token.doc.spans.get("entities", ()))


def _source_class(phrase: Span, head: Token, verb: Token | None) -> str | None:
    """What kind of source a noun phrase names: expert, researcher, lay, regulator, person.

    None when it names no person, group or organisation (pronouns, "studies", substances).
    """
    lemma = _lemma(head)
    if head.pos_ == "PRON" or head.lower_ in NOT_PERSON_PRONOUNS:
        return None
    if lemma not in SOURCE_NOUNS and lemma.endswith("s") and lemma[:-1] in SOURCE_NOUNS:
        lemma = lemma[:-1]  # a capitalised plural the lemmatizer took for a name: "Scientists"
    if lemma in EXPERT_NOUNS:
        return "expert"
    if lemma in RESEARCHER_NOUNS:
        return "researcher"
    if lemma in LAY_NOUNS:
        return "lay"
    if lemma == "patient":
        quantified = any(
            c.dep_ in ("det", "amod") and c.lower_ in QUANTIFIERS for c in head.children
        )
        return "lay" if quantified else "person"
    if (
        lemma in REGULATOR_WORDS
        or any(t.text in REGULATOR_ACRONYMS for t in phrase)
        or any(name in phrase.text.lower() for name in _REGULATOR_NAMES_LOWER)
    ):
        return "regulator"
    if lemma in OTHER_PERSON_NOUNS:
        return "person"
    if lemma in ("group", "number", "majority", "handful", "panel", "team"):
        for prep in head.children:
            if prep.dep_ == "prep" and prep.lower_ == "of":
                for member in prep.children:
                    if member.dep_ == "pobj":
                        return _source_class(phrase, member, verb)
    if head.pos_ == "PROPN" and not _in_entity(head):
        named = any(c.dep_ == "compound" and c.pos_ == "PROPN" for c in head.children)
        if named or (verb is not None and _lemma(verb) in SPEECH_VERBS):
            # "Dr. John Smith, a psychiatrist at Stanford,": the apposition says what kind.
            for apposition in head.children:
                if apposition.dep_ == "appos" and _lemma(apposition) in EXPERT_NOUNS:
                    return "expert"
                if apposition.dep_ == "appos" and _lemma(apposition) in RESEARCHER_NOUNS:
                    return "researcher"
            return "person"
    return None


def _is_advice(verb: Token) -> bool:
    """True for a verb that is advice or a purpose, not a statement ("should consider")."""
    return any(
        c.dep_ == "aux" and (c.lower_ in ("should", "must", "shall") or c.tag_ == "TO")
        for c in verb.children
    )


def _reporting_verb(subject: Token) -> Token | None:
    """The reporting verb that `subject` is the subject of, if any.

    Besides the plain case, it looks through the parser's known slips: "has issued warnings"
    parsed with "has" as the verb and "issued" as an adjective, "continue to warn", and a verb
    coordinated with the subject's verb ("reviewed the data and warned").
    """
    doc = subject.doc
    head = subject.head
    if _is_advice(head):
        return None
    candidates = [head]
    if head.pos_ == "AUX":
        following = head.i + 1
        while following < len(doc) and doc[following].pos_ in ("ADV", "PART", "AUX"):
            following += 1
        if following < len(doc):
            candidates.append(doc[following])
    for child in head.children:
        raised = child.dep_ == "xcomp" and _lemma(head) in RAISING_VERBS
        coordinated = (
            child.dep_ == "conj"
            and child.pos_ == "VERB"
            and not any(g.dep_ in ("nsubj", "nsubjpass") for g in child.children)
        )
        if raised or coordinated:
            candidates.append(child)
    for verb in candidates:
        if verb.pos_ not in ("VERB", "AUX") or _lemma(verb) not in REPORTING_VERBS:
            continue
        if verb is not head and verb.dep_ != "xcomp" and _is_advice(verb):
            continue
        if _lemma(verb) == "issue" and not _issues_statement(verb):
            continue
        return verb
    return None


def _next_reporting_verb(token: Token, limit: int) -> Token | None:
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
        if doc[following].lower_ in ("should", "must", "shall", "to", "not"):
            return None
        following += 1
    if following >= limit:
        return None
    verb = doc[following]
    if verb.tag_ not in ("VB", "VBP", "VBZ", "VBD", "VBN") or _lemma(verb) not in REPORTING_VERBS:
        return None
    if _lemma(verb) == "issue" and not _issues_statement(verb):
        return None
    return verb


def _issues_statement(verb: Token) -> bool:
    """True when "issue" issues a warning, advisory, statement ... (also through a misparse)."""
    doc = verb.doc
    nearby = [c for c in verb.children if c.dep_ == "dobj"] + [verb.head]
    nearby += list(doc[verb.i + 1 : min(len(doc), verb.i + 4)])
    return any(_lemma(t) in ISSUED for t in nearby)


def _sources(span: Span) -> Iterator[tuple[Span, Token | None, str]]:
    """Who makes statements in the span: (noun phrase, reporting verb or None, source class)."""
    doc = span.doc
    for token in span:
        if token.dep_ in _SUBJECTS or (
            token.pos_ in ("NOUN", "PROPN") and token.dep_ not in _NOT_SUBJECTS
        ):
            verb = _reporting_verb(token) if token.dep_ in _SUBJECTS else None
            if verb is None:
                verb = _next_reporting_verb(token, span.end)
            if verb is None:
                continue
            subject = token
            if _lemma(subject) in INANIMATE_SOURCES:
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
            kind = _source_class(phrase, subject, verb)
            if kind is None:
                continue
            clausal = any(c.dep_ in _CLAUSAL for c in verb.children) or (
                verb.i + 1 < len(doc) and doc[verb.i + 1].lower_ == "that"
            )
            if _lemma(verb) in WEAK_VERBS and not clausal and kind in ("lay", "person"):
                continue
            yield phrase, verb, kind
        elif token.dep_ == "agent" and _lemma(token.head) in REPORTING_VERBS:
            for agent in token.children:
                if agent.dep_ == "pobj":
                    phrase = _noun_phrase(agent)
                    kind = _source_class(phrase, agent, token.head)
                    if kind is not None:
                        yield phrase, token.head, kind
        elif (
            token.lower_ == "according"
            and token.i + 1 < span.end
            and doc[token.i + 1].lower_ == "to"
        ):
            yield from _according_to(doc[token.i + 1])


def _according_to(to: Token) -> Iterator[tuple[Span, Token | None, str]]:
    """ "according to X": X, unless X is a pronoun or a study (then it is evidence)."""
    source = next((c for c in to.children if c.dep_ == "pobj"), None)
    if source is None:
        source = next((t for t in to.doc[to.i + 1 : to.i + 6] if t.pos_ in ("NOUN", "PROPN")), None)
    if source is None or source.pos_ == "PRON" or _lemma(source) in INANIMATE_SOURCES:
        return
    phrase = _noun_phrase(source)
    yield phrase, None, _source_class(phrase, source, None) or "person"


def attribution_in(span: Span) -> Span | None:
    """The noun phrase naming who makes the statement in `span` (the first in text order).

    The subject of a reporting or stance verb when it names a person, group or organisation
    ("the FDA has flagged", "researchers have found", "some individuals report"), the agent of
    a passive one ("banned by the DEA"), or X in "according to X".
    """
    cache = _cache(span.doc, "attribution")
    bounds = (span.start, span.end)
    if bounds not in cache:
        phrase = next((phrase for phrase, _, _ in _sources(span)), None)
        cache[bounds] = None if phrase is None else (phrase.start, phrase.end)
    found = cache[bounds]
    return None if found is None else span.doc[found[0] : found[1]]


def _cache(doc: Doc, name: str) -> dict:
    """A per-document memo of span results, in `doc.user_data`.

    A claim's sentence and the sentences of its paragraph are asked about once per claim, and
    a sentence often holds several claims.
    """
    return doc.user_data.setdefault(f"claims.evidence.{name}", {})


# -- what it rests on ---------------------------------------------------------------------------


def _source_evidence(kind: str, verb: Token | None) -> str | None:
    """The evidence kind a source gives: experts' opinion, users' anecdotes ..."""
    lemma = _lemma(verb) if verb is not None else None
    if kind == "expert":
        return "expert opinion"
    if kind == "lay" and (lemma is None or lemma in LAY_REPORT_VERBS):
        return "anecdotal"
    if kind == "researcher":
        # Researchers find things (research); when they warn or advise, it is their opinion.
        return _RESEARCH if lemma is None or lemma in FINDING_VERBS else "expert opinion"
    if kind == "regulator" and lemma is not None and (lemma in WARNING_WORDS or lemma == "issue"):
        return _REGULATORY
    return None


def _has_been_studied(token: Token) -> bool:
    """A study verb in a completed passive: "kratom has been studied" (not "is being studied")."""
    if token.pos_ != "VERB" or _lemma(token) not in STUDY_VERBS:
        return False
    children = list(token.children)
    return (
        any(c.dep_ == "auxpass" for c in children)
        and not any(c.lower_ == "being" or c.lower_ in FUTURE_MODALS for c in children)
        and not _is_advice(token)
    )


def evidence_in(span: Span) -> list[str]:
    """The kinds of evidence (from `EVIDENCE_KINDS`) cited in the span, unique, in text order.

    Generic "research" only when nothing more specific is cited; research that is called for
    ("clinical trials are essential", "further research is needed") is not cited.
    """
    cache = _cache(span.doc, "kinds")
    bounds = (span.start, span.end)
    if bounds not in cache:
        cache[bounds] = tuple(_evidence_in(span))
    return list(cache[bounds])


def _evidence_in(span: Span) -> list[str]:
    """`evidence_in`, not memoised."""
    doc = span.doc
    matchers, names = _matchers(doc.vocab)
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
        if key == "clinical trial" and _not_a_trial(doc, start, end):
            continue
        if key in _CALL_CHECKED and _called_for(doc, start, end, span.start, span.end):
            continue
        found[key] = min(found.get(key, start), start)
    for _, match_start, _ in names(span):
        start = span.start + match_start
        regulator_at = start if regulator_at is None else min(regulator_at, start)
    if regulator_at is not None and warning_at is not None:
        start = min(regulator_at, warning_at)
        found[_REGULATORY] = min(found.get(_REGULATORY, start), start)
    for phrase, verb, kind in _sources(span):
        evidence = _source_evidence(kind, verb)
        if evidence is not None:
            found[evidence] = min(found.get(evidence, phrase.start), phrase.start)
    if _RESEARCH not in found:
        studied = next((t.i for t in span if _has_been_studied(t)), None)
        if studied is not None:
            found[_RESEARCH] = studied
    if _RESEARCH in found and not _STUDY_KINDS.isdisjoint(found):
        del found[_RESEARCH]
    return sorted(found, key=lambda kind: (found[kind], _KIND_ORDER[kind]))


# -- a claim's sentence and its paragraph -------------------------------------------------------


def _paragraph_neighbours(sentence: Span) -> list[Span]:
    """The sentences before this one in its paragraph, nearest first.

    Headings are left out, and without a paragraph (no layout) there are none.
    """
    if not Span.has_extension("paragraph"):
        return []
    index = sentence._.paragraph
    paragraphs = sentence.doc.spans.get("paragraphs")
    if index is None or not paragraphs:
        return []
    paragraph = paragraphs[index]
    if not paragraph.start <= sentence.start < paragraph.end:
        return []
    headings = Span.has_extension("is_heading")
    others = [s for s in paragraph.sents if not (headings and s._.is_heading)]
    return [s for s in others if s.end <= sentence.start][::-1]


def for_sentence(sentence: Span) -> tuple[list[str], Span | None]:
    """Evidence and attribution for a claim in `sentence`.

    The sentence's own first; when it gives none, the nearest sentence of the same paragraph
    that gives some, looking back only (a study or source named later speaks about what
    follows it), never crossing the paragraph and never from a heading. Evidence and
    attribution fall back independently.
    """
    evidence = evidence_in(sentence)
    attribution = attribution_in(sentence)
    if evidence and attribution is not None:
        return evidence, attribution
    for other in _paragraph_neighbours(sentence):
        if not evidence:
            evidence = evidence_in(other)
        if attribution is None:
            attribution = attribution_in(other)
        if evidence and attribution is not None:
            break
    return evidence, attribution
