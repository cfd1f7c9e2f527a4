"""Figures of claim semantics over a run's tables (issue 19): how many negated claims rest
only on a negating affix, how many substance names carry an ontology id, repeated claim
rows, and the top of `claim_summary`.

    python benchmarks/claim_semantics.py OUT_DIR [OUT_DIR ...] [--top 30]

An affixal cue is one word whose negation is its affix ("unexpected", "painless"), judged by
`pipeline.nlp.hedging.is_affixal`'s rule on the cue's text. Printed per run, so a run before
a change and one after can be read side by side.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from pipeline.nlp.hedging import _AFFIX, NEGATORS
from pipeline.storage import tables


def affixal(cue: str) -> bool:
    """The text form of `is_affixal`: one word, no negator, a negating affix."""
    word = cue.strip().lower()
    return " " not in word and word not in NEGATORS and bool(_AFFIX.match(word))


def report(out_dir: Path, top: int) -> str:
    claims = tables.frame(out_dir, "claims", ["negated", "negation_cues"])
    negated = claims[claims["negated"]]
    only_affix = negated["negation_cues"].map(
        lambda cues: len(cues) > 0 and all(affixal(c) for c in cues)
    )
    lines = [
        f"## {out_dir}",
        "",
        f"claims: {len(claims):,}; negated: {len(negated):,}; negated only by an affix: "
        f"{int(only_affix.sum()):,} ({100 * only_affix.mean() if len(negated) else 0:.1f}%)",
        "",
        *grounding(out_dir),
        "",
        f"top {top} of claim_summary by articles:",
        "",
    ]
    columns = ["level", "substance", "target", "effect", "n_articles"]
    summary = tables.frame(out_dir, "claim_summary", columns).astype(object)
    summary = summary[summary["level"] == "claim"]
    summary = summary.where(summary.notna(), "-")
    summary = summary.sort_values(["n_articles", "substance"], ascending=[False, True]).head(top)
    for row in summary.itertuples():
        lines.append(f"- {row.substance} -> {row.target} -> {row.effect} ({row.n_articles})")
    return "\n".join(lines) + "\n"


def grounding(out_dir: Path) -> list[str]:
    """Distinct substance names with an ontology id, in `entities` and in `claims`, and the
    (sentence, substance, target, effect) groups that repeat in `claims`."""
    entities = tables.frame(out_dir, "entities", ["label", "norm", "norm_id"])
    substances = entities[entities["label"] == "SUBSTANCE"]
    in_entities = substances.groupby("norm")["norm_id"].agg(lambda ids: ids.notna().any())
    keys = ["sentence_id", "substance_norm", "target_norm", "effect_norm"]
    claims = tables.frame(out_dir, "claims", [*keys, "substance_id"])
    in_claims = claims.groupby("substance_norm")["substance_id"].agg(lambda i: i.notna().any())
    repeats = claims.groupby(keys, dropna=False).size()

    def share(found) -> str:
        percent = 100 * found.mean() if len(found) else 0.0
        return f"{int(found.sum()):,} of {len(found):,} ({percent:.1f}%)"

    return [
        f"substance names with an id: entities {share(in_entities)}; claims {share(in_claims)}",
        f"repeated (sentence, substance, target, effect) groups in claims: {(repeats > 1).sum():,}",
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("runs", nargs="+", type=Path, help="output folders of `claims run`")
    parser.add_argument("--top", type=int, default=30)
    args = parser.parse_args(argv)
    for out_dir in args.runs:
        print(report(out_dir, args.top))
    return 0


if __name__ == "__main__":
    sys.exit(main())
