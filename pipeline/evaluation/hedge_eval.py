"""Scores of the hedge and negation detector against the corpora, the way the shared tasks count.

- Uncertain sentences (CoNLL-2010 task 1): a sentence is uncertain when it holds a hedge cue;
  precision, recall and F1 of the uncertain class, per corpus, and for the Szeged biomedical
  corpus also per part: abstracts (`szeged_bio_hbc`) and full-text papers (`szeged_bio_fly`),
  whose register differs (methods and results sections, "could" of past ability).
- Cues: a predicted cue is right when its tokens are exactly a gold cue's tokens.
- Scopes: token precision / recall / F1. With gold cues, each gold cue's predicted scope is
  compared with its gold scope (scope resolution alone). End to end, predicted cues are paired
  with gold cues of the same tokens; an unpaired gold cue loses all its scope tokens and an
  unpaired predicted cue's scope tokens are all false positives.

`claims evaluate hedges` prints these on the held-out test documents; the training script
uses the same functions on the dev documents for its choices.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from spacy.language import Language
from spacy.tokens import Doc, Span

from pipeline.evaluation.hedge_corpora import GoldCue, GoldSentence
from pipeline.nlp.hedging import HEDGE, NEGATION, CueDetector, scope_tokens

# Components the detector's features need; the rest of the pipeline is not run for scoring.
PARSE_COMPONENTS = (
    "claims_layout",
    "tok2vec",
    "tagger",
    "attribute_ruler",
    "lemmatizer",
    "parser",
)


@dataclass
class Counts:
    tp: int = 0
    fp: int = 0
    fn: int = 0

    def add(self, other: Counts) -> None:
        self.tp += other.tp
        self.fp += other.fp
        self.fn += other.fn

    @property
    def precision(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 0.0

    @property
    def recall(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 0.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0

    def to_json(self) -> dict:
        return {
            "tp": self.tp,
            "fp": self.fp,
            "fn": self.fn,
            "precision": round(100 * self.precision, 2),
            "recall": round(100 * self.recall, 2),
            "f1": round(100 * self.f1, 2),
        }

    def __str__(self) -> str:
        return (
            f"P {100 * self.precision:5.1f}  R {100 * self.recall:5.1f}  F1 {100 * self.f1:5.1f}"
            f"  (tp {self.tp}, fp {self.fp}, fn {self.fn})"
        )


# Parts of a corpus scored apart as well (uncertain sentences only): part -> file of the corpus
CORPUS_PARTS = {
    "szeged_bio": {"szeged_bio_hbc": "bio_hbc.xml", "szeged_bio_fly": "bio_fly.xml"},
}


def corpus_part(sentence: GoldSentence) -> str | None:
    """The part of its corpus a sentence is from ("szeged_bio_fly": full-text papers), if any."""
    for part, file in CORPUS_PARTS.get(sentence.corpus, {}).items():
        if sentence.doc_id.startswith(f"{file}:"):
            return part
    return None


@dataclass
class Report:
    """Counts per (measure, corpus)."""

    counts: dict[tuple[str, str], Counts] = field(default_factory=dict)
    sentences: dict[str, int] = field(default_factory=dict)

    def get(self, measure: str, corpus: str) -> Counts:
        return self.counts.setdefault((measure, corpus), Counts())

    def to_json(self) -> dict:
        out: dict = {"sentences": self.sentences}
        for (measure, corpus), counts in sorted(self.counts.items()):
            out.setdefault(measure, {})[corpus] = counts.to_json()
        return out


def parse(nlp: Language, sentences: Sequence[GoldSentence], batch_size: int = 256) -> list[Doc]:
    """The sentences run through tokenizer and parser only (*SEM keeps its own tokens)."""
    enabled = [name for name in PARSE_COMPONENTS if name in nlp.pipe_names]
    inputs = [
        Doc(nlp.vocab, words=list(s.words)) if s.words is not None else s.text for s in sentences
    ]
    with nlp.select_pipes(enable=enabled):
        return list(nlp.pipe(inputs, batch_size=batch_size))


def _tokens(doc: Doc, offsets: Iterable[tuple[int, int]]) -> set[int]:
    """The tokens character ranges touch (an affix cue gives its whole word)."""
    tokens: set[int] = set()
    for start, end in offsets:
        span = doc.char_span(start, end, alignment_mode="expand")
        if span is not None:
            tokens.update(range(span.start, span.end))
    return tokens


def gold_cue_tokens(doc: Doc, cue: GoldCue) -> tuple[int, ...]:
    return tuple(sorted(_tokens(doc, cue.spans)))


def gold_scope_tokens(doc: Doc, cue: GoldCue) -> set[int] | None:
    return None if cue.scope is None else _tokens(doc, cue.scope)


def gold_cue_span(doc: Doc, tokens: tuple[int, ...]) -> Span:
    """A gold cue as a Span; a discontinuous one ("either ... or") by its first part."""
    if tokens == tuple(range(tokens[0], tokens[-1] + 1)):
        return Span(doc, tokens[0], tokens[-1] + 1)
    return Span(doc, tokens[0], tokens[0] + 1)


def _scope_counts(predicted: set[int], gold: set[int]) -> Counts:
    return Counts(len(predicted & gold), len(predicted - gold), len(gold - predicted))


def score(
    detector: CueDetector,
    docs: Iterable[Doc],
    sentences: Iterable[GoldSentence],
    report: Report | None = None,
) -> Report:
    """Run the detector on parsed docs and count against the gold sentences."""
    report = report or Report()
    for doc, sentence in zip(docs, sentences, strict=True):
        doc = detector(doc)
        corpus = sentence.corpus
        part = corpus_part(sentence)
        for name in (corpus, part) if part else (corpus,):
            report.sentences[name] = report.sentences.get(name, 0) + 1
        # Szeged annotates uncertainty only, *SEM negation only, BioScope both
        szeged = corpus.startswith("szeged")
        kinds = [HEDGE] if szeged else [NEGATION] if corpus == "starsem" else [HEDGE, NEGATION]
        for kind in kinds:
            predicted = list(doc.spans[detector.keys[kind]])
            gold = [c for c in sentence.cues if c.kind == kind]
            if kind == HEDGE:
                for name in (corpus, part) if part else (corpus,):
                    uncertain = report.get("uncertain sentences", name)
                    if predicted and gold:
                        uncertain.tp += 1
                    elif predicted:
                        uncertain.fp += 1
                    elif gold:
                        uncertain.fn += 1
            _score_cues(report, kind, corpus, doc, predicted, gold, detector)
    return report


def _score_cues(
    report: Report,
    kind: str,
    corpus: str,
    doc: Doc,
    predicted: list[Span],
    gold: list[GoldCue],
    detector: CueDetector,
) -> None:
    gold_by_tokens = {gold_cue_tokens(doc, cue): cue for cue in gold}
    gold_by_tokens.pop((), None)
    predicted_by_tokens = {tuple(range(c.start, c.end)): c for c in predicted}
    cues = report.get(f"{kind} cues", corpus)
    matched = set(gold_by_tokens) & set(predicted_by_tokens)
    cues.tp += len(matched)
    cues.fp += len(set(predicted_by_tokens) - matched)
    cues.fn += len(set(gold_by_tokens) - matched)
    if corpus.startswith("szeged"):
        return  # no scopes annotated
    # scopes, end to end
    end_to_end = report.get(f"{kind} scope tokens (predicted cues)", corpus)
    for tokens, cue in predicted_by_tokens.items():
        predicted_scope = scope_tokens(cue, kind)
        gold_cue = gold_by_tokens.get(tokens)
        gold_scope = gold_scope_tokens(doc, gold_cue) if gold_cue is not None else set()
        end_to_end.add(_scope_counts(predicted_scope, gold_scope or set()))
    for tokens, cue in gold_by_tokens.items():
        if tokens not in predicted_by_tokens:
            end_to_end.fn += len(gold_scope_tokens(doc, cue) or set())
    # scopes from gold cues: scope resolution alone
    alone = report.get(f"{kind} scope tokens (gold cues)", corpus)
    for tokens, cue in gold_by_tokens.items():
        span = gold_cue_span(doc, tokens)
        span._.scope_bounds = detector.resolve_scope(span, kind)
        alone.add(_scope_counts(scope_tokens(span, kind), gold_scope_tokens(doc, cue) or set()))


TARGETS = {
    ("uncertain sentences", "szeged_bio"): 88.0,
    ("uncertain sentences", "szeged_wiki"): 65.0,
    ("hedge cues", "all"): 83.0,
    ("hedge scope tokens (gold cues)", "bioscope"): 85.0,
    ("hedge scope tokens (predicted cues)", "bioscope"): 85.0,
    ("negation cues", "starsem"): 92.0,
}


def with_totals(report: Report) -> Report:
    """Add micro-averaged hedge-cue counts over the Szeged corpora as corpus "all"."""
    total = Counts()
    for corpus in ("szeged_bio", "szeged_wiki"):
        if ("hedge cues", corpus) in report.counts:
            total.add(report.counts[("hedge cues", corpus)])
    report.counts[("hedge cues", "all")] = total
    return report


def format_report(report: Report, title: str) -> str:
    lines = [title, ""]
    lines.append(
        "sentences: " + ", ".join(f"{c} {n:,}" for c, n in sorted(report.sentences.items()))
    )
    lines.append("")
    width = max(len(f"{m} [{c}]") for m, c in report.counts) + 2
    for (measure, corpus), counts in sorted(report.counts.items()):
        target = TARGETS.get((measure, corpus))
        mark = ""
        if target is not None:
            mark = (
                f"   target F1 >= {target:.0f}: {'met' if 100 * counts.f1 >= target else 'NOT met'}"
            )
        lines.append(f"{f'{measure} [{corpus}]':<{width}}{counts}{mark}")
    return "\n".join(lines)


def evaluate_detector(
    nlp: Language,
    split: str = "test",
    root=None,
    limit: int | None = None,
) -> tuple[Report, Report]:
    """Held-out figures of the pipeline's detector: (model alone, as shipped with phrases).

    Refuses weights trained with another split seed, whose test documents may be in train.
    """
    from pipeline.evaluation.hedge_corpora import SPLIT_SEED, load_split

    detector = nlp.get_pipe("claims_hedging")
    seed = detector.weights.meta.get("split_seed")
    if seed != SPLIT_SEED:
        raise ValueError(
            f"the detector was trained with split seed {seed}, not {SPLIT_SEED}: "
            "its held-out documents are not these"
        )
    sentences = load_split(split, root=root)
    if limit is not None:
        sentences = _spread(sentences, limit)
    docs = parse(nlp, sentences)
    shipped_phrases = detector.use_phrases
    reports = []
    for phrases in (False, True):
        detector.use_phrases = phrases
        reports.append(with_totals(score(detector, docs, sentences)))
    detector.use_phrases = shipped_phrases
    return reports[0], reports[1]


def _spread(sentences: list[GoldSentence], limit: int) -> list[GoldSentence]:
    """At most `limit` sentences per corpus, for a quick look."""
    kept: list[GoldSentence] = []
    counts: dict[str, int] = {}
    for sentence in sentences:
        if counts.get(sentence.corpus, 0) < limit:
            counts[sentence.corpus] = counts.get(sentence.corpus, 0) + 1
            kept.append(sentence)
    return kept
