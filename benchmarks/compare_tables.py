"""Do two output folders hold the same rows? Every table, every column but the volatile ones.

    python benchmarks/compare_tables.py BEFORE_DIR AFTER_DIR [--ignore COLUMN ...]

Run ids, timestamps and the pipeline version differ between any two runs; `--ignore` adds
columns a deliberate change renamed or added. Exit 1 when any table differs.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import pandas as pd

VOLATILE = {
    "run_id",
    "processed_at",
    "pipeline_version",
    "first_seen",
    "last_seen",
    "occurred_at",
    "started_at",
    "finished_at",
    "seconds",
    "words_per_second",
    "flow_run_id",
    "parameters",
    "corpus",
}
TABLES = (
    "documents",
    "sentences",
    "abbreviations",
    "entities",
    "claims",
    "cues",
    "claim_summary",
    "errors",
)


# Renamed by schema version 7: read the older names from a folder written before it.
RENAMED_TABLES = {"cues": "hedges"}


def _frame(folder: Path, table: str, ignore: set[str]) -> pd.DataFrame:
    if not (folder / table).exists() and table in RENAMED_TABLES:
        table = RENAMED_TABLES[table]
    frame = pd.read_parquet(folder / table)
    new = "study_designs" if table == "claim_summary" else "study_design"
    frame = frame.rename(columns={"hedge_id": "cue_id", "evidence": new})
    frame = frame.drop(columns=[c for c in frame.columns if c in ignore])
    frame = frame.map(lambda v: tuple(v) if hasattr(v, "tolist") and not isinstance(v, str) else v)
    return frame.sort_values(list(frame.columns)).reset_index(drop=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("before", type=Path)
    parser.add_argument("after", type=Path)
    parser.add_argument("--ignore", nargs="*", default=[])
    args = parser.parse_args()
    ignore = VOLATILE | set(args.ignore)
    different = 0
    for table in TABLES:
        before, after = _frame(args.before, table, ignore), _frame(args.after, table, ignore)
        same = list(before.columns) == list(after.columns) and before.equals(after)
        different += not same
        print(
            f"{table:14} {len(before):>8,} rows -> {len(after):>8,} rows  "
            f"{'identical' if same else 'DIFFERENT'}"
        )
    return 1 if different else 0


if __name__ == "__main__":
    sys.exit(main())
