"""Hedge and negation cues from a word list: the first, simple certainty layer.

Cues land in `doc.spans["hedge_cues"]` (label: the cue's type) and
`doc.spans["negation_cues"]`; the claim extractor decides which claims a cue covers.
Types follow the usual split of the hedging literature: `modal` (may, might, could),
`epistemic` verbs and adverbs (suggests, believed, potentially), `evidential` (preliminary,
early studies, anecdotal), `promise` (shows promise, promising) and `knowledge gap` (not fully
understood). A trained detector replaces this list later; the span groups stay the same.
"""

from __future__ import annotations

from spacy.language import Language
from spacy.matcher import Matcher
from spacy.tokens import Doc
from spacy.util import filter_spans

HEDGE_PATTERNS: dict[str, list[list[dict]]] = {
    "modal": [
        [{"LOWER": {"IN": ["may", "might", "could"]}}],
        # "can help", "can be": possibility; "can increase empathy" states an ability.
        [{"LOWER": "can"}, {"LOWER": {"IN": ["help", "be", "potentially", "possibly"]}}],
    ],
    "epistemic": [
        [{"LEMMA": {"IN": ["suggest", "indicate", "appear", "seem", "speculate", "hypothesize"]}}],
        [{"LOWER": {"IN": ["believed", "thought", "hypothesized", "proposed", "presumed"]}}],
        [
            {
                "LOWER": {
                    "IN": [
                        "potentially",
                        "possibly",
                        "probably",
                        "likely",
                        "perhaps",
                        "presumably",
                        "apparently",
                        "possible",
                        "potential",
                        "putative",
                        "unclear",
                        "uncertain",
                    ]
                }
            }
        ],
        [{"LOWER": "has"}, {"LOWER": "the"}, {"LOWER": "potential"}],
    ],
    "evidential": [
        [{"LOWER": {"IN": ["preliminary", "anecdotal", "emerging", "early", "initial"]}}],
        [{"LOWER": "some"}, {"LOWER": {"IN": ["individuals", "people", "users", "patients"]}}],
    ],
    "promise": [
        [{"LOWER": {"IN": ["promising", "hope", "hopes"]}}],
        [{"LEMMA": "show"}, {"LOWER": "promise"}],
    ],
    "knowledge gap": [
        [{"LOWER": "not"}, {"LOWER": {"IN": ["yet", "fully"]}, "OP": "*"}, {"LOWER": "understood"}],
        [{"LOWER": "further"}, {"LOWER": "research"}],
    ],
}

NEGATION_PATTERNS: list[list[dict]] = [
    [{"LOWER": {"IN": ["not", "n't", "no", "never", "without", "neither", "nor", "none"]}}],
    [{"LEMMA": "fail"}, {"LOWER": "to"}],
    [{"LOWER": "lack"}, {"LOWER": "of"}],
]
# Negations that are part of a hedge, not a denial.
_NOT_NEGATION_AFTER = {"understood", "yet"}


@Language.factory("claims_hedging", default_config={})
def make_hedging(nlp: Language, name: str) -> CueTagger:
    return CueTagger(nlp, name)


class CueTagger:
    """Pipeline component: hedge and negation cues as span groups."""

    def __init__(self, nlp: Language, name: str) -> None:
        self.name = name
        self.hedges = Matcher(nlp.vocab)
        for cue_type, patterns in HEDGE_PATTERNS.items():
            self.hedges.add(cue_type, patterns)
        self.negations = Matcher(nlp.vocab)
        self.negations.add("negation", NEGATION_PATTERNS)

    def __call__(self, doc: Doc) -> Doc:
        hedges = filter_spans(self.hedges(doc, as_spans=True))
        hedge_tokens = {i for span in hedges for i in range(span.start, span.end)}
        negations = [
            span
            for span in filter_spans(self.negations(doc, as_spans=True))
            if span.start not in hedge_tokens
            and not (span.end < len(doc) and doc[span.end].lower_ in _NOT_NEGATION_AFTER)
        ]
        doc.spans["hedge_cues"] = hedges
        doc.spans["negation_cues"] = negations
        return doc
