"""Hedge and negation cues with their scopes: a trained detector.

Cues land in `doc.spans[hedges_key]` (config; default "hedge_cues"; label: the Szeged type,
epistemic / doxastic / investigation / condition, or weasel) and `doc.spans[negations_key]`
(default "negation_cues"; label "negation"); each cue's scope, the words it governs, is
`cue._.scope` (a Span). The claim extractor calls a claim hedged or negated when a cue's scope
covers the claim's predicate or arguments.

How it works, the way the CoNLL-2010 and *SEM 2012 systems that did best worked:
1. Cue words: a linear classifier over lexical and syntactic features of each token that
   was ever part of a cue in training (most words never are, so most tokens cost a set
   lookup). Adjacent cue tokens that formed a multi-word cue in training ("indicate that",
   "remains to be determined") are joined. A second classifier gives the hedge type.
2. Scope: the candidate scopes of a cue are the spans its dependency ancestors cover, each
   starting at the cue or at the ancestor's left edge; a linear ranker picks one (BioScope
   style for hedges; *SEM style for negation, where the cue itself is not in the scope).
3. A small phrase lexicon (`models/lexicon/hedge_cues.jsonl`) adds web-text cues the corpora
   lack, such as weasel wording ("some studies suggest") and "further research is needed".
   An entry may name conditions (`"when"`, see `PHRASE_CONDITIONS`) its match must meet:
   words that hedge in web prose and not in scientific writing, such as the "could" of past
   ability ("the protein could not be detected") or "potential" as a property ("membrane
   potential"), keep a web entry only in their hedging reading.

The weights are trained by `models/scripts/train_hedges.py` from `../shared/corpora` and
stored in the component's folder, so `spacy.load` gives the whole detector.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from spacy.language import Language
from spacy.matcher import Matcher
from spacy.tokens import Doc, Span, Token
from spacy.util import filter_spans

from pipeline.nlp import gzjson

HEDGE, NEGATION = "hedge", "negation"
# A phrase kind of the phrase lexicon: words that look like cues and are none ("not only")
NOT_A_CUE = "not_a_cue"
# The default `doc.spans` keys of the cues (the component's config may name others).
SPAN_GROUPS = {HEDGE: "hedge_cues", NEGATION: "negation_cues"}
HEDGE_TYPES = ("epistemic", "doxastic", "investigation", "condition", "weasel")
WEIGHTS_FILE = "detector.json.gz"
MAX_SCOPE_LEVELS = 6  # dependency ancestors considered for a scope
_PUNCT = {"PUNCT"}
DICTIONARY = "dictionary"  # English words (spaCy lookups), to tell "un-able" from "under"
# Words that negate by themselves; a cue that is one of them is never affixal.
NEGATORS = frozenset(
    [
        "no",
        "not",
        "n't",
        "never",
        "none",
        "nothing",
        "neither",
        "nor",
        "without",
        "cannot",
        "nobody",
        "nowhere",
        "lack",
        "absence",
    ]
)
_AFFIX = re.compile(r"^(un|dis|non|im|ir|il|in)[a-z]{3,}$|^[a-z]{3,}less(ly|ness)?$")

if not Span.has_extension("scope_bounds"):
    Span.set_extension("scope_bounds", default=None)  # (start, end) token offsets
if not Span.has_extension("scope"):
    Span.set_extension(
        "scope",
        getter=lambda span: (
            span.doc[span._.scope_bounds[0] : span._.scope_bounds[1]]
            if span._.scope_bounds
            else None
        ),
    )
if not Span.has_extension("cue_source"):
    Span.set_extension("cue_source", default=None)  # "model" or "lexicon"


# -- linear models ------------------------------------------------------------------------------


@dataclass
class LinearModel:
    """Sparse linear scores: a weight vector per label over string features."""

    labels: list[str]
    weights: dict[str, list[float]]
    bias: list[float]

    def scores(self, features: Iterable[str]) -> list[float]:
        totals = list(self.bias)
        weights = self.weights
        for feature in features:
            row = weights.get(feature)
            if row is not None:
                for index, value in enumerate(row):
                    totals[index] += value
        return totals

    def predict(self, features: Iterable[str]) -> str:
        """The best label; a one-vector model separates labels[0] (score > 0) from "O"."""
        totals = self.scores(features)
        if len(self.labels) == 1:
            return self.labels[0] if totals[0] > 0 else "O"
        return self.labels[max(range(len(totals)), key=totals.__getitem__)]

    def score(self, features: Iterable[str]) -> float:
        return self.scores(features)[0]

    def to_json(self) -> dict:
        return {"labels": self.labels, "weights": self.weights, "bias": self.bias}

    @classmethod
    def from_json(cls, data: dict) -> LinearModel:
        return cls(data["labels"], data["weights"], data["bias"])


# -- features ---------------------------------------------------------------------------------


def _lemma(token: Token) -> str:
    return (token.lemma_ or token.text).lower()


def cue_features(token: Token, lexicons: dict[str, frozenset[str]]) -> list[str]:
    """What a cue classifier sees of one token: the word, its neighbours, its syntax."""
    doc = token.doc
    i = token.i
    sentence_start = token.sent.start
    word, lemma = token.lower_, _lemma(token)
    head = token.head
    features = [
        "bias",
        f"w={word}",
        f"l={lemma}",
        f"t={token.tag_}",
        f"wt={word}|{token.tag_}",
        f"d={token.dep_}",
        f"wd={word}|{token.dep_}",
        f"hl={_lemma(head)}",
        f"wht={word}|{head.tag_}",
        f"title={token.is_title and i > sentence_start}",
    ]
    for offset in (-2, -1, 1, 2):
        j = i + offset
        if sentence_start <= j < token.sent.end:
            other = doc[j]
            features.append(f"w{offset}={other.lower_}")
            features.append(f"t{offset}={other.tag_}")
            if offset in (-1, 1):
                features.append(f"ww{offset}={word}|{other.lower_}")
                features.append(f"wt{offset}={word}|{other.tag_}")
        else:
            features.append(f"w{offset}=<s>")
    for child in token.children:
        if child.dep_ in ("neg", "aux", "auxpass", "advmod", "mark", "det", "expl", "nsubj"):
            features.append(f"c={child.dep_}|{_lemma(child)}")
        features.append(f"cd={word}|{child.dep_}")
    for name, words in lexicons.items():
        if name != DICTIONARY and (word in words or lemma in words):
            features.append(f"lex={name}")
            features.append(f"lex={name}|{token.tag_}")
    match = _AFFIX.match(word)
    if match:
        affix = match.group(1) or "less"
        stem = word[len(affix) :] if match.group(1) else re.sub(r"less(ly|ness)?$", "", word)
        # "improper": a known word after the prefix; "interest": none
        known = stem in lexicons.get(DICTIONARY, ())
        features.append(f"affix={affix}|{known}")
        features.append(f"affix={affix}|{known}|{token.tag_}")
    return features


def _ancestors(token: Token, limit: int = MAX_SCOPE_LEVELS) -> list[Token]:
    chain = [token]
    while chain[-1].head is not chain[-1] and len(chain) <= limit:
        chain.append(chain[-1].head)
    return chain


def _trim(doc: Doc, start: int, end: int, keep: tuple[int, int]) -> tuple[int, int]:
    """Strip punctuation and spaces from both ends, never into the cue."""
    while start < keep[0] and (doc[start].pos_ in _PUNCT or doc[start].is_space):
        start += 1
    while end > keep[1] and (doc[end - 1].pos_ in _PUNCT or doc[end - 1].is_space):
        if doc[end - 1].text in ")]" and _opens(doc, start, end - 1):
            break  # "(MDD)": the bracket closes one opened inside
        end -= 1
    return start, end


def _opens(doc: Doc, start: int, end: int) -> bool:
    depth = 0
    for token in doc[start:end]:
        depth += token.text in ("(", "[")
        depth -= token.text in (")", "]")
    return depth > 0


def scope_candidates(cue: Span) -> dict[tuple[int, int], list[str]]:
    """Candidate scopes of a cue, each with the features the ranker scores it by."""
    doc = cue.doc
    root = cue.root
    sentence = root.sent
    chain = _ancestors(root)
    starts: dict[int, str] = {cue.start: "cue"}
    ends: dict[int, str] = {cue.end: "cue"}
    for level, ancestor in enumerate(chain):
        name = f"{level}|{ancestor.dep_}|{ancestor.pos_}"
        starts.setdefault(min(ancestor.left_edge.i, cue.start), f"left{name}")
        starts.setdefault(min(ancestor.i, cue.start), f"self{name}")
        ends.setdefault(max(ancestor.right_edge.i + 1, cue.end), f"right{name}")
        ends.setdefault(max(ancestor.i + 1, cue.end), f"self{name}")
        # partial subtrees: from one of its left dependents, or up to one of its right ones
        for child in ancestor.lefts:
            if child.left_edge.i <= cue.start:
                starts.setdefault(child.left_edge.i, f"from{level}|{child.dep_}")
        for child in ancestor.rights:
            if child.right_edge.i + 1 >= cue.end:
                ends.setdefault(child.right_edge.i + 1, f"to{level}|{child.dep_}")
    ends.setdefault(sentence.end, "sentence")
    lemma = _lemma(root)
    cue_id = f"{lemma}|{root.pos_}|{root.dep_}"
    candidates: dict[tuple[int, int], list[str]] = {}
    for start, start_kind in starts.items():
        for end, end_kind in ends.items():
            if start < sentence.start or end > sentence.end:
                continue
            bounds = _trim(doc, start, end, (cue.start, cue.end))
            if bounds in candidates:
                continue
            length = bounds[1] - bounds[0]
            at_end = bounds[1] >= sentence.end - 1
            shape = (start_kind.split("|")[0], end_kind.split("|")[0])
            before = doc[bounds[0] - 1].dep_ if bounds[0] > sentence.start else "<s>"
            after = doc[bounds[1]].dep_ if bounds[1] < sentence.end else "</s>"
            features = [
                "bias",
                f"before={before}",
                f"after={after}",
                f"l={lemma}|before={before}",
                f"l={lemma}|after={after}",
                f"s={start_kind}",
                f"e={end_kind}",
                f"se={shape}",
                f"l={lemma}|{shape}",
                f"cue={cue_id}|s={start_kind}",
                f"cue={cue_id}|e={end_kind}",
                f"pos={root.pos_}|{shape}",
                f"dep={root.dep_}|{shape}",
                f"len={min(length, 30) // 5}",
                f"atend={at_end}|{shape}",
                f"first={doc[bounds[0]].pos_}",
                f"last={doc[bounds[1] - 1].pos_}",
                f"lastdep={doc[bounds[1] - 1].dep_}",
            ]
            candidates[bounds] = features
    return candidates


# -- conditions of phrase-lexicon entries --------------------------------------------------------

# Verbs whose "could" reports what was achieved or perceived, not what may be the case:
# "the transcripts could be detected", "he could see some works".
ABILITY_VERBS = frozenset(
    [
        "see",
        "observe",
        "detect",
        "find",
        "identify",
        "isolate",
        "obtain",
        "generate",
        "document",
        "demonstrate",
        "confirm",
        "reproduce",
        "rescue",
        "measure",
        "recover",
        "distinguish",
        "establish",
        "clone",
        "purify",
        "visualize",
        "localize",
        "map",
        "amplify",
        "achieve",
        "afford",
        "manage",
        "recite",
        "read",
        "hear",
    ]
)
# Subjects whose "could" is an ability ("we could show", "she could read").
PERSONAL_SUBJECTS = frozenset(["we", "i", "he", "she"])
# Words before "possible" that make it a possibility of means: "as possible", "every possible".
POSSIBLE_OF_MEANS = frozenset(["as", "every", "all", "if", "where", "when", "whenever", "wherever"])


def _epistemic_modal(span: Span) -> bool:
    """A modal of possibility, not of (past) ability: no negation ("could not be induced"),
    no "only" ("could only be detected"), no "we"/"he" subject ("we could show"), no verb
    of finding or perceiving ("could be detected", "could see")."""
    modal = span[0]
    verb = modal.head if modal.dep_ in ("aux", "auxpass") else modal
    following = modal.doc[modal.i + 1 : min(modal.i + 3, modal.sent.end)]
    if any(t.lower_ in ("not", "n't", "never", "only") for t in following[:1]):
        return False
    if any(child.dep_ == "neg" for child in verb.children):
        return False
    if any(
        child.dep_ == "advmod" and child.lower_ == "only" and child.i < verb.i
        for child in verb.children
    ):
        return False
    for child in verb.children:
        if child.dep_ in ("nsubj", "nsubjpass") and child.lower_ in PERSONAL_SUBJECTS:
            return False
    return _lemma(verb) not in ABILITY_VERBS and not _past_narrative(verb)


def _main_verbs(verb: Token) -> list[Token] | None:
    """The verbs of the main clause if `verb` is one of them (the root and its conjuncts)."""
    top = verb
    while top.dep_ == "conj":
        top = top.head
    if top.dep_ != "ROOT":
        return None
    verbs, stack = [], [top]
    while stack:
        current = stack.pop()
        verbs.append(current)
        stack.extend(child for child in current.children if child.dep_ == "conj")
    return verbs


def _past_narrative(verb: Token) -> bool:
    """A main clause that tells what happened: "the site was induced ... and could confer
    inducibility" (another main verb in the past tense); "could" there is what was achieved.
    A "could" reported after a past verb ("found that it could help") is no such one."""
    verbs = _main_verbs(verb)
    if verbs is None:
        return False
    for other in verbs:
        if other.i == verb.i:
            continue
        auxiliaries = [c for c in other.children if c.dep_ in ("aux", "auxpass")]
        if other.tag_ == "VBD" and not auxiliaries:
            return True
        if any(a.tag_ == "VBD" for a in auxiliaries) and not any(
            a.tag_ == "MD" for a in auxiliaries
        ):
            return True  # "was induced"
    return False


def _potential_possibility(span: Span) -> bool:
    """ "potential" of what may happen: the adjective before its noun ("potential side
    effects", "known and potential harms") or the bare noun ("the potential for abuse", "has
    the potential to help"), not the noun of a property the text names ("membrane potential",
    "proliferative potential", "therapeutic potential", "action potential")."""
    token = span[0]
    if token.tag_ == "JJ":
        while token.dep_ == "conj" and token.head.i < token.i:
            token = token.head
        return token.dep_ == "amod" and token.head.i > token.i
    return not any(child.dep_ in ("amod", "compound", "nmod") for child in token.children)


def _open_possibility(span: Span) -> bool:
    """ "possible" of what may be the case ("a possible role", "it is possible that"), not of
    what can be done ("as soon as possible", "made possible", "every possible means",
    "where possible")."""
    token = span[0]
    doc, sentence = token.doc, token.sent
    if token.dep_ == "oprd" or _lemma(token.head) in ("as", "make"):
        return False
    if token.dep_ == "amod" and token.head.i < token.i and _lemma(token.head.head) == "make":
        return False  # "made the opera house possible"
    if any(child.dep_ == "neg" for child in (*token.children, *token.head.children)):
        return False  # "it was not possible to distinguish them"
    if token.i == sentence.start:
        return True
    before = doc[token.i - 1]
    return before.lower_ not in POSSIBLE_OF_MEANS and before.tag_ not in ("JJS", "RBS")


# name (as the lexicon's "when" lists it) -> test of a matched span
PHRASE_CONDITIONS = {
    "epistemic_modal": _epistemic_modal,
    "potential_possibility": _potential_possibility,
    "open_possibility": _open_possibility,
}


# -- the component ------------------------------------------------------------------------------


@dataclass
class DetectorWeights:
    """Everything the detector learned, as plain data (stored as gzip JSON)."""

    models: dict[str, LinearModel] = field(default_factory=dict)
    candidates: dict[str, list[str]] = field(default_factory=dict)  # kind -> words
    multiword: dict[str, list[list[str]]] = field(default_factory=dict)  # kind -> cue words
    lexicons: dict[str, list[str]] = field(default_factory=dict)  # feature lexicons
    phrases: list[dict] = field(default_factory=list)  # {"kind", "type", "pattern"}
    meta: dict = field(default_factory=dict)  # training data, split, figures

    def to_json(self) -> dict:
        return {
            "models": {name: model.to_json() for name, model in self.models.items()},
            "candidates": self.candidates,
            "multiword": self.multiword,
            "lexicons": self.lexicons,
            "phrases": self.phrases,
            "meta": self.meta,
        }

    @classmethod
    def from_json(cls, data: dict) -> DetectorWeights:
        return cls(
            models={k: LinearModel.from_json(v) for k, v in data["models"].items()},
            candidates=data["candidates"],
            multiword=data["multiword"],
            lexicons=data["lexicons"],
            phrases=data.get("phrases", []),
            meta=data.get("meta", {}),
        )

    def write(self, path: Path) -> None:
        gzjson.write_json(path, self.to_json())

    @classmethod
    def read(cls, path: Path) -> DetectorWeights:
        return cls.from_json(gzjson.read_json(path))


@Language.factory(
    "claims_hedging",
    default_config={
        "use_phrases": True,
        "hedges_key": SPAN_GROUPS[HEDGE],
        "negations_key": SPAN_GROUPS[NEGATION],
    },
)
def make_hedging(
    nlp: Language, name: str, use_phrases: bool, hedges_key: str, negations_key: str
) -> CueDetector:
    return CueDetector(
        nlp, name, use_phrases=use_phrases, hedges_key=hedges_key, negations_key=negations_key
    )


class CueDetector:
    """Pipeline component: hedge and negation cues, typed, each with its scope."""

    def __init__(
        self,
        nlp: Language,
        name: str,
        *,
        use_phrases: bool = True,
        hedges_key: str = "hedge_cues",
        negations_key: str = "negation_cues",
    ) -> None:
        self.name = name
        self.vocab = nlp.vocab
        self.use_phrases = use_phrases
        # where the cues land: doc.spans[keys[HEDGE]], doc.spans[keys[NEGATION]]
        self.keys = {HEDGE: hedges_key, NEGATION: negations_key}
        self.weights = DetectorWeights()
        self._compile()

    # set-up
    def _compile(self) -> None:
        weights = self.weights
        self.candidates = {kind: frozenset(words) for kind, words in weights.candidates.items()}
        self.multiword = {
            kind: {tuple(words) for words in cues} for kind, cues in weights.multiword.items()
        }
        self.longest = {
            kind: max((len(c) for c in cues), default=1) for kind, cues in self.multiword.items()
        }
        self.lexicons = {name: frozenset(words) for name, words in weights.lexicons.items()}
        self.phrase_matcher = Matcher(self.vocab)
        self.phrase_types: dict[str, tuple[str, str]] = {}
        self.phrase_conditions: dict[str, list] = {}
        for number, phrase in enumerate(weights.phrases):
            key = f"phrase{number}"
            self.phrase_matcher.add(key, [phrase["pattern"]])
            self.phrase_types[key] = (phrase["kind"], phrase["type"])
            unknown = [name for name in phrase.get("when", ()) if name not in PHRASE_CONDITIONS]
            if unknown:
                raise ValueError(f"hedge phrase {phrase['pattern']}: unknown condition {unknown}")
            self.phrase_conditions[key] = [PHRASE_CONDITIONS[n] for n in phrase.get("when", ())]

    def initialize(
        self,
        get_examples=None,
        *,
        nlp: Language | None = None,
        weights_path: str | Path | None = None,
    ) -> None:
        """Load the weights written by models/scripts/train_hedges.py."""
        if weights_path is None:
            raise ValueError(
                "claims_hedging needs weights_path: run models/scripts/train_hedges.py"
            )
        self.set_weights(DetectorWeights.read(Path(weights_path)))

    def set_weights(self, weights: DetectorWeights) -> None:
        self.weights = weights
        self._compile()

    # running
    def __call__(self, doc: Doc) -> Doc:
        found: dict[str, list[Span]] = {HEDGE: [], NEGATION: []}
        if self.weights.models:
            for sentence in doc.sents:
                for kind in (HEDGE, NEGATION):
                    found[kind].extend(self.find_cues(sentence, kind))
        if self.use_phrases and self.phrase_types:
            found = self._add_phrases(doc, found)
        for kind, cues in found.items():
            for cue in cues:
                if cue._.scope_bounds is None:
                    cue._.scope_bounds = self.resolve_scope(cue, kind)
            doc.spans[self.keys[kind]] = cues
        return doc

    def find_cues(self, sentence: Span, kind: str) -> list[Span]:
        """Model cues of one kind in a sentence, multi-word cues joined."""
        candidates = self.candidates.get(kind, frozenset())
        model = self.weights.models.get(f"{kind}_cue")
        if model is None:
            return []
        marked: dict[int, list[str]] = {}  # cue token -> its features, reused for the type
        for token in sentence:
            word = token.lower_
            if word in candidates or (kind == NEGATION and _affix_candidate(token)):
                features = cue_features(token, self.lexicons)
                if model.predict(features) != "O":
                    marked[token.i] = features
        doc = sentence.doc
        cues = []
        for start, end in self.group(doc, list(marked), kind):
            label = (
                NEGATION if kind == NEGATION else self._hedge_type(doc[start:end], marked[start])
            )
            cue = Span(doc, start, end, label=label)
            cue._.cue_source = "model"
            cues.append(cue)
        return cues

    def group(self, doc: Doc, marked: Sequence[int], kind: str) -> list[tuple[int, int]]:
        """Adjacent cue tokens become one cue when they formed one in training."""
        known = self.multiword.get(kind, set())
        groups: list[tuple[int, int]] = []
        position = 0
        marked_set = set(marked)
        while position < len(marked):
            start = marked[position]
            end = start + 1
            for length in range(self.longest.get(kind, 1), 1, -1):
                words = tuple(t.lower_ for t in doc[start : start + length])
                if (
                    len(words) == length
                    and words in known
                    and all(i in marked_set for i in range(start, start + length))
                ):
                    end = start + length
                    break
            groups.append((start, end))
            while position < len(marked) and marked[position] < end:
                position += 1
        return groups

    def _hedge_type(self, cue: Span, first_token_features: list[str]) -> str:
        model = self.weights.models.get("hedge_type")
        if model is None:
            return "epistemic"
        return model.predict([*first_token_features, f"mw={cue.text.lower()}"])

    def resolve_scope(self, cue: Span, kind: str) -> tuple[int, int]:
        """The best-scored candidate scope of a cue (the cue alone if there is no ranker)."""
        ranker = self.weights.models.get(f"{kind}_scope")
        if ranker is None:
            return (cue.start, cue.end)
        candidates = scope_candidates(cue)
        return max(candidates, key=lambda bounds: ranker.score(candidates[bounds]))

    def _add_phrases(self, doc: Doc, found: dict[str, list[Span]]) -> dict[str, list[Span]]:
        """Lexicon phrases the corpora lack; a model cue inside a phrase gives way to it."""
        matches = self.phrase_matcher(doc)
        if not matches:
            return found
        phrases: dict[str, list[Span]] = {HEDGE: [], NEGATION: [], NOT_A_CUE: []}
        for match_id, start, end in matches:
            key = self.vocab.strings[match_id]
            kind, cue_type = self.phrase_types[key]
            span = Span(doc, start, end, label=cue_type)
            if not all(condition(span) for condition in self.phrase_conditions[key]):
                continue
            span._.cue_source = "lexicon"
            phrases[kind].append(span)
        hedge_phrases = filter_spans(phrases[HEDGE])
        negation_phrases = filter_spans(phrases[NEGATION])
        # "not only ... but also", "not just": words that look like cues and are none
        silent = _token_set(filter_spans(phrases[NOT_A_CUE]))
        hedge_phrases = _outside(hedge_phrases, silent)
        negation_phrases = _outside(negation_phrases, silent)
        # "not fully understood", "cannot be ruled out", "not necessarily" are hedges: their
        # "not" is no negation
        hedge_tokens = _token_set(hedge_phrases)
        negations = _outside(found[NEGATION], _token_set(negation_phrases) | silent)
        negations += negation_phrases
        return {
            HEDGE: _sorted(_outside(found[HEDGE], hedge_tokens | silent) + hedge_phrases),
            NEGATION: _sorted(_outside(negations, hedge_tokens)),
        }

    # serialisation
    def to_disk(self, path: str | Path, *, exclude: Iterable[str] = ()) -> None:
        path = Path(path)
        path.mkdir(parents=True, exist_ok=True)
        self.weights.write(path / WEIGHTS_FILE)

    def from_disk(self, path: str | Path, *, exclude: Iterable[str] = ()) -> CueDetector:
        weights_file = Path(path) / WEIGHTS_FILE
        if weights_file.exists():
            self.set_weights(DetectorWeights.read(weights_file))
        return self


def _token_set(spans: Iterable[Span]) -> set[int]:
    return {i for span in spans for i in range(span.start, span.end)}


def _outside(spans: list[Span], tokens: set[int]) -> list[Span]:
    return [s for s in spans if not any(i in tokens for i in range(s.start, s.end))]


def _sorted(spans: list[Span]) -> list[Span]:
    return sorted(spans, key=lambda s: (s.start, s.end))


def _affix_candidate(token) -> bool:
    """A word whose affix may negate: "unable", "impossible", "careless", "dislike"; not a
    verb with a locative in-/im-/ir-/il- ("improve", "inform", "install", "irrigate")."""
    match = _AFFIX.match(token.lower_)
    if match is None:
        return False
    return not (match.group(1) in {"im", "in", "ir", "il"} and token.pos_ in {"VERB", "AUX"})


def is_affixal(cue: Span) -> bool:
    """A negation carried by a word's affix ("unexpected", "non-addictive", "painless"), not
    by a negator of its own: it negates that word only."""
    return len(cue) == 1 and cue[0].lower_ not in NEGATORS and bool(_AFFIX.match(cue[0].lower_))


def scope_tokens(cue: Span, kind: str) -> set[int]:
    """Token indices of a cue's scope as the corpora count them: *SEM leaves the cue out."""
    bounds = cue._.scope_bounds or (cue.start, cue.end)
    tokens = set(range(*bounds))
    if kind == NEGATION:  # the cue word leaves the scope, unless only its affix is the cue
        tokens -= {i for i in range(cue.start, cue.end) if not _AFFIX.match(cue.doc[i].lower_)}
    return tokens
