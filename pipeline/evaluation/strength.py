"""Claim strength gold and scores: Yu et al.'s PubMed corpus and our own news sample.

Two sources of labelled sentences, each as `(text, strength)` pairs:

- `yu_sentences()`: the 3,061 PubMed conclusion sentences of Yu, Li and Wang (EMNLP 2019),
  read from `$CLAIMS_CORPORA/claim_strength_yu/` (GPL-3; the corpora README allows it for
  evaluation and experiments, not for a shipped model's weights). The corpus ships two CSVs of
  the same sentences with different codes: the EMNLP 2019 file uses the repository README's
  codes (0 none, 1 direct causal, 2 conditional causal, 3 correlational); the COLING 2020 file
  swaps 1 and 3. `yu_sentences` reads the EMNLP file and checks the other agrees under the
  swap, so a mixed-up copy fails loudly instead of scoring against the wrong labels.
- `news_sentences(draw)`: FakeHealth sentences we labelled (`models/gold/strength/`), rebuilt
  from the article texts by offsets (the repository holds labels, offsets and short quotes).

`scores(gold, predicted)` gives accuracy, macro-F1 and per-class precision, recall and F1.
"""

from __future__ import annotations

import csv
import json
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from pipeline.nlp.strength import STRENGTHS
from pipeline.paths import PROJECT_DIR, corpora_dir

GOLD_DIR = PROJECT_DIR / "models" / "gold" / "strength"
YU_DIR = "claim_strength_yu"
YU_FILE = "pubmed_causal_language_use_EMNLP2019_labels.csv"
YU_OTHER = "annotated_pubmed_COLING2020_labels.csv"
# Codes of the EMNLP 2019 file (the repository README's table).
YU_CODES = {"0": "none", "1": "direct_causal", "2": "conditional_causal", "3": "correlational"}
# The COLING 2020 file swaps direct causal and correlational.
YU_OTHER_CODES = {
    "0": "none",
    "1": "correlational",
    "2": "conditional_causal",
    "3": "direct_causal",
}
MAX_QUOTE_WORDS = 10


@dataclass(frozen=True)
class Labelled:
    """A sentence with its strength; `doc`, `start`, `end` locate news sentences."""

    text: str
    strength: str
    id: str = ""
    doc: str = ""
    start: int = -1
    end: int = -1


def quote_for(text: str, words: int = MAX_QUOTE_WORDS) -> str:
    """The sentence's first `words` words: enough to find it, short enough to commit."""
    return " ".join(text.split()[:words])


def yu_sentences(corpora: Path | None = None) -> list[Labelled]:
    """Yu et al.'s 3,061 sentences with their strengths, in file order.

    Raises FileNotFoundError when the corpus is absent and ValueError when the two CSVs do
    not agree under the documented code swap.
    """
    folder = (corpora or corpora_dir()) / YU_DIR
    main, other = folder / YU_FILE, folder / YU_OTHER
    if not main.exists():
        raise FileNotFoundError(
            f"claim strength corpus not found: {main} (set $CLAIMS_CORPORA or pass --corpora)"
        )
    rows = _csv(main)
    if other.exists():
        second = _csv(other)
        if len(second) != len(rows) or any(
            a[0] != b[0] or YU_CODES[a[1]] != YU_OTHER_CODES[b[1]]
            for a, b in zip(rows, second, strict=True)
        ):
            raise ValueError(f"{main.name} and {other.name} disagree beyond the code swap")
    return [
        Labelled(text.strip(), YU_CODES[code], id=f"yu-{i:04d}")
        for i, (text, code) in enumerate(rows)
    ]


def _csv(path: Path) -> list[tuple[str, str]]:
    with open(path, encoding="utf-8", newline="") as handle:
        return [(row["sentence"], row["label"].strip()) for row in csv.DictReader(handle)]


def news_sentences(draw: str, corpora: Path | None = None) -> list[Labelled]:
    """Our labelled news sentences of `draw` ("eval" or "train"), texts rebuilt by offsets.

    Reads `models/gold/strength/<draw>.jsonl` (merged labels). Raises FileNotFoundError when
    the gold or an article is missing, ValueError when a quote no longer matches its offsets
    (the article text changed).
    """
    from pipeline.evaluation.gold import article_text

    path = GOLD_DIR / f"{draw}.jsonl"
    if not path.exists():
        raise FileNotFoundError(f"no strength gold: {path}")
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]
    texts: dict[str, str] = {}
    out = []
    for row in rows:
        if row["doc"] not in texts:
            texts[row["doc"]] = article_text(row["doc"], corpora=corpora)
        text = texts[row["doc"]][row["start"] : row["end"]]
        if quote_for(text) != row["quote"]:
            raise ValueError(
                f"{row['id']}: the text at its offsets no longer starts with its quote"
            )
        if row.get("strength") is None:
            continue  # annotators disagreed and no adjudication: not gold
        out.append(Labelled(text, row["strength"], row["id"], row["doc"], row["start"], row["end"]))
    return out


def scores(gold: Sequence[str], predicted: Sequence[str]) -> dict:
    """Accuracy, macro-F1 over the four strengths, per-class P/R/F1 and support.

    Classes absent from both gold and predictions are left out of the macro average (a small
    news sample may lack one); `classes` says which were averaged.
    """
    if len(gold) != len(predicted):
        raise ValueError("gold and predicted differ in length")
    per_class = {}
    for label in STRENGTHS:
        tp = sum(g == p == label for g, p in zip(gold, predicted, strict=True))
        n_pred = sum(p == label for p in predicted)
        n_gold = sum(g == label for g in gold)
        precision = tp / n_pred if n_pred else 0.0
        recall = tp / n_gold if n_gold else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        per_class[label] = {
            "p": precision,
            "r": recall,
            "f1": f1,
            "support": n_gold,
            "predicted": n_pred,
        }
    averaged = [
        label for label in STRENGTHS if per_class[label]["support"] or per_class[label]["predicted"]
    ]
    macro = sum(per_class[label]["f1"] for label in averaged) / len(averaged) if averaged else 0.0
    accuracy = (
        sum(g == p for g, p in zip(gold, predicted, strict=True)) / len(gold) if gold else 0.0
    )
    return {
        "n": len(gold),
        "accuracy": accuracy,
        "macro_f1": macro,
        "classes": averaged,
        "per_class": per_class,
        "confusion": Counter(zip(gold, predicted, strict=True)),
    }


# -- features, cross-validation and the figures of `claims evaluate strength` ----------------------


def parse_features(nlp, texts: Sequence[str], batch_size: int = 64) -> list[list[str]]:
    """The strength classifier's features of each text, parsed whole by `nlp` up to its cues.

    Uses the pipeline's `claims_strength` word lists (a fresh classifier's when it has none);
    components after `claims_hedging` are not run.
    """
    from pipeline.nlp.strength import StrengthClassifier

    if "claims_strength" in nlp.pipe_names:
        classifier = nlp.get_pipe("claims_strength")
    else:
        classifier = StrengthClassifier(
            nlp, "claims_strength", hedges_key="hedge_cues", negations_key="negation_cues"
        )
    names = nlp.pipe_names
    last = names.index("claims_hedging") if "claims_hedging" in names else len(names) - 1
    disabled = names[last + 1 :]
    with nlp.select_pipes(disable=disabled):
        return [classifier.features(doc[:]) for doc in nlp.pipe(texts, batch_size=batch_size)]


def cross_validate(
    features: Sequence[list[str]],
    labels: Sequence[str],
    folds: int = 5,
    seed: int = 0,
    c: float = 1.0,
) -> dict:
    """Stratified `folds`-fold cross-validation of the strength classifier.

    Returns {"folds": [scores per fold], "pooled": scores of all held-out predictions,
    "mean_macro_f1", "mean_accuracy"}. Needs scikit-learn (the `train` extra).
    """
    from sklearn.model_selection import StratifiedKFold

    from pipeline.nlp.strength import fit_weights

    splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
    predicted = [""] * len(labels)
    per_fold = []
    for train, test in splitter.split(list(range(len(labels))), list(labels)):
        model = fit_weights([features[i] for i in train], [labels[i] for i in train], c)
        fold_predicted = [model.predict(features[i]) for i in test]
        for i, label in zip(test, fold_predicted, strict=True):
            predicted[i] = label
        per_fold.append(scores([labels[i] for i in test], fold_predicted))
    return {
        "folds": per_fold,
        "pooled": scores(list(labels), predicted),
        "mean_macro_f1": sum(f["macro_f1"] for f in per_fold) / folds,
        "mean_accuracy": sum(f["accuracy"] for f in per_fold) / folds,
    }


# Yu et al.'s published figures (EMNLP 2019, BioBERT, 5-fold): accuracy and macro-F1.
YU_PUBLISHED = {"accuracy": 0.90, "macro_f1": 0.88}


def evaluate_strength(
    nlp, corpora: Path | None = None, folds: int = 5, c: float = 1.0, limit: int | None = None
) -> dict:
    """Every strength figure, each saying what it was trained on and what it was measured on.

    - `yu_cv`: the classifier's features, trained and tested within Yu's corpus by `folds`-fold
      cross-validation (an experiment: the corpus may not train a shipped model);
    - `shipped_on_yu`: the shipped weights on all of Yu (never trained on it: cross-domain);
    - `shipped_on_news`: the shipped weights on our doubly annotated news sample (never
      trained on);
    - `yu_on_news`: weights fit on all of Yu, on the news sample (an experiment).
    `limit` takes every k-th of Yu's sentences, about `limit` of them, for a quick check.
    Raises FileNotFoundError when a corpus or the gold is missing.
    """
    from pipeline.nlp.strength import fit_weights

    classifier = nlp.get_pipe("claims_strength") if "claims_strength" in nlp.pipe_names else None
    shipped = classifier.weights.model if classifier is not None else None
    yu = yu_sentences(corpora)
    if limit is not None and limit < len(yu):
        yu = yu[:: -(-len(yu) // limit)]
    news = news_sentences("eval", corpora)
    yu_features = parse_features(nlp, [s.text for s in yu])
    news_features = parse_features(nlp, [s.text for s in news])
    yu_gold = [s.strength for s in yu]
    news_gold = [s.strength for s in news]
    figures = {
        "yu_sentences": len(yu),
        "yu_cv": cross_validate(yu_features, yu_gold, folds=folds, c=c),
        "yu_published": YU_PUBLISHED,
        "trained_on": classifier.weights.trained_on if classifier is not None else "",
    }
    if shipped is not None:
        figures["shipped_on_yu"] = scores(yu_gold, [shipped.predict(f) for f in yu_features])
        figures["shipped_on_news"] = scores(news_gold, [shipped.predict(f) for f in news_features])
    yu_model = fit_weights(yu_features, yu_gold, c)
    figures["yu_on_news"] = scores(news_gold, [yu_model.predict(f) for f in news_features])
    return figures


def format_report(figures: dict) -> str:
    """The figures of `evaluate_strength` as a plain-text table."""
    lines = ["Claim strength (Yu et al.'s four values), macro-F1 and accuracy", ""]

    def row(name: str, s: dict, note: str) -> str:
        return (
            f"  {name:<34} n={s['n']:>5}  macro-F1 {s['macro_f1']:.3f}  "
            f"acc {s['accuracy']:.3f}  {note}"
        )

    cv = figures["yu_cv"]
    name = f"Yu PubMed, {len(cv['folds'])}-fold CV (mean)"
    lines.append(
        f"  {name:<34} n={cv['pooled']['n']:>5}  macro-F1 "
        f"{cv['mean_macro_f1']:.3f}  acc {cv['mean_accuracy']:.3f}  trained within Yu (experiment)"
    )
    published = figures["yu_published"]
    lines.append(
        f"  {'Yu et al., BioBERT (published)':<34} {'':>7}  macro-F1 {published['macro_f1']:.3f}  "
        f"acc {published['accuracy']:.3f}  EMNLP 2019, 5-fold CV"
    )
    if "shipped_on_yu" in figures:
        lines.append(
            row("shipped weights on Yu PubMed", figures["shipped_on_yu"], "never trained on Yu")
        )
        lines.append(row("shipped weights on news sample", figures["shipped_on_news"], "held out"))
    lines.append(row("Yu-trained weights on news sample", figures["yu_on_news"], "experiment"))
    lines.append("")
    lines.append(f"  shipped weights: {figures.get('trained_on') or 'none'}")
    for name in ("shipped_on_news", "shipped_on_yu"):
        if name in figures:
            lines.append("")
            lines.append(f"  per class, {name.replace('_', ' ')}:")
            for label, c in figures[name]["per_class"].items():
                lines.append(
                    f"    {label:<20} P {c['p']:.2f}  R {c['r']:.2f}  F1 {c['f1']:.2f}  "
                    f"gold {c['support']:>4}  predicted {c['predicted']:>4}"
                )
    return "\n".join(lines)
