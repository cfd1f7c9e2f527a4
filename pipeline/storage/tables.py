"""A run's tables in a notebook: pandas DataFrames or DuckDB views, checked before use.

    from pipeline.storage import tables

    frames = tables.frames("outputs")            # {"claims": DataFrame, ...}
    con = tables.duckdb("outputs")               # views: claims, documents, claim_summary...
    con.sql("select substance, n_articles from claim_summary order by n_articles desc")

Both read one published snapshot of the output folder, so a run publishing meanwhile never
gives claims of one run and documents of another. Both refuse tables this code cannot read
as documented: written under an older schema version (a pipeline before a column or table
was added) or a newer one, saying which and how to rebuild them. When some articles were
processed by an older pipeline than the folder's latest run, they warn
(`OlderPipelineWarning`): the rows are readable but come from an older extractor.

Columns come in the dtypes `docs/tables.md` lists (`pipeline.storage.schemas.pandas_dtype`).
"""

from __future__ import annotations

import warnings
import weakref
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import duckdb as _duckdb
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from pipeline.storage.parts import read_parts, release, take_lease
from pipeline.storage.schemas import SCHEMA_VERSION, TABLES, pandas_dtype
from pipeline.storage.store import TableStore

__all__ = [
    "NewerTables",
    "NoTables",
    "OlderPipelineWarning",
    "OutdatedTables",
    "TablesError",
    "UnfinishedRunWarning",
    "duckdb",
    "frame",
    "frames",
    "load",
    "load_table",
    "snapshot",
    "to_pandas",
]

_VERSION_KEY = b"claims.schema_version"
_ATTEMPTS = 3  # a snapshot retired while being read is re-read this many times


class TablesError(RuntimeError):
    """The folder's tables cannot be read as documented; the message says what to do."""


class NoTables(TablesError):
    """No output folder, or no run has published tables in it yet."""


class OutdatedTables(TablesError):
    """The tables were written under an older schema version."""


class NewerTables(TablesError):
    """The tables were written under a newer schema version than this code knows."""


class OlderPipelineWarning(UserWarning):
    """Some articles' rows come from an older pipeline than the folder's latest run."""


class UnfinishedRunWarning(UserWarning):
    """The tables hold articles of a run that has not finished (going on, or stopped)."""


@dataclass(frozen=True)
class Snapshot:
    """One published state of an output folder, checked against the schemas once.

    Every reader of the tables goes through it: `read` (Arrow), `pandas` (the documented
    dtypes) and `duckdb` (views), all of the same snapshot, never a mix of two runs.
    """

    out_dir: Path
    path: Path  # .claims-store/snapshots/<n>: stays put while later runs publish
    parts: dict[str, list[Path]]  # table -> its Parquet files
    schema_version: str | None  # of the latest finished run; None before any finished
    pipeline_version: str | None  # of the latest finished run
    corpus: str | None  # what the latest finished run read

    def read(
        self, name: str, columns: Sequence[str] | None = None, doc_ids: Iterable[str] | None = None
    ) -> pa.Table:
        """Rows of one checked table (optionally some columns, some articles)."""
        if name not in self.parts:
            raise KeyError(f"the snapshot was not checked for `{name}`; ask `snapshot()` for it")
        ids = None if doc_ids is None else list(doc_ids)
        return read_parts(name, self.parts[name], columns, ids)

    def pandas(
        self, name: str, columns: Sequence[str] | None = None, doc_ids: Iterable[str] | None = None
    ) -> pd.DataFrame:
        """`read` as a DataFrame in the dtypes `docs/tables.md` lists."""
        return to_pandas(self.read(name, columns, doc_ids))

    def duckdb(
        self, connection: _duckdb.DuckDBPyConnection | None = None
    ) -> _duckdb.DuckDBPyConnection:
        """A DuckDB connection with one view per checked table, reading the Parquet files in
        place. The snapshot is leased while the connection lives, so runs publishing in the
        meantime do not remove the files its views read."""
        con = connection if connection is not None else _duckdb.connect()
        for name, parts in self.parts.items():
            files = ", ".join(_sql_string(str(part)) for part in parts)
            columns = ", ".join(_sql_name(field.name) for field in TABLES[name])
            con.execute(
                f"create or replace view {_sql_name(name)} as select {columns} "
                f"from read_parquet([{files}], union_by_name = true)"
            )
        weakref.finalize(con, release, take_lease(self.path))
        return con


def snapshot(out_dir: Path | str, tables: Iterable[str] | None = None) -> Snapshot:
    """The folder's current snapshot, after checking that `tables` can be read.

    Raises NoTables, OutdatedTables or NewerTables with a message for a person; warns with
    OlderPipelineWarning when articles were processed by an older pipeline.
    """
    out_dir = Path(out_dir)
    names = _names(tables)
    if not out_dir.is_dir():
        raise NoTables(
            f"There is no output folder at {out_dir}. Run `claims run CORPUS --out {out_dir}` "
            "first."
        )
    store = TableStore(out_dir)
    try:
        current = store.current()
    except RuntimeError as error:  # the store's own explanation (e.g. copied without links)
        raise TablesError(str(error)) from None
    if current is None:
        raise NoTables(
            f"{out_dir} has no tables yet. Run `claims run CORPUS --out {out_dir}` first."
        )
    latest = _latest_run(store.parts("runs", current))
    schema_version = latest.get("schema_version")
    rerun = f"`claims run {latest.get('corpus') or 'CORPUS'} --out {out_dir}`"
    if schema_version is not None:
        _check_version(schema_version, out_dir, "the latest run", rerun)
    parts = {}
    for name in names:
        parts[name] = store.parts(name, current)
        if not parts[name]:
            raise OutdatedTables(
                f"{out_dir} has no `{name}` table (the latest run used schema version "
                f"{schema_version or 'unknown'}; this code reads version {SCHEMA_VERSION}). "
                f"Run {rerun} with this version to rebuild it."
            )
        for part in parts[name]:
            _check_part(name, part, out_dir, rerun)
    _warn_about_documents(store.parts("documents", current), latest, out_dir)
    return Snapshot(
        out_dir=out_dir,
        path=current,
        parts=parts,
        schema_version=schema_version,
        pipeline_version=latest.get("pipeline_version"),
        corpus=latest.get("corpus"),
    )


def frames(out_dir: Path | str, tables: Iterable[str] | None = None) -> dict[str, pd.DataFrame]:
    """Every table (or those named) of the folder's current snapshot, as DataFrames.

    Keys are table names in `docs/tables.md` order; columns have the documented dtypes.
    """
    names = _names(tables)
    return _retrying(out_dir, names, lambda pinned: {n: pinned.pandas(n) for n in names})


def frame(out_dir: Path | str, name: str, columns: Sequence[str] | None = None) -> pd.DataFrame:
    """One table as a DataFrame, optionally only some columns (documents.text is large)."""
    return _retrying(out_dir, [name], lambda pinned: pinned.pandas(name, columns))


def load(out_dir: Path | str, tables: Iterable[str] | None = None) -> dict[str, pd.DataFrame]:
    """Deprecated spelling of `frames` (kept for one release)."""
    warnings.warn("tables.load is now tables.frames", DeprecationWarning, stacklevel=2)
    return frames(out_dir, tables)


def load_table(
    out_dir: Path | str, name: str, columns: Sequence[str] | None = None
) -> pd.DataFrame:
    """Deprecated spelling of `frame` (kept for one release)."""
    warnings.warn("tables.load_table is now tables.frame", DeprecationWarning, stacklevel=2)
    return frame(out_dir, name, columns)


def duckdb(
    out_dir: Path | str,
    tables: Iterable[str] | None = None,
    connection: _duckdb.DuckDBPyConnection | None = None,
) -> _duckdb.DuckDBPyConnection:
    """A DuckDB connection with one view per table of the folder's current snapshot.

    Views read the Parquet files in place (nothing is loaded until queried) and show the
    state of one run: call again after a new run to see its tables. The connection holds
    its snapshot (a lease) while it lives, so it keeps working while runs publish newer
    ones. Pass `connection` to add the views to an existing one.
    """
    return snapshot(out_dir, tables).duckdb(connection)


def _retrying(out_dir: Path | str, names: list[str], read):
    """`read(snapshot)`, taking the newer snapshot if later runs retired this one mid-read."""
    for attempt in range(_ATTEMPTS):
        try:
            return read(snapshot(out_dir, names))
        except FileNotFoundError:
            if attempt == _ATTEMPTS - 1:
                raise
    raise AssertionError("unreachable")


def to_pandas(table: pa.Table) -> pd.DataFrame:
    """A table of one of our schemas as a DataFrame in the documented dtypes."""
    mapper = {
        pa.string(): pd.StringDtype(),
        pa.list_(pa.string()): pd.ArrowDtype(pa.list_(pa.string())),
    }
    frame = table.to_pandas(types_mapper=mapper.get)
    for field in table.schema:
        dtype = pandas_dtype(field)
        if str(frame[field.name].dtype) != dtype:
            frame[field.name] = frame[field.name].astype(dtype)
    return frame


# Reading ---------------------------------------------------------------------------------


def _names(tables: Iterable[str] | None) -> list[str]:
    if tables is None:
        return list(TABLES)
    names = [tables] if isinstance(tables, str) else list(tables)
    unknown = [name for name in names if name not in TABLES]
    if unknown:
        raise KeyError(f"no table named {', '.join(unknown)}; the tables are {', '.join(TABLES)}")
    return names


# Checks ----------------------------------------------------------------------------------


def _latest_run(parts: list[Path]) -> dict:
    """The latest finished run's row (run_id, corpus, versions), {} when none finished."""
    wanted = [
        *("run_id", "started_at", "finished_at", "corpus", "pipeline_version", "schema_version")
    ]
    rows: list[dict] = []
    for part in parts:
        present = [c for c in wanted if c in pq.read_schema(part).names]
        rows.extend(pq.read_table(part, columns=present).to_pylist())
    rows = [row for row in rows if row.get("started_at") is not None]
    return max(rows, key=lambda row: row["started_at"], default={})


def _check_version(version: str, out_dir: Path, what: str, rerun: str) -> None:
    ours = int(SCHEMA_VERSION)
    theirs = int(version) if str(version).isdigit() else None
    if theirs is not None and theirs > ours:
        raise NewerTables(
            f"The tables in {out_dir} were written by a newer pipeline ({what} used schema "
            f"version {version}; this code reads version {SCHEMA_VERSION}). Upgrade this "
            "package (pip install -U health-claims) to read them."
        )
    if theirs is None or theirs < ours:
        raise OutdatedTables(
            f"The tables in {out_dir} come from an older pipeline ({what} used schema version "
            f"{version}; this code reads version {SCHEMA_VERSION}). Run {rerun} with this "
            "version to bring them up to date."
        )


def _check_part(name: str, part: Path, out_dir: Path, rerun: str) -> None:
    """A part of an older schema version is fine when its columns are still the documented
    ones (the store keeps unchanged parts across versions); otherwise say what is missing."""
    found = pq.read_schema(part)
    version = (found.metadata or {}).get(_VERSION_KEY, b"unknown").decode()
    if version.isdigit() and int(version) > int(SCHEMA_VERSION):
        _check_version(version, out_dir, f"its `{name}` table", rerun)
    schema = TABLES[name]
    missing = [f.name for f in schema if f.name not in found.names]
    changed = [
        f"{f.name} ({found.field(f.name).type}, now {f.type})"
        for f in schema
        if f.name in found.names and not found.field(f.name).type.equals(f.type)
    ]
    if missing or changed:
        problems = []
        if missing:
            problems.append(f"no column {', '.join(missing)}")
        if changed:
            problems.append(f"other types: {', '.join(changed)}")
        raise OutdatedTables(
            f"The `{name}` table in {out_dir} comes from an older pipeline (schema version "
            f"{version}; this code reads version {SCHEMA_VERSION}): {'; '.join(problems)}. "
            f"Run {rerun} with this version to rebuild it."
        )


def _warn_about_documents(parts: list[Path], latest: dict, out_dir: Path) -> None:
    """Warn about rows the latest finished run does not account for: articles last processed
    by an older pipeline, and articles a run still going (or stopped) has published."""
    documents = pa.concat_tables(
        [pq.read_table(part, columns=["pipeline_version", "processed_at"]) for part in parts]
    )
    if not latest:
        if documents.num_rows:
            warnings.warn(
                UnfinishedRunWarning(
                    f"No run has finished in {out_dir} yet: its {documents.num_rows:,} articles "
                    "are the checkpoints of a run that is going on or was stopped, and `runs` "
                    "has no row for it. The next `claims run` completes it."
                ),
                stacklevel=3,
            )
        return
    finished = latest.get("finished_at")
    if finished is not None:
        later = pc.sum(pc.greater(documents.column("processed_at"), finished)).as_py() or 0
        if later:
            warnings.warn(
                UnfinishedRunWarning(
                    f"{later:,} article{'s' if later != 1 else ''} in {out_dir} were "
                    "published by a run that has not "
                    f"finished (after the latest finished run, {latest['run_id']}): it is "
                    "going on or was stopped. They are in the tables and in claim_summary, "
                    "but not in `runs`; the next `claims run` completes it."
                ),
                stacklevel=3,
            )
    current = latest.get("pipeline_version")
    versions = documents.column("pipeline_version")
    counts = versions.value_counts().to_pylist()
    older = {c["values"]: c["counts"] for c in counts if c["values"] != current}
    if current is None or not older:
        return
    listed = ", ".join(f"{v} ({n:,})" for v, n in sorted(older.items(), key=lambda kv: -kv[1]))
    warnings.warn(
        OlderPipelineWarning(
            f"{sum(older.values()):,} of {len(versions):,} articles in {out_dir} were processed "
            f"by an older pipeline than the latest run's ({current}): {listed}. Their rows "
            "come from the older extractor; run `claims run` on their corpus with this "
            "version to update them."
        ),
        stacklevel=3,
    )


def _sql_string(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _sql_name(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'
