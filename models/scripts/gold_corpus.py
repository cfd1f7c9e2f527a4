"""Gather the articles a claim gold names into a corpus folder that `claims run` can read.

    python models/scripts/gold_corpus.py --gold models/gold/claims/dev --out outputs/gold/dev/corpus

Gold files hold labels and short quotes only; the texts are rebuilt as the annotators read
them (`pipeline.evaluation.gold.article_text`: seed articles from `corpus/`, FakeHealth
records as title + newline + text, dosewiki pages cut to the annotated sections) from the
corpora folder ($CLAIMS_CORPORA) and written as one JSON Lines file whose record ids are the
gold names. A gold document that cannot be found is an error, so a score never silently
covers fewer articles than the gold.
"""

from __future__ import annotations

import argparse
import json
import shutil
from pathlib import Path

from pipeline.evaluation.evaluate import load_gold
from pipeline.evaluation.gold import article_text, sections_of
from pipeline.paths import corpora_dir


def gather(gold: Path, out: Path, corpora: Path) -> list[str]:
    """Write the gold's articles, as their annotators read them, to `out/records.jsonl`."""
    wanted = sorted({edge.doc for edge in load_gold([gold])})
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    sections = sections_of()
    with open(out / "records.jsonl", "w", encoding="utf-8") as handle:
        for name in wanted:
            try:
                text = article_text(name, sections.get(name, ""), corpora)
            except FileNotFoundError as error:
                raise SystemExit(str(error)) from None
            handle.write(json.dumps({"id": name, "text": text}, ensure_ascii=False) + "\n")
    return wanted


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--gold", type=Path, required=True)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--corpora", type=Path, default=None)
    args = parser.parse_args(argv)
    names = gather(args.gold, args.out, args.corpora or corpora_dir())
    print(f"{len(names)} gold articles -> {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
