"""Merge two independent annotators' claim gold into one, printing their agreement.

    python models/scripts/merge_gold.py --a A_DIR --b B_DIR --texts TEXTS_DIR \
        --manifest models/gold/articles.csv --out models/gold/claims

Each annotator's folder holds `<name>.jsonl` per article (`name` is the text file's stem, as
`select_gold.py --texts` writes them). The merge follows `../shared/gold-guideline.md` and the
shared claim gold's README:
- two edges are the same edge when their quotes fall in the same sentence, their roles are
  equal, a substance name of one equals or contains one of the other's, and the key stems of
  one are all in the other's value;
- an edge is required only when both annotators made it and both made it required; every
  other edge either made is optional;
- where the two disagree on `hedged` or `negated`, the field is null (not scored); on
  polarity, annotator A's value is kept and the disagreement counted.

Agreement per article is printed: edges both made over all edges made (F1 of one annotator
against the other), the same over required edges, and hedged / negated / polarity agreement
on the edges both made. `--report` writes the same figures as JSON.

A quote that runs over a line break (a table row's two lines) is cut to its line holding the
value, when that line is unique in the text: the pipeline never joins two lines in a sentence.
"""

from __future__ import annotations

import argparse
import csv
import json
import re
from dataclasses import dataclass, field
from pathlib import Path

from pipeline.paths import PROJECT_DIR

_SENTENCE_END = re.compile(r"(?<=[.!?])[\"'”’)\]]*\s+(?=[\"'“‘(\[]?[A-Z0-9])")


def sentence_spans(text: str) -> list[tuple[int, int]]:
    """Character spans of the text's sentences: lines, cut after ., ! or ? before a capital."""
    spans = []
    offset = 0
    for line in text.split("\n"):
        start = 0
        for match in _SENTENCE_END.finditer(line):
            spans.append((offset + start, offset + match.start()))
            start = match.end()
        spans.append((offset + start, offset + len(line)))
        offset += len(line) + 1
    return spans


def _sentence_of(text: str, spans: list[tuple[int, int]], quote: str) -> int | None:
    at = text.find(quote)
    if at < 0:
        return None
    return next((i for i, (s, e) in enumerate(spans) if s <= at < e or at < s), None)


def _names_overlap(a: list[str], b: list[str]) -> bool:
    a_low = [n.lower() for n in a]
    b_low = [n.lower() for n in b]
    return any(x in y or y in x for x in a_low for y in b_low)


def _keys_in(key: str, value: str) -> bool:
    return all(stem in value.lower() for stem in key.split())


def same_edge(a: dict, b: dict) -> bool:
    """The guideline's matching rule, applied to two annotators' edges (sentence aside)."""
    return (
        a["role"] == b["role"]
        and _names_overlap(a["substance"], b["substance"])
        and (_keys_in(a["key"], b["value"]) or _keys_in(b["key"], a["value"]))
    )


def fix_quote(edge: dict, text: str) -> dict:
    """Cut a quote over a line break to its line holding the value (when unique)."""
    if "\n" not in edge["quote"]:
        return edge
    lines = [line.strip() for line in edge["quote"].split("\n") if line.strip()]
    lines.sort(key=lambda line: (-sum(s in line.lower() for s in edge["key"].split()), -len(line)))
    for line in lines:
        if text.count(line) == 1:
            return {**edge, "quote": line}
    return edge


@dataclass
class Agreement:
    """Counts of one article (or all): edges of A, of B, and of both."""

    a: int = 0
    b: int = 0
    both: int = 0
    a_required: int = 0
    b_required: int = 0
    both_required: int = 0
    flags: dict[str, list[int]] = field(
        default_factory=lambda: {"hedged": [0, 0], "negated": [0, 0], "polarity": [0, 0]}
    )

    def add(self, other: Agreement) -> None:
        for name in ("a", "b", "both", "a_required", "b_required", "both_required"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        for name, (same, seen) in other.flags.items():
            self.flags[name][0] += same
            self.flags[name][1] += seen

    @staticmethod
    def _f1(both: int, a: int, b: int) -> float | None:
        return 2 * both / (a + b) if a + b else None

    def to_json(self) -> dict:
        return {
            "edges_a": self.a,
            "edges_b": self.b,
            "edges_both": self.both,
            "f1_all": self._f1(self.both, self.a, self.b),
            "required_a": self.a_required,
            "required_b": self.b_required,
            "required_both": self.both_required,
            "f1_required": self._f1(self.both_required, self.a_required, self.b_required),
            **{
                f"{name}_agreement": (same / seen if seen else None)
                for name, (same, seen) in self.flags.items()
            },
            "flag_pairs": {name: seen for name, (_, seen) in self.flags.items()},
        }


def merge_article(
    a_edges: list[dict], b_edges: list[dict], text: str, doc: str
) -> tuple[list[dict], Agreement]:
    """The merged edges of one article and the two annotators' agreement on it."""
    spans = sentence_spans(text)
    a_edges = [fix_quote(e, text) for e in a_edges]
    b_edges = [fix_quote(e, text) for e in b_edges]
    where_a = [_sentence_of(text, spans, e["quote"]) for e in a_edges]
    where_b = [_sentence_of(text, spans, e["quote"]) for e in b_edges]
    agreement = Agreement(
        a=len(a_edges),
        b=len(b_edges),
        a_required=sum(not e["optional"] for e in a_edges),
        b_required=sum(not e["optional"] for e in b_edges),
    )
    used_b: set[int] = set()
    merged = []
    for i, edge in enumerate(a_edges):
        partner = next(
            (
                j
                for j, other in enumerate(b_edges)
                if j not in used_b
                and where_a[i] is not None
                and where_a[i] == where_b[j]
                and same_edge(edge, other)
            ),
            None,
        )
        if partner is None:
            merged.append({**edge, "doc": doc, "optional": True})
            continue
        used_b.add(partner)
        other = b_edges[partner]
        agreement.both += 1
        required = not edge["optional"] and not other["optional"]
        agreement.both_required += required
        record = {**edge, "doc": doc, "optional": not required}
        names = list(edge["substance"])
        names += [n for n in other["substance"] if n.lower() not in {x.lower() for x in names}]
        record["substance"] = names
        if not _keys_in(edge["key"], other["value"]):
            record["key"] = other["key"] if _keys_in(other["key"], edge["value"]) else edge["key"]
        for name in ("hedged", "negated", "polarity"):
            same = edge[name] == other[name]
            agreement.flags[name][0] += same
            agreement.flags[name][1] += 1
            if not same and name != "polarity":
                record[name] = None
        merged.append(record)
    merged += [
        {**b_edges[j], "doc": doc, "optional": True} for j in range(len(b_edges)) if j not in used_b
    ]
    return merged, agreement


def _read(path: Path) -> list[dict]:
    if not path.exists():
        raise SystemExit(f"{path} is missing: every article needs both annotators' files")
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--a", type=Path, required=True)
    parser.add_argument("--b", type=Path, required=True)
    parser.add_argument("--texts", type=Path, required=True, nargs="+")
    parser.add_argument("--manifest", type=Path, default=PROJECT_DIR / "models/gold/articles.csv")
    parser.add_argument("--out", type=Path, default=PROJECT_DIR / "models/gold/claims")
    parser.add_argument("--report", type=Path, help="write the agreement figures as JSON")
    args = parser.parse_args()
    with open(args.manifest, encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    total = Agreement()
    report = {}
    print(
        f"{'article':48} {'split':5} {'A':>4} {'B':>4} {'both':>4} {'F1':>5} {'F1 req':>6} "
        f"{'hedge':>5} {'neg':>5} {'pol':>5}"
    )
    for row in rows:
        name = row["doc"].removesuffix(".md").replace(" ", "_")
        text_path = next(
            (d / f"{name}.txt" for d in args.texts if (d / f"{name}.txt").exists()), None
        )
        if text_path is None:
            raise SystemExit(f"no text for {name} in {args.texts}")
        text = text_path.read_text(encoding="utf-8")
        merged, agreement = merge_article(
            _read(args.a / f"{name}.jsonl"), _read(args.b / f"{name}.jsonl"), text, row["doc"]
        )
        total.add(agreement)
        figures = agreement.to_json()
        report[row["doc"]] = {"split": row["split"], "genre": row["genre"], **figures}

        def show(value: float | None) -> str:
            return f"{value:5.2f}" if value is not None else "    -"

        print(
            f"{row['doc'][:48]:48} {row['split']:5} {agreement.a:4} {agreement.b:4} "
            f"{agreement.both:4} {show(figures['f1_all'])} {show(figures['f1_required']):>6} "
            f"{show(figures['hedged_agreement'])} {show(figures['negated_agreement'])} "
            f"{show(figures['polarity_agreement'])}"
        )
        folder = args.out / row["split"]
        folder.mkdir(parents=True, exist_ok=True)
        with open(folder / f"{name}.jsonl", "w", encoding="utf-8") as handle:
            for edge in merged:
                handle.write(json.dumps(edge, ensure_ascii=False) + "\n")
    figures = total.to_json()
    report["all"] = figures
    print(
        f"all: {total.a} + {total.b} edges, {total.both} made by both: F1 {figures['f1_all']:.2f}"
        f" (required {figures['f1_required']:.2f}); on shared edges hedged "
        f"{figures['hedged_agreement']:.2f}, negated {figures['negated_agreement']:.2f}, "
        f"polarity {figures['polarity_agreement']:.2f}"
    )
    if args.report:
        args.report.write_text(json.dumps(report, indent=1) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
