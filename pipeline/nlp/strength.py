"""Claim strength: how strongly a sentence states a relationship (Yu et al.'s scheme).

Health news often states what a study only observed as if it were proven. Yu, Li and Wang
("Detecting Causal Language Use in Science Findings", EMNLP 2019) label a finding's language
with four values, kept here in order of strength:

- `none`: no relationship between an exposure and an outcome is stated;
- `correlational`: they go together ("was linked to", "users had lower rates");
- `conditional_causal`: one changes the other, with doubt ("may reduce", "could help");
- `direct_causal`: one changes the other ("reduces", "did not improve": negation keeps it).

The `claims_strength` component gives every sentence `Span._.claim_strength` (one of
`STRENGTHS`) and `Span._.strength_scores` (label -> probability), and every claim of
`doc._.claims` its `strength` and `causal_from_observational` flag. It is a multinomial
logistic regression (a `LinearModel`) over features of the parse: lemmas and lemma bigrams,
causal and correlational words with the dependency relations that tie them to doubt, to the
hedge detector's cues and scopes (`doc.spans[hedges_key]`) and to negation, comparisons of
groups, and research aims. Its word lists and weights are data (`strength.json.gz`, saved by
`to_disk`); `models/scripts/train_strength.py` learns the weights.

A claim's strength is its sentence's, made conditional when the sentence is direct causal but
the claim itself is hedged by a word of doubt ("X reduces pain and may improve sleep": the
sleep claim is conditional; "can" and "suggests" hedge for the hedge detector, not here), and
correlational when the claim's own predicate is an association ("X was linked to Y"). The flag
`causal_from_observational` marks a direct causal claim whose evidence is observational only:
the study designs cited by its sentence or paragraph (by its article, `doc._.study_designs`,
when those cite research of no named design) include an observational design and no experiment
(trial, animal, in vitro), and the claim is asserted (neither hedged nor negated: "the study
does not prove that X prevents Y" is a disclaimer). Claims whose sentence and paragraph cite no
research are background, never flagged.

Raises ValueError from `initialize` or `from_disk` when the weights name unknown labels.
"""

from __future__ import annotations

import gzip
import itertools
import json
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from spacy.language import Language
from spacy.tokens import Doc, Span, Token

from pipeline.nlp.hedging import LinearModel

STRENGTHS: tuple[str, ...] = ("none", "correlational", "conditional_causal", "direct_causal")
DIRECT = "direct_causal"
CONDITIONAL = "conditional_causal"
CORRELATIONAL = "correlational"
NONE = "none"
DATA_FILE = "strength.json.gz"
DEFAULT_WORDS = Path(__file__).resolve().parent / "data" / "strength_words.json"
WORD_LISTS = ("causal", "correlational", "doubt", "comparison", "aims", "finding_verbs", "groups")
# Designs that support causal language (experiments) and those that do not.
OBSERVATIONAL = "observational"
EXPERIMENTAL = frozenset({"trial", "animal", "in vitro"})
# What the flag means, in the words the report and the review app show.
FLAG_EXPLANATION = (
    "A direct causal claim (“X reduces Y”), asserted (not hedged, not a disclaimer such as "
    "“does not prove that”), whose evidence is observational only: the study designs its "
    "sentence or paragraph cites (its article's, when those name no design) include an "
    "observational study (cohort, case-control, survey, records, case report) and no trial, "
    "animal or in vitro study. An observational study shows that two things go together, not "
    "that one causes the other: the most common exaggeration in health news. Claims whose "
    "sentence and paragraph cite no research are never flagged."
)
_ARGUMENT_DEPS = frozenset({"acomp", "attr", "dobj", "xcomp", "oprd", "pobj", "prep", "amod"})

if not Span.has_extension("claim_strength"):
    Span.set_extension("claim_strength", default=None)
if not Span.has_extension("strength_scores"):
    Span.set_extension("strength_scores", default=None)


@dataclass
class StrengthWeights:
    """What `to_disk` saves: the word lists, the classifier and where its weights came from.

    `trained_on` names the labelled sentences (e.g. "news-train: 512 FakeHealth sentences").
    A model without weights (`model` None) labels every sentence `none`.
    """

    words: dict[str, list[str]]
    model: LinearModel | None = None
    trained_on: str = ""
    meta: dict = field(default_factory=dict)

    def to_json(self) -> dict:
        return {
            "words": self.words,
            "model": self.model.to_json() if self.model else None,
            "trained_on": self.trained_on,
            "meta": self.meta,
        }

    @classmethod
    def from_json(cls, data: Mapping) -> StrengthWeights:
        model = LinearModel.from_json(data["model"]) if data.get("model") else None
        if model is not None and set(model.labels) - set(STRENGTHS):
            raise ValueError(f"strength weights name unknown labels: {model.labels}")
        words = {name: list(data["words"].get(name, [])) for name in WORD_LISTS}
        return cls(words, model, data.get("trained_on", ""), dict(data.get("meta", {})))

    def write(self, path: Path) -> None:
        with gzip.open(path, "wt", encoding="utf-8") as handle:
            json.dump(self.to_json(), handle)

    @classmethod
    def read(cls, path: Path) -> StrengthWeights:
        with gzip.open(path, "rt", encoding="utf-8") as handle:
            return cls.from_json(json.load(handle))


_IRREGULAR = {
    "lead": ("led",),
    "make": ("made",),
    "drive": ("drove", "driven"),
    "fight": ("fought",),
    "tie": ("tied", "ties", "tying"),
    "think": ("thought",),
    "cut": ("cutting",),
    "slash": ("slashes", "slashed"),
    "stop": ("stopped", "stopping"),
    "spur": ("spurred", "spurring"),
    "shrink": ("shrank", "shrunk"),
}


def inflections(word: str) -> set[str]:
    """The word and its regular forms ("reduce": reduces, reduced, reducing), so a word the
    tagger got wrong ("relieved" as an adjective, lemma "relieved") still counts."""
    forms = {word}
    if " " in word or not word.isalpha():
        return forms
    forms |= {word + "s", word + "ed", word + "ing"}
    if word.endswith("e"):
        forms |= {word + "d", word[:-1] + "ing"}
    if word.endswith(("s", "sh", "ch", "x", "z")):
        forms.add(word + "es")
    if word.endswith("y") and len(word) > 2 and word[-2] not in "aeiou":
        forms |= {word[:-1] + "ies", word[:-1] + "ied"}
    forms.update(_IRREGULAR.get(word, ()))
    return forms


def word_sets(words: Mapping[str, list[str]]) -> dict[str, frozenset[str]]:
    """Lowercase lookup sets of the word lists, with the regular forms of each word."""
    return {
        name: frozenset(form for w in ws for form in inflections(w.lower()))
        for name, ws in words.items()
    }


def default_words() -> dict[str, list[str]]:
    """The package's word lists (`data/strength_words.json`)."""
    data = json.loads(DEFAULT_WORDS.read_text(encoding="utf-8"))
    return {name: list(data[name]) for name in WORD_LISTS}


# -- features --------------------------------------------------------------------------------------


def _lemma(token: Token) -> str:
    return (token.lemma_ or token.text).lower()


def _is(token: Token, words: frozenset[str]) -> bool:
    return _lemma(token) in words or token.lower_ in words


def _governors(token: Token, steps: int = 3) -> list[Token]:
    """The token, then the heads whose argument it is (up through xcomp, acomp, dobj ...)."""
    found = [token]
    current = token
    for _ in range(steps):
        if current.dep_ not in _ARGUMENT_DEPS and current.dep_ not in ("ccomp", "advcl"):
            break
        if current.head is current:
            break
        current = current.head
        found.append(current)
    return found


def _doubted(token: Token, doubt: frozenset[str]) -> bool:
    """Doubt governs the token: "may reduce", "could be effective", "appears to lower"."""
    for governor in _governors(token):
        if governor is not token and _is(governor, doubt):
            return True
        if any(
            child.dep_ in ("aux", "advmod", "neg") and _is(child, doubt)
            for child in governor.children
        ):
            return True
    return False


def _covered(token: Token, cues: Iterable[Span]) -> list[Span]:
    out = []
    for cue in cues:
        bounds = cue._.scope_bounds or (cue.start, cue.end)
        if bounds[0] <= token.i < bounds[1]:
            out.append(cue)
    return out


def sentence_features(
    span: Span,
    words: Mapping[str, frozenset[str]],
    hedges: Iterable[Span] = (),
    negations: Iterable[Span] = (),
) -> list[str]:
    """The classifier's features of one sentence (or any span): strings, each counted once."""
    hedges = [cue for cue in hedges if span.start <= cue.start < span.end]
    negations = [cue for cue in negations if span.start <= cue.start < span.end]
    causal, correlational, doubt = words["causal"], words["correlational"], words["doubt"]
    features: set[str] = {"bias"}
    lemmas = [_lemma(t) for t in span if t.is_alpha]
    features.update(f"w={lemma}" for lemma in lemmas)
    features.update(f"b={a}_{b}" for a, b in itertools.pairwise(lemmas))
    root = next((t for t in span if t.dep_ == "ROOT"), None)
    if root is not None:
        features.add(f"root={_lemma(root)}")
        features.add(f"root_pos={root.pos_}")
        for child in root.children:
            if child.dep_ in ("aux", "auxpass", "neg", "advmod") and child.is_alpha:
                features.add(f"root_{child.dep_}={_lemma(child)}")
    kinds = set()
    for token in span:
        if not token.is_alpha:
            continue
        for kind, wordset in (("causal", causal), ("corr", correlational)):
            if not _is(token, wordset):
                continue
            kinds.add(kind)
            features.add(f"{kind}")
            features.add(f"{kind}:{token.pos_}")
            features.add(f"{kind}:{token.dep_}")
            features.add(f"{kind}:{_lemma(token)}")
            if token.head is not token:
                features.add(f"{kind}^{_lemma(token.head)}")
            main = token.dep_ == "ROOT" or (
                token.head.dep_ == "ROOT" and token.dep_ in ("ccomp", "xcomp", "acomp", "attr")
            )
            if main:
                features.add(f"{kind}:main")
            if _doubted(token, doubt):
                kinds.add(f"{kind}+doubt")
                features.add(f"{kind}+doubt")
                features.add(f"{kind}+doubt:{token.pos_}")
            for cue in _covered(token, hedges):
                features.add(f"{kind}+hedge:{cue.label_}")
                kinds.add(f"{kind}+hedge")
            if _covered(token, negations):
                features.add(f"{kind}+neg")
            if token.head is not token and _is(token.head, words["finding_verbs"]):
                features.add(f"{kind}+finding")
            if any(_is(child, words["aims"]) for child in token.children) or any(
                _is(t, words["aims"]) and t.i < token.i for t in token.ancestors
            ):
                features.add(f"{kind}+aim")
    if {"causal", "corr"} <= kinds:
        features.add("causal&corr")
    features.add("kinds=" + ("|".join(sorted(k for k in kinds if "+" not in k)) or "none"))
    if "causal" in kinds and "causal+doubt" not in kinds and "causal+hedge" not in kinds:
        features.add("causal_undoubted")
    compares = [t for t in span if _is(t, words["comparison"])]
    if compares and any(t.lower_ in ("than", "among", "compared", "versus", "vs") for t in span):
        features.add("comparison")
    if compares:
        features.add("comparative")
        if any(t.like_num or t.text == "%" or t.lower_ == "percent" for t in span):
            features.add("comparative+number")
        if any(_is(t, words["groups"]) for t in span):
            features.add("comparative+group")
        if "causal" not in kinds:
            features.add("comparative_without_causal")
    for token in span:
        if (
            token.lower_ == "who"
            and token.head.head is not None
            and _is(token.head.head, words["groups"])
        ):
            features.add("group_who")
    for cue in hedges:
        features.add(f"hedge:{cue.label_}")
    if negations:
        features.add("negation")
    if span.text.rstrip().endswith("?"):
        features.add("question")
    if not kinds:
        features.add("no_relation_word")
    return sorted(features)


def _softmax(scores: list[float]) -> list[float]:
    top = max(scores)
    exps = [math.exp(s - top) for s in scores]
    total = sum(exps)
    return [e / total for e in exps]


# -- the component ---------------------------------------------------------------------------------


@Language.factory(
    "claims_strength",
    default_config={"hedges_key": "hedge_cues", "negations_key": "negation_cues"},
)
def make_strength(
    nlp: Language, name: str, hedges_key: str, negations_key: str
) -> StrengthClassifier:
    return StrengthClassifier(nlp, name, hedges_key=hedges_key, negations_key=negations_key)


class StrengthClassifier:
    """Pipeline component: `Span._.claim_strength` per sentence; `strength` and
    `causal_from_observational` per claim. Runs after `claims_hedging` (cues) and
    `claims_evidence` (study designs)."""

    def __init__(self, nlp: Language, name: str, *, hedges_key: str, negations_key: str):
        self.name = name
        self.hedges_key = hedges_key
        self.negations_key = negations_key
        self.set_weights(StrengthWeights(default_words()))

    def set_weights(self, weights: StrengthWeights) -> None:
        self.weights = weights
        self.words = word_sets(weights.words)

    def initialize(self, get_examples=None, *, nlp=None, weights_path: str | None = None) -> None:
        """Read weights written by `models/scripts/train_strength.py` (else none: all `none`)."""
        if weights_path:
            self.set_weights(StrengthWeights.read(Path(weights_path)))

    def features(self, span: Span) -> list[str]:
        doc = span.doc
        return sentence_features(
            span,
            self.words,
            doc.spans.get(self.hedges_key, ()),
            doc.spans.get(self.negations_key, ()),
        )

    def predict(self, span: Span) -> tuple[str, dict[str, float]]:
        """The span's strength and the probability of each strength."""
        model = self.weights.model
        if model is None:
            return NONE, {label: float(label == NONE) for label in STRENGTHS}
        probabilities = _softmax(model.scores(self.features(span)))
        scores = dict(zip(model.labels, probabilities, strict=True))
        return max(scores, key=scores.__getitem__), scores

    def __call__(self, doc: Doc) -> Doc:
        by_sentence: dict[tuple[int, int], str] = {}
        for sentence in doc.sents:
            label, scores = self.predict(sentence)
            sentence._.claim_strength = label
            sentence._.strength_scores = {k: round(v, 4) for k, v in scores.items()}
            by_sentence[(sentence.start, sentence.end)] = label
        article_designs = doc._.study_designs if Doc.has_extension("study_designs") else []
        for claim in doc._.claims if Doc.has_extension("claims") else ():
            bounds = (claim.sentence.start, claim.sentence.end)
            base = by_sentence.get(bounds)
            if base is None:
                base, _ = self.predict(claim.sentence)
            claim.strength = claim_strength(claim, base, self.words)
            # only an asserted claim states causation: "may reduce" has its own strength,
            # and "the study does not prove that X prevents Y" is a disclaimer, not a claim
            claim.causal_from_observational = claim.certainty == "asserted" and (
                causal_from_observational(claim.strength, claim.study_design, article_designs or [])
            )
        return doc

    def to_disk(self, path, *, exclude=()) -> None:
        path = Path(path)
        path.mkdir(parents=True, exist_ok=True)
        self.weights.write(path / DATA_FILE)

    def from_disk(self, path, *, exclude=()) -> StrengthClassifier:
        self.set_weights(StrengthWeights.read(Path(path) / DATA_FILE))
        return self


def claim_strength(claim, sentence_strength: str, words: Mapping[str, frozenset[str]]) -> str:
    """A claim's strength from its sentence's: see the module docstring."""
    mechanism = (claim.mechanism or "").lower().split()
    if (
        mechanism
        and any(w in words["correlational"] for w in mechanism)
        and not any(w in words["causal"] for w in mechanism)
    ):
        return CORRELATIONAL if sentence_strength != NONE else NONE
    if sentence_strength == DIRECT and claim.hedged and _doubt_cue(claim, words):
        return CONDITIONAL
    return sentence_strength


def _doubt_cue(claim, words: Mapping[str, frozenset[str]]) -> bool:
    """A hedge cue of the claim says doubt ("may", "could", "possibly"): "can" of a known
    effect and reporting verbs ("suggests") hedge in the detector's scheme, not in Yu's."""
    cues = getattr(claim, "hedge_cues", None) or []
    return any(word.lower() in words["doubt"] for cue in cues for word in cue.text.split())


def causal_from_observational(
    strength: str | None, claim_designs: Iterable[str], article_designs: Iterable[str]
) -> bool:
    """A direct causal claim resting on observational evidence only.

    The evidence is what the claim's sentence, else its paragraph, cites (`claim_designs`):
    an observational design and no experimental one (trial, animal, in vitro). When they cite
    research of no named design ("the study found", "researchers say"), the article's designs
    stand in for it. A claim whose sentence and paragraph cite no research at all is
    background, not a finding, and is never flagged.
    """
    if strength != DIRECT:
        return False
    designs = set(claim_designs)
    if designs == {"research"}:
        designs = set(article_designs)
    return OBSERVATIONAL in designs and not designs & EXPERIMENTAL


def fit_weights(features: list[list[str]], labels: list[str], c: float = 1.0) -> LinearModel:
    """Multinomial logistic regression over string features (classes weighted to balance),
    as a sparse `LinearModel`. Needs scikit-learn (the `train` extra); the pipeline does not."""
    from sklearn.feature_extraction import DictVectorizer
    from sklearn.linear_model import LogisticRegression

    vectorizer = DictVectorizer()
    matrix = vectorizer.fit_transform([dict.fromkeys(f, 1) for f in features])
    model = LogisticRegression(C=c, max_iter=3000, class_weight="balanced")
    model.fit(matrix, labels)
    names = vectorizer.get_feature_names_out()
    classes = [str(k) for k in model.classes_]
    weights = {}
    for j, name in enumerate(names):
        row = [round(float(model.coef_[k][j]), 4) for k in range(len(classes))]
        if max(abs(v) for v in row) >= 1e-4:
            weights[str(name)] = row
    return LinearModel(classes, weights, [float(b) for b in model.intercept_])
