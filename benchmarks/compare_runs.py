"""Compare two runs' tables: articles lost or gained, counts, and the top of claim_summary.

    python benchmarks/compare_runs.py BEFORE_DIR AFTER_DIR [--top 20]

An article counts as processed when `documents` has its source; "lost" lists the sources
the first run processed and the second did not (in `errors` instead, or missing).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import pandas as pd


def _read(folder: Path, table: str, columns: list[str] | None = None) -> pd.DataFrame:
    return pd.read_parquet(folder / table, columns=columns)


def _top(folder: Path, n: int) -> pd.DataFrame:
    summary = _read(folder, "claim_summary")
    if "level" in summary.columns:  # schema 10: effect and target rows regroup the claims
        summary = summary[summary["level"].isna() | (summary["level"] == "claim")]
    summary = summary.sort_values(["n_articles", "n_sentences"], ascending=False).head(n)
    return summary[["substance", "target", "effect", "n_articles", "n_sentences", "n_claims"]]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("before", type=Path)
    parser.add_argument("after", type=Path)
    parser.add_argument("--top", type=int, default=20)
    args = parser.parse_args()
    sources = {}
    for label, folder in (("before", args.before), ("after", args.after)):
        documents = _read(folder, "documents", ["source"])
        errors = _read(folder, "errors", ["source", "error_type"])
        claims = _read(folder, "claims", ["claim_id"])
        sentences = _read(folder, "sentences", ["sentence_id"])
        sources[label] = set(documents["source"])
        kinds = errors["error_type"].value_counts().to_dict()
        print(
            f"{label}: {len(documents):,} articles, {len(sentences):,} sentences, "
            f"{len(claims):,} claims, {len(errors):,} errors {kinds}"
        )
    lost = sorted(sources["before"] - sources["after"])
    gained = sorted(sources["after"] - sources["before"])
    print(f"articles lost: {len(lost)} {lost[:10]}")
    print(f"articles gained: {len(gained)} {gained[:10]}")
    for label, folder in (("before", args.before), ("after", args.after)):
        print(f"\ntop {args.top} of claim_summary, {label}:")
        print(_top(folder, args.top).to_string(index=False))


if __name__ == "__main__":
    main()
