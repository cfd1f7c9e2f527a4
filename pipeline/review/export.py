"""Reviewers' verdicts as the `reviews` table, beside the claims they judge or in one file."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from pipeline.review.verdicts import VerdictStore, default_db_path
from pipeline.storage.store import TableStore


class NothingToExport(FileNotFoundError):
    """No verdict database, or no tables to write the verdicts beside."""


def export_reviews(
    tables_dir: Path | str, db: Path | str | None = None, out: Path | str | None = None
) -> tuple[pa.Table, Path]:
    """Write every verdict (the whole history, `is_latest` marking the ones that count).

    Into the `reviews` table of `tables_dir`, published as a new snapshot with the claims
    it was computed against (`claim_present`), or into the Parquet file `out`. Returns the
    table and where it went. Raises NothingToExport, VerdictError, or StoreBusy while a run
    holds the folder.
    """
    tables_dir = Path(tables_dir)
    db_path = Path(db) if db is not None else default_db_path(tables_dir)
    if not db_path.exists():
        raise NothingToExport(f"no verdict database at {db_path}; nothing to export")
    store = TableStore(tables_dir)

    def verdicts() -> pa.Table:
        claim_ids = store.read("claims", columns=["claim_id"]).column("claim_id").to_pylist()
        return VerdictStore(db_path).export(set(claim_ids))

    if out is not None:
        out = Path(out)
        table = verdicts()
        out.parent.mkdir(parents=True, exist_ok=True)
        pq.write_table(table, out, compression="zstd")
        return table, out
    if store.current() is None:
        raise NothingToExport(f"{tables_dir} has no tables; run `claims run` first or pass --out")
    with store.lock():  # `claim_present` is computed against the claims it publishes with
        table = verdicts()
        store.commit({"reviews": [table]}, replace_tables={"reviews"})
    return table, tables_dir / "reviews"
