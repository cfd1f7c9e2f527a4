"""Publishing a run's rows: checkpoints while it goes, and the final commit.

Checkpoints only add rows (replacing older rows of the same article ids), so a killed run
never loses an article. Rows that became stale (an article whose text changed, a record
that moved or vanished, errors of sources read again) are dropped by the final commit,
once the whole corpus has been read. Every commit recomputes `claim_summary` from the rows
it publishes, so any snapshot, a checkpoint too, summarises exactly its `claims`.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

import pyarrow as pa

from pipeline.ingest import IngestError
from pipeline.storage.claim_summary import summarise_snapshot
from pipeline.storage.records import error_row
from pipeline.storage.schemas import to_table
from pipeline.storage.store import Derive, TableStore

Tables = dict[str, list[pa.Table]]  # table name -> new parts


class Commits:
    """The commits of one run to one output folder (the run holds its lock)."""

    def __init__(self, store: TableStore, run_id: str):
        self.store = store
        self.run_id = run_id

    def checkpoint(self, tables: Tables, replaced: set[str]) -> None:
        """Publish finished batches; `replaced` articles' older rows go."""
        if tables:
            self.store.commit(tables, drop_doc_ids=replaced, derive=self._derived())

    def finish(
        self,
        tables: Tables,
        *,
        replaced: set[str],
        stale: set[str],
        retried: set[str],
        errors: list[IngestError],
        duplicates: Sequence[tuple[str, str, str]] = (),
        run_row: dict,
    ) -> None:
        """The last commit: remaining batches, the run's errors and duplicates (source,
        doc_id, kept source), its row, clean-up."""
        added = dict(tables)
        now = datetime.now(UTC)
        if errors:
            added["errors"] = [to_table("errors", [error_row(e, self.run_id, now) for e in errors])]
        if duplicates:
            rows = [
                {"source": s, "doc_id": d, "kept_source": k, "run_id": self.run_id, "seen_at": now}
                for s, d, k in duplicates
            ]
            added["duplicates"] = [to_table("duplicates", rows)]
        added["runs"] = [to_table("runs", [run_row])]
        self.store.commit(
            added, drop_doc_ids=replaced | stale, drop_sources=retried, derive=self._derived()
        )

    def _derived(self) -> dict[str, Derive]:
        run_id = self.run_id
        return {"claim_summary": lambda staged, before: summarise_snapshot(staged, before, run_id)}
