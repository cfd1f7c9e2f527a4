"""Parquet tables published atomically, so a killed run never leaves a half-written table.

Layout of an output folder:

    outputs/
      documents -> .claims-store/current/documents     (one symlink per table)
      sentences -> .claims-store/current/sentences
      .claims-store/
        current -> snapshots/00000007                  (swapped atomically)
        snapshots/00000007/<table>/part-*.parquet
        lock

A commit builds the next snapshot beside the current one, hard-linking the Parquet files it
keeps and writing new ones, then swaps `current` with one `rename`: readers see the old
tables or the new ones, never a mix. `pd.read_parquet("outputs/<table>")` and
`duckdb.sql("select * from 'outputs/<table>/*.parquet'")` read through the symlinks.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import shutil
import uuid
from collections.abc import Callable, Collection, Iterator, Mapping
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from pipeline.storage.parts import conform, is_leased, read_parts
from pipeline.storage.schemas import DOCUMENT_TABLES, SOURCE_TABLES, TABLES

STORE_DIR = ".claims-store"
_COMPRESSION = "zstd"
_COMPACT_BATCH_ROWS = 4_096
_ROW_GROUP_ROWS = 131_072
_ROW_GROUP_BYTES = 32 * 1024 * 1024  # `documents` rows hold whole articles


# Builds a derived table from the staged snapshot (and the one it replaces, or None).
Derive = Callable[[Path, Path | None], pa.Table]


class StoreBusy(RuntimeError):
    """Another run holds the output folder."""


class TableStore:
    """The output folder: read the current tables, commit changes as a new snapshot."""

    def __init__(self, out_dir: Path | str, keep_snapshots: int = 3, max_parts: int = 16):
        self.out_dir = Path(out_dir)
        self.root = self.out_dir / STORE_DIR
        self.snapshots = self.root / "snapshots"
        self.current_link = self.root / "current"
        self.keep_snapshots = max(keep_snapshots, 1)
        self.max_parts = max_parts

    # Reading ---------------------------------------------------------------------------

    def current(self) -> Path | None:
        """The published snapshot folder, or None before the first commit."""
        if not self.current_link.is_symlink():
            if self.current_link.exists():
                raise RuntimeError(
                    f"{self.current_link} is not a symlink (was the folder copied without "
                    "keeping links?); copy it with `cp -a` or start a new output folder"
                )
            return None
        return self.current_link.resolve()

    def parts(self, table: str, snapshot: Path | None = None) -> list[Path]:
        snapshot = snapshot or self.current()
        if snapshot is None:
            return []
        return sorted((snapshot / table).glob("*.parquet"))

    def read(self, table: str, columns: list[str] | None = None) -> pa.Table:
        """The current rows of a table (empty, with its schema, before the first commit).

        Unchecked: the run that holds the folder reads tables of any schema version, to
        re-process them.
        """
        return read_parts(table, self.parts(table), columns)

    # Writing ---------------------------------------------------------------------------

    @contextlib.contextmanager
    def lock(self) -> Iterator[None]:
        """Hold the folder for one run; a second concurrent run fails fast."""
        self.root.mkdir(parents=True, exist_ok=True)
        with (self.root / "lock").open("w") as handle:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                raise StoreBusy(
                    f"another run is writing to {self.out_dir}; wait for it to finish"
                ) from None
            try:
                self._remove_unpublished()
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    def commit(
        self,
        added: Mapping[str, list[pa.Table]],
        drop_doc_ids: set[str] = frozenset(),
        drop_sources: set[str] = frozenset(),
        compact: bool = False,
        replace_tables: Collection[str] = (),
        derive: Mapping[str, Derive] | None = None,
    ) -> Path:
        """Publish a new snapshot: current rows, minus replaced ones, plus `added`.

        `drop_doc_ids` removes an article's rows from every per-article table;
        `drop_sources` removes rows of `errors` and `duplicates` (SOURCE_TABLES) for sources
        that were read again;
        `replace_tables` start empty (their rows are all in `added`, e.g. `reviews`);
        `derive` rebuilds tables from the others once they are staged, so a derived table
        (`claim_summary`) is published in the same snapshot as the rows it summarises; a
        builder that raises fails the commit and the current snapshot stays as it was.
        """
        derive = derive or {}
        previous = self.current()
        number = self._next_number()
        staging = self.snapshots / f"{number:08d}.tmp"
        final = self.snapshots / f"{number:08d}"
        try:
            self._stage(
                staging,
                number,
                previous,
                added,
                drop_doc_ids,
                drop_sources,
                compact,
                replace_tables,
                derive,
            )
        except BaseException:  # nothing half-built is left behind (the lock would clean it)
            shutil.rmtree(staging, ignore_errors=True)
            raise
        os.rename(staging, final)
        self._publish(final)
        self._remove_old(final)
        return final

    def _stage(
        self,
        staging: Path,
        number: int,
        previous: Path | None,
        added: Mapping[str, list[pa.Table]],
        drop_doc_ids: set[str],
        drop_sources: set[str],
        compact: bool,
        replace_tables: Collection[str],
        derive: Mapping[str, Derive],
    ) -> None:
        """Build the next snapshot's folder: every table, derived ones last."""
        for table in TABLES:
            (staging / table).mkdir(parents=True)
        for table, schema in TABLES.items():
            folder = staging / table
            if table in derive:
                continue
            for part in [] if table in replace_tables else self.parts(table, previous):
                self._carry_over(part, folder, table, drop_doc_ids, drop_sources)
            new_rows = [t for t in added.get(table, []) if t.num_rows]
            if new_rows:
                combined = pa.concat_tables([t.cast(schema) for t in new_rows])
                self._write(combined, folder, number)
            if compact or len(list(folder.glob("*.parquet"))) > self.max_parts:
                self._compact(folder, schema, number)
            if not any(folder.glob("*.parquet")):
                # Readers (pandas, DuckDB globs) need at least one file to see the schema.
                self._write(schema.empty_table(), folder, number)
        for table, build in derive.items():
            self._write(build(staging, previous).cast(TABLES[table]), staging / table, number)

    def _carry_over(
        self,
        part: Path,
        folder: Path,
        table: str,
        drop_doc_ids: set[str],
        drop_sources: set[str],
    ) -> None:
        metadata = pq.read_metadata(part)
        if metadata.num_rows == 0:
            return
        key, drop = None, None
        if table in DOCUMENT_TABLES and drop_doc_ids:
            key, drop = "doc_id", drop_doc_ids
        elif table in SOURCE_TABLES and drop_sources:
            key, drop = "source", drop_sources
        if key is not None:
            values = pq.read_table(part, columns=[key]).column(key)
            hits = pc.is_in(values, value_set=pa.array(sorted(drop), pa.string()))
            if pc.any(hits).as_py():
                rows = pq.read_table(part, schema=TABLES[table]).filter(pc.invert(hits))
                if rows.num_rows:
                    # A new name: a reader holding an old listing fails loudly instead of
                    # reading changed content under a name it already knows.
                    self._write(rows, folder, self._number_of(folder))
                return
        os.link(part, folder / part.name)

    @staticmethod
    def _number_of(folder: Path) -> int:
        return int(folder.parent.name.split(".")[0])

    def _write(self, table: pa.Table, folder: Path, number: int) -> None:
        name = f"part-{number:08d}-{uuid.uuid4().hex[:8]}.parquet"
        pq.write_table(table, folder / name, compression=_COMPRESSION)

    def _compact(self, folder: Path, schema: pa.Schema, number: int) -> None:
        """Merge a table's parts into one file, streaming record batches.

        A compacted part holds the whole table, so reading parts whole would make a run's
        memory grow with the corpus; batches keep it flat.
        """
        parts = sorted(folder.glob("*.parquet"))
        if len(parts) <= 1:
            return
        target = folder / f"part-{number:08d}-compact-{uuid.uuid4().hex[:8]}.parquet"
        with pq.ParquetWriter(target, schema, compression=_COMPRESSION) as writer:
            pending: list[pa.RecordBatch] = []  # one row group, bounded in rows and bytes
            for part in parts:
                with pq.ParquetFile(part) as source:
                    for batch in source.iter_batches(batch_size=_COMPACT_BATCH_ROWS):
                        pending.append(conform(batch, schema))
                        rows = sum(b.num_rows for b in pending)
                        if (
                            rows >= _ROW_GROUP_ROWS
                            or sum(b.nbytes for b in pending) >= _ROW_GROUP_BYTES
                        ):
                            _write_row_group(writer, pending, schema)
                            pending = []
            if pending:
                _write_row_group(writer, pending, schema)
        for part in parts:
            part.unlink()

    def _publish(self, snapshot: Path) -> None:
        temporary = self.root / f"current.{uuid.uuid4().hex[:8]}"
        os.symlink(Path("snapshots") / snapshot.name, temporary)
        os.replace(temporary, self.current_link)
        for table in TABLES:
            link = self.out_dir / table
            if link.is_symlink():
                continue
            if link.exists():
                raise FileExistsError(
                    f"{link} exists and is not a table link; move it away or use another --out"
                )
            os.symlink(Path(STORE_DIR) / "current" / table, link)
        for link in self.out_dir.iterdir():  # a table an older schema had, renamed since
            target = Path(STORE_DIR) / "current" / link.name
            if link.name not in TABLES and link.is_symlink() and Path(os.readlink(link)) == target:
                link.unlink()

    def _next_number(self) -> int:
        self.snapshots.mkdir(parents=True, exist_ok=True)
        numbers = [
            int(p.name.split(".")[0])
            for p in self.snapshots.iterdir()
            if p.name.split(".")[0].isdigit()
        ]
        return max(numbers, default=0) + 1

    def _remove_unpublished(self) -> None:
        """Drop what a killed run left behind: staging folders and unpublished snapshots."""
        if not self.snapshots.exists():
            return
        current = self.current()
        for path in self.snapshots.iterdir():
            unpublished = current is None or path.name > current.name
            if path.name.endswith(".tmp") or unpublished:
                shutil.rmtree(path, ignore_errors=True)

    def _remove_old(self, current: Path) -> None:
        """Keep the newest `keep_snapshots`, and any a live reader holds a lease on."""
        published = sorted(p for p in self.snapshots.iterdir() if p.name.isdigit())
        for path in published[: -self.keep_snapshots]:
            if path != current and not is_leased(path):
                shutil.rmtree(path, ignore_errors=True)


def _write_row_group(
    writer: pq.ParquetWriter, batches: list[pa.RecordBatch], schema: pa.Schema
) -> None:
    table = pa.Table.from_batches(batches, schema=schema)
    writer.write_table(table, row_group_size=max(table.num_rows, 1))
