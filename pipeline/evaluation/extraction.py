"""Score a pipeline on the claim gold in memory: by genre, by role, with error families.

`claims evaluate claims` scores a run's tables; this scores processed Docs directly, so that
training (`models/scripts/train_claims.py`) can pick a threshold and print figures without a
run. Both use the same matching (`pipeline.evaluation.evaluate.score`).

    docs = process(nlp, gold_articles(["dev"]))          # {doc name: Doc}
    report = evaluate_docs(docs, gold_edges(["dev"]), genres)

Error families say where a claim is lost or wrongly made:
- misses: `quote not in a sentence` (segmentation), `no substance` (the sentence has no
  substance mention and the article no subject), `no span` (no candidate span holds the
  key stems), `not chosen` (a candidate existed and the model did not keep it);
- false positives: `wrong role`, `wrong substance`, `span` (the right edge, a value without
  the key stems), `no such claim` (nothing like it in the gold).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field

from spacy.language import Language
from spacy.tokens import Doc

from pipeline.evaluation.evaluate import (
    Evaluation,
    GoldEdge,
    PredictedEdge,
    names_match,
    normalise,
    score,
)
from pipeline.evaluation.gold import GoldArticle
from pipeline.ingest import read_text
from pipeline.nlp.loader import make_doc


def process(nlp: Language, articles: Iterable[GoldArticle], batch_size: int = 16) -> dict[str, Doc]:
    """Each article read as `claims run` reads a record's text (format guessed), then run
    through `nlp`."""
    articles = list(articles)
    documents = [read_text(a.text, source=a.doc) for a in articles]
    docs = nlp.pipe((make_doc(nlp, d) for d in documents), batch_size=batch_size)
    return {a.doc: doc for a, doc in zip(articles, docs, strict=True)}


def predicted_edges(docs: dict[str, Doc]) -> list[PredictedEdge]:
    """`doc._.claims` as edges, one per distinct (sentence, role, value, names)."""
    edges: dict[tuple, PredictedEdge] = {}
    for name, doc in docs.items():
        for claim in doc._.claims or ():
            mention = claim.substance
            names = {mention.span.text, mention.norm}
            if mention.antecedent is not None:
                names.add(mention.antecedent.text)
            names_ = frozenset(n for n in names if n)
            for role, slot in (("target", claim.target), ("effect", claim.effect)):
                if slot is None:
                    continue
                sentence = claim.sentence
                key = (name, sentence.start, role, slot.span.text, names_)
                edges.setdefault(
                    key,
                    PredictedEdge(
                        doc=name,
                        doc_id=name,
                        sentence_id=f"{name}:{sentence.start}",
                        sentence=sentence.text.strip(),
                        role=role,
                        value=slot.span.text,
                        substance=mention.span.text,
                        names=names_,
                        polarity=slot.polarity if role == "effect" else None,
                        hedged=claim.hedged,
                        negated=claim.negated,
                        rule=claim.rule,
                        claim_id=f"{name}:{slot.span.start_char}",
                    ),
                )
    return list(edges.values())


def aliases_of(docs: dict[str, Doc]) -> dict[str, dict[str, set[str]]]:
    """Gold name -> normalised name -> other forms, from each Doc's abbreviations."""
    found: dict[str, dict[str, set[str]]] = {}
    for name, doc in docs.items():
        forms: dict[str, set[str]] = {}
        for short in getattr(doc._, "abbreviations", None) or ():
            long = short._.long_form
            if long is None:
                continue
            a, b = normalise(short.text), normalise(long.text)
            forms.setdefault(a, set()).add(b)
            forms.setdefault(b, set()).add(a)
        found[name] = forms
    return found


@dataclass
class Report:
    """Scores overall, by genre and by role, and the counts of each error family."""

    overall: Evaluation
    by_genre: dict[str, Evaluation]
    misses: Counter = field(default_factory=Counter)
    false_positives: Counter = field(default_factory=Counter)

    def format(self, title: str) -> str:
        lines = [
            f"## {title}",
            "",
            "| scope | P | R | F1 | hedge acc | neg acc | polarity |",
            "|---|---|---|---|---|---|---|",
        ]

        def row(label: str, e: Evaluation) -> str:
            s = e.overall
            f1 = f"{s.f1:.2f}" if s.f1 is not None else "n/a"
            return (
                f"| {label} | {s.precision} | {s.recall} | {f1} | {e.hedge} | "
                f"{e.negation} | {e.polarity} |"
            )

        lines.append(row("all", self.overall))
        for role, scores in self.overall.by_role.items():
            f1 = f"{scores.f1:.2f}" if scores.f1 is not None else "n/a"
            lines.append(f"| {role}s | {scores.precision} | {scores.recall} | {f1} | | | |")
        for genre, evaluation in sorted(self.by_genre.items()):
            lines.append(row(genre, evaluation))
        lines += [
            "",
            "Misses by family: " + _counts(self.misses),
            "False positives by family: " + _counts(self.false_positives),
            "",
        ]
        return "\n".join(lines)


def _counts(counter: Counter) -> str:
    return ", ".join(f"{k} {v}" for k, v in counter.most_common()) or "none"


def evaluate_docs(
    docs: dict[str, Doc],
    gold: list[GoldEdge],
    genres: dict[str, str],
    candidates: dict[str, list] | None = None,
) -> Report:
    """Score the Docs' claims against the gold; `candidates` (doc -> the extractor's
    candidates) lets misses be told apart into `no span` and `not chosen`."""
    predicted = predicted_edges(docs)
    aliases = aliases_of(docs)
    overall = score(gold, predicted, aliases)
    by_genre = {}
    for genre in sorted(set(genres.values())):
        names = {d for d, g in genres.items() if g == genre}
        subset = [g for g in gold if g.doc in names]
        if subset:
            by_genre[genre] = score(subset, [p for p in predicted if p.doc in names], aliases)
    report = Report(overall, by_genre)
    sentences = {name: [normalise(s.text) for s in doc.sents] for name, doc in docs.items()}
    for miss in overall.misses:
        report.misses[_miss_family(miss, docs, sentences, candidates)] += 1
    for edge in overall.false_positives:
        report.false_positives[_false_positive_family(edge, gold, aliases)] += 1
    return report


def _miss_family(
    miss: GoldEdge,
    docs: dict[str, Doc],
    sentences: dict[str, list[str]],
    candidates: dict[str, list] | None,
) -> str:
    quote = normalise(miss.quote)
    texts = sentences.get(miss.doc, [])
    if not any(quote in s for s in texts):
        return "quote not in a sentence"
    if candidates is None:
        return "missed"
    in_sentence = [c for c in candidates.get(miss.doc, ()) if quote in normalise(c.sentence.text)]
    if not in_sentence:
        return "no substance"
    named = [c for c in in_sentence if names_match(c.names, miss.substance)]
    if not named:
        return "no substance"
    fits = [
        c
        for c in named
        if c.role == miss.role and all(stem in normalise(c.span.text) for stem in miss.key)
    ]
    return "not chosen" if fits else "no span"


def _false_positive_family(
    edge: PredictedEdge, gold: list[GoldEdge], aliases: dict[str, dict[str, set[str]]]
) -> str:
    sentence = normalise(edge.sentence)
    value = normalise(edge.value)
    here = [g for g in gold if g.doc == edge.doc and normalise(g.quote) in sentence]
    doc_aliases = aliases.get(edge.doc, {})
    if any(
        all(s in value for s in g.key) and names_match(edge.names, g.substance, doc_aliases)
        for g in here
    ):
        return "wrong role"
    if any(all(s in value for s in g.key) and g.role == edge.role for g in here):
        return "wrong substance"
    if any(g.role == edge.role and names_match(edge.names, g.substance, doc_aliases) for g in here):
        return "span"
    return "no such claim"
