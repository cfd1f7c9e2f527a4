"""Reading a table's Parquet parts, and leases that keep a snapshot while it is read.

The one place that turns parts into rows: `TableStore.read` (the writer's view while it
holds the folder) and `tables.Snapshot` (every reader's pinned, checked view) both call
`read_parts`. Parts written under an older schema are read as they are, the columns a later
schema added coming back null.

A snapshot is kept until three newer ones are published; one that a reader holds (a DuckDB
connection's views point at its files) carries a lease file naming the reader's process,
and the store keeps a leased snapshot until the lease is released or its process is gone.
"""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import Sequence
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from pipeline.storage.schemas import TABLES

LEASES = ".leases"


def read_parts(
    name: str,
    parts: Sequence[Path],
    columns: Sequence[str] | None = None,
    doc_ids: Sequence[str] | None = None,
) -> pa.Table:
    """Rows of table `name` from its parts, in its schema (projected to `columns`).

    `doc_ids` keeps the rows of those articles only (a corpus is larger than its gold).
    Raises KeyError for a column or table the schemas do not have.
    """
    if name not in TABLES:
        raise KeyError(f"no table named {name}; the tables are {', '.join(TABLES)}")
    schema = TABLES[name]
    if columns is not None:
        unknown = [c for c in columns if c not in schema.names]
        if unknown:
            raise KeyError(f"`{name}` has no column {', '.join(unknown)}")
        schema = pa.schema([schema.field(c) for c in columns], metadata=schema.metadata)
    read = list(schema.names)
    wanted = None if doc_ids is None else pa.array(sorted(set(doc_ids)), pa.string())
    if wanted is not None and "doc_id" not in read:
        read.append("doc_id")  # to filter by, dropped by `conform`
    pieces = []
    for part in parts:
        present = set(pq.read_schema(part).names)
        table = pq.read_table(part, columns=[c for c in read if c in present])
        if wanted is not None:
            table = table.filter(pc.is_in(table["doc_id"], value_set=wanted))
        pieces.append(conform(table, schema))
    return pa.concat_tables(pieces) if pieces else schema.empty_table()


def conform(data: pa.Table | pa.RecordBatch, schema: pa.Schema) -> pa.Table | pa.RecordBatch:
    """`data` in `schema`: its columns cast, the ones it lacks (added by a later schema) null,
    the ones `schema` does not name dropped."""
    names = data.schema.names
    arrays = [
        data.column(field.name).cast(field.type)
        if field.name in names
        else pa.nulls(data.num_rows, field.type)
        for field in schema
    ]
    return type(data).from_arrays(arrays, schema=schema)


def take_lease(snapshot: Path) -> Path:
    """Mark `snapshot` as read by this process until `release(lease)`."""
    folder = snapshot / LEASES
    folder.mkdir(exist_ok=True)
    lease = folder / f"{os.getpid()}-{uuid.uuid4().hex[:8]}"
    lease.touch()
    return lease


def release(lease: Path) -> None:
    with contextlib.suppress(OSError):
        lease.unlink()


def is_leased(snapshot: Path) -> bool:
    """True while a live process holds a lease on `snapshot`; stale leases are removed."""
    folder = snapshot / LEASES
    if not folder.is_dir():
        return False
    held = False
    for lease in folder.iterdir():
        pid = lease.name.split("-", 1)[0]
        if pid.isdigit() and _alive(int(pid)):
            held = True
        else:
            release(lease)
    return held


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process: alive
        return True
    return True
