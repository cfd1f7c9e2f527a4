"""Merge two annotators' claim-strength labels into gold, and print their agreement.

    python models/scripts/merge_strength.py --labels /tmp/strength/labels \\
        [--adjudicated /tmp/strength/labels/adjudicated-all.jsonl]

For each draw (`eval`: files `eval-E1.jsonl`, `eval-E2.jsonl`; `train`: `trainA-1/2`,
`trainB-1/2`; `train2`: `trainC-1/2`, `trainD-1/2`; `train3`: `trainE/F/G-1/2`), a sentence's
`strength` is the label both annotators gave. Where they differ it is the adjudicator's label
when `--adjudicated` has one (a third annotator who saw both labels and the guideline, not the
extractor), else null: not gold. Writes `models/gold/strength/<draw>.jsonl` (the sample's
offsets and quote, both labels, the adjudicated one, the gold) and `agreement.json` (raw
agreement and Cohen's kappa per draw).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from pathlib import Path

from pipeline.evaluation.strength import GOLD_DIR, STRENGTHS

FILES = {
    "eval": [("eval-E1", "eval-E2")],
    "train": [("trainA-1", "trainA-2"), ("trainB-1", "trainB-2")],
    "train2": [("trainC-1", "trainC-2"), ("trainD-1", "trainD-2")],
    "train3": [("trainE-1", "trainE-2"), ("trainF-1", "trainF-2"), ("trainG-1", "trainG-2")],
}


def _read(path: Path) -> dict[str, dict]:
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]
    for row in rows:
        if row["strength"] not in STRENGTHS:
            raise SystemExit(f"{path}: {row['id']} has unknown strength {row['strength']!r}")
    return {row["id"]: row for row in rows}


def kappa(a: list[str], b: list[str]) -> float:
    """Cohen's kappa of two label lists."""
    n = len(a)
    observed = sum(x == y for x, y in zip(a, b, strict=True)) / n
    ca, cb = Counter(a), Counter(b)
    expected = sum(ca[k] * cb[k] for k in STRENGTHS) / (n * n)
    return (observed - expected) / (1 - expected) if expected < 1 else 1.0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--labels", type=Path, required=True)
    parser.add_argument("--adjudicated", type=Path, default=None)
    args = parser.parse_args(argv)
    adjudicated = _read(args.adjudicated) if args.adjudicated else {}
    agreement = {}
    for draw, pairs in FILES.items():
        sample = [
            json.loads(line)
            for line in (GOLD_DIR / f"sample-{draw}.jsonl").read_text().splitlines()
            if line
        ]
        first: dict[str, dict] = {}
        second: dict[str, dict] = {}
        for one, two in pairs:
            first.update(_read(args.labels / f"{one}.jsonl"))
            second.update(_read(args.labels / f"{two}.jsonl"))
        missing = [row["id"] for row in sample if row["id"] not in first or row["id"] not in second]
        if missing:
            raise SystemExit(f"{draw}: no labels for {missing[:5]} ...")
        a = [first[row["id"]]["strength"] for row in sample]
        b = [second[row["id"]]["strength"] for row in sample]
        rows, resolved = [], 0
        for row, x, y in zip(sample, a, b, strict=True):
            third = adjudicated.get(row["id"], {}).get("strength") if x != y else None
            resolved += third is not None
            rows.append(
                {
                    **row,
                    "a": x,
                    "b": y,
                    "adjudicated": third,
                    "strength": x if x == y else third,
                }
            )
        (GOLD_DIR / f"{draw}.jsonl").write_text(
            "".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8"
        )
        agreed = sum(x == y for x, y in zip(a, b, strict=True))
        agreement[draw] = {
            "sentences": len(sample),
            "agreed": agreed,
            "raw": round(agreed / len(sample), 3),
            "kappa": round(kappa(a, b), 3),
            "adjudicated": resolved,
            "gold": sum(r["strength"] is not None for r in rows),
            "gold_counts": dict(Counter(r["strength"] for r in rows if r["strength"])),
            "disagreements": dict(
                Counter(f"{x} / {y}" for x, y in zip(a, b, strict=True) if x != y)
            ),
        }
        print(
            f"{draw}: {len(sample)} sentences, agreement {agreed}/{len(sample)} "
            f"({agreed / len(sample):.2f}), kappa {kappa(a, b):.2f}, adjudicated {resolved}, "
            f"gold {agreement[draw]['gold']}: {agreement[draw]['gold_counts']}"
        )
    (GOLD_DIR / "agreement.json").write_text(json.dumps(agreement, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
