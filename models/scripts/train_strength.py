"""Train the claim strength classifier (`claims_strength`, pipeline/nlp/strength.py).

    python models/scripts/train_strength.py                      # shipped weights: our news labels
    python models/scripts/train_strength.py --train news,yu --out models/build/strength-yu/...

The shipped weights learn from our own labels on FakeHealth sentences
(`models/gold/strength/train*.jsonl`: 2,600 sentences, two annotators each, disagreements
adjudicated),
which the corpora README allows. Yu et al.'s PubMed corpus is GPL-3 and marked there for
evaluation and experiments only, so `--train` with `yu` is an experiment: its output must not
be assembled into the shipped pipeline. The news evaluation sample (`eval.jsonl`) is never
trained on.

The regularisation C is chosen by 5-fold cross-validation on the training sentences (macro-F1),
then the weights are fit on all of them and written with the word lists and a note of what
they learned from (`--out`, default models/build/strength/strength.json.gz, which
`assemble.py --extraction-only` picks up).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from pipeline.evaluation.strength import (
    cross_validate,
    news_sentences,
    parse_features,
    yu_sentences,
)
from pipeline.nlp.loader import load
from pipeline.nlp.strength import StrengthWeights, default_words, fit_weights

PROJECT = Path(__file__).resolve().parents[2]

OUT = PROJECT / "models" / "build" / "strength" / "strength.json.gz"
C_GRID = (0.1, 0.3, 1.0, 3.0)
TRAIN_DRAWS = ("train", "train2", "train3")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default=None, help="pipeline that parses (default: shipped)")
    parser.add_argument("--train", default="news", help="news, yu or news,yu (default: news)")
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args(argv)
    sources = [s.strip() for s in args.train.split(",") if s.strip()]
    if not sources or set(sources) - {"news", "yu"}:
        parser.error("--train takes news, yu or news,yu")
    nlp = load(args.model)
    texts: list[str] = []
    labels: list[str] = []
    notes = []
    if "news" in sources:
        news = [s for draw in TRAIN_DRAWS for s in news_sentences(draw)]
        texts += [s.text for s in news]
        labels += [s.strength for s in news]
        notes.append(f"news-train: {len(news)} FakeHealth sentences (models/gold/strength)")
    if "yu" in sources:
        yu = yu_sentences()
        texts += [s.text for s in yu]
        labels += [s.strength for s in yu]
        notes.append(f"yu: {len(yu)} PubMed sentences (GPL-3, experiment only)")
    features = parse_features(nlp, texts)
    best = None
    for c in C_GRID:
        figures = cross_validate(features, labels, c=c)
        print(
            f"C={c}: 5-fold macro-F1 {figures['mean_macro_f1']:.3f} "
            f"acc {figures['mean_accuracy']:.3f}"
        )
        if best is None or figures["mean_macro_f1"] > best[1]["mean_macro_f1"]:
            best = (c, figures)
    c, figures = best
    model = fit_weights(features, labels, c)
    weights = StrengthWeights(
        default_words(),
        model,
        "; ".join(notes),
        {
            "c": c,
            "cv_macro_f1": round(figures["mean_macro_f1"], 4),
            "cv_accuracy": round(figures["mean_accuracy"], 4),
            "sentences": len(labels),
            "features": len(model.weights),
        },
    )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    weights.write(args.out)
    print(f"C={c}; {len(model.weights)} features; wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
