"""Gather the articles a claim gold names into a corpus folder that `claims run` can read.

    python models/scripts/gold_corpus.py --gold models/gold/claims/dev --out outputs/gold/dev/corpus

Gold files hold labels and short quotes only; the articles stay where they are: seed articles in
`corpus/`, FakeHealth and dosewiki records in the corpora folder ($CLAIMS_CORPORA), found by
their record id. A gold document that cannot be found is an error, so a score never silently
covers fewer articles than the gold.
"""

from __future__ import annotations

import argparse
import json
import shutil
from pathlib import Path

from pipeline.evaluation.evaluate import load_gold
from pipeline.paths import PROJECT_DIR, corpora_dir

RECORD_FILES = (
    "fakehealth/HealthStory_content.jsonl",
    "fakehealth/HealthRelease_content.jsonl",
    "dosewiki_substance_articles/articles.jsonl",
)
ID_KEYS = ("news_id", "id", "doc_id", "file")  # dosewiki records are named by file


def gather(gold: Path, out: Path, corpora: Path) -> list[str]:
    wanted = sorted({edge.doc for edge in load_gold([gold])})
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    missing = set(wanted)
    for name in wanted:
        seed = PROJECT_DIR / "corpus" / f"{name}.txt"
        if seed.exists():
            shutil.copy(seed, out / seed.name)
            missing.discard(name)
    records = []
    for relative in RECORD_FILES:
        path = corpora / relative
        if not missing or not path.exists():
            continue
        with open(path, encoding="utf-8") as handle:
            for line in handle:
                record = json.loads(line)
                record_id = next((record[k] for k in ID_KEYS if k in record), None)
                if record_id in missing:
                    records.append(record)
                    missing.discard(record_id)
    if missing:
        raise SystemExit(f"gold documents not found in corpus/ or {corpora}: {sorted(missing)}")
    if records:
        with open(out / "records.jsonl", "w", encoding="utf-8") as handle:
            for record in records:
                handle.write(json.dumps(record, ensure_ascii=False) + "\n")
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
