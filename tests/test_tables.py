"""`pipeline.storage.tables`: DataFrames and DuckDB views of a run, in the documented dtypes, and
clear refusals for tables of another schema version."""

from __future__ import annotations

import json
import shutil
import warnings
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from conftest import MDMA, SAMPLE_CORPUS, UNTRUSTED_RECORD

from flows.cli import main
from pipeline.review.verdicts import VerdictStore
from pipeline.runs.runner import RunOptions, process_batch, run_corpus
from pipeline.storage import tables
from pipeline.storage.schemas import SCHEMA_VERSION, TABLES, pandas_dtype
from pipeline.storage.store import TableStore

DATED_RECORD = {
    "id": "dated-1",
    "title": "Caffeine and alertness",
    "date": "2024-03-05",
    "text": "Caffeine blocks adenosine receptors, which may increase alertness.",
}


@pytest.fixture(scope="module")
def run_tables(tmp_path_factory) -> Path:
    """A run where every table has rows: seeds, a dated record, an empty file, a copy of a
    seed (a duplicate), a verdict."""
    root = tmp_path_factory.mktemp("tables")
    corpus = root / "corpus"
    shutil.copytree(SAMPLE_CORPUS, corpus)
    records = [UNTRUSTED_RECORD, DATED_RECORD]
    (corpus / "records.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records))
    (corpus / "empty.txt").write_text("")
    shutil.copy(SAMPLE_CORPUS / MDMA, corpus / "zz_copy.txt")
    out = root / "out"
    summary = run_corpus(corpus, out)
    assert (summary.processed, summary.failed, summary.duplicates) == (4, 1, 1)
    claims = pd.read_parquet(out / "claims").head(1).to_dict("records")
    VerdictStore(out / "reviews.sqlite").record(claims[0], "Ada", "correct")
    assert main(["review", "export", "--tables", str(out)]) == 0
    return out


def _copy(folder: Path, tmp_path: Path) -> Path:
    out = tmp_path / "out"
    shutil.copytree(folder, out, symlinks=True)
    return out


def test_load_gives_every_table_with_the_documented_dtypes(run_tables):
    frames = tables.frames(run_tables)
    assert list(frames) == list(TABLES)
    for name, schema in TABLES.items():
        frame = frames[name]
        assert len(frame), f"{name} is empty: the fixture should give it rows"
        assert list(frame.columns) == schema.names, name
        for field in schema:
            assert str(frame[field.name].dtype) == pandas_dtype(field), (name, field.name)
    # Row counts are those of the Parquet files; missing values stay missing.
    assert len(frames["claims"]) == len(pd.read_parquet(run_tables / "claims"))
    documents = frames["documents"].set_index("record_id")
    assert documents.loc["dated-1", "date"] == pd.Timestamp("2024-03-05", tz="UTC")
    assert frames["documents"]["date"].isna().sum() == 3
    assert frames["claims"]["target_start"].isna().any()  # Int32, not float
    caffeine = frames["claim_summary"].query("substance == 'caffeine'")
    assert (caffeine["first_published"] == pd.Timestamp("2024-03-05", tz="UTC")).all()
    assert frames["errors"]["error_type"].tolist() == ["Empty"]
    assert frames["reviews"]["reviewer"].tolist() == ["Ada"]
    # Lists stay lists: a notebook can explode them.
    types = frames["claims"].explode("hedge_types")["hedge_types"].dropna()
    assert set(types) <= {"epistemic", "doxastic", "investigation", "condition", "weasel"}


def test_old_spellings_still_read_with_a_deprecation_warning(run_tables):
    with pytest.warns(DeprecationWarning, match="tables.frames"):
        frames = tables.load(run_tables, ["claims"])
    with pytest.warns(DeprecationWarning, match="tables.frame"):
        claims = tables.load_table(run_tables, "claims", ["claim_id"])
    assert list(claims["claim_id"]) == list(frames["claims"]["claim_id"])


def test_load_table_reads_some_columns(run_tables):
    frame = tables.frame(run_tables, "documents", ["doc_id", "n_words"])
    assert list(frame.columns) == ["doc_id", "n_words"]
    assert str(frame["n_words"].dtype) == "int32"
    with pytest.raises(KeyError, match="no column nonsense"):
        tables.frame(run_tables, "documents", ["nonsense"])
    with pytest.raises(KeyError, match="no table named nonsense"):
        tables.frames(run_tables, ["nonsense"])


def test_duckdb_has_one_view_per_table_with_the_same_rows(run_tables):
    frames = tables.frames(run_tables)
    con = tables.duckdb(run_tables)
    views = {row[0] for row in con.execute("select view_name from duckdb_views()").fetchall()}
    assert set(TABLES) <= views
    for name, schema in TABLES.items():
        relation = con.sql(f'select * from "{name}"')
        assert relation.columns == schema.names, name
        assert con.execute(f'select count(*) from "{name}"').fetchone()[0] == len(frames[name])
    top = con.execute(
        "select substance, sum(n_claims) from claim_summary group by substance "
        "order by 2 desc limit 1"
    ).fetchone()
    assert top[0] == "mdma"
    joined = con.execute(
        "select count(*) from claims c join documents d using (doc_id) "
        "where d.record_id = 'dated-1'"
    ).fetchone()[0]
    assert joined == (frames["claims"]["source"].str.endswith("#dated-1")).sum() > 0


def test_a_connection_keeps_the_snapshot_it_was_opened_on(run_tables, tmp_path):
    out = _copy(run_tables, tmp_path)
    con = tables.duckdb(out)
    before = con.execute("select count(*) from runs").fetchone()[0]
    run_corpus(SAMPLE_CORPUS, out)  # another run publishes a new snapshot
    assert con.execute("select count(*) from runs").fetchone()[0] == before
    assert tables.duckdb(out).execute("select count(*) from runs").fetchone()[0] == before + 1


def test_a_connection_held_across_many_runs_keeps_working(run_tables, tmp_path):
    """Snapshots are retired three commits later, except one a live connection leases."""
    import gc

    out = _copy(run_tables, tmp_path)
    con = tables.duckdb(out, ["runs"])
    before = con.execute("select count(*) from runs").fetchone()[0]
    leased = tables.snapshot(out, ["runs"]).path
    for _ in range(4):  # each run commits at least once: four newer snapshots
        run_corpus(SAMPLE_CORPUS, out)
    assert leased.exists()
    assert con.execute("select count(*) from runs").fetchone()[0] == before
    del con
    gc.collect()  # the connection is gone: its lease with it
    run_corpus(SAMPLE_CORPUS, out)
    assert not leased.exists()


def test_missing_folders_and_folders_without_a_run_say_what_to_do(tmp_path):
    with pytest.raises(tables.NoTables, match=r"no output folder.*claims run"):
        tables.frames(tmp_path / "nowhere")
    (tmp_path / "empty").mkdir()
    with pytest.raises(tables.NoTables, match="has no tables yet"):
        tables.duckdb(tmp_path / "empty")


def _commit_run_row(out: Path, **changes) -> None:
    """Publish one more `runs` row, as a run of another version would have written it."""
    store = TableStore(out)
    latest = store.read("runs").to_pylist()[-1]
    row = {
        **latest,
        "run_id": "later",
        "started_at": latest["started_at"] + timedelta(hours=1),
        **changes,
    }
    with store.lock():
        store.commit({"runs": [pa.Table.from_pylist([row], schema=TABLES["runs"])]})


def test_tables_of_an_older_schema_version_are_refused_with_how_to_rebuild(run_tables, tmp_path):
    out = _copy(run_tables, tmp_path)
    _commit_run_row(out, schema_version=str(int(SCHEMA_VERSION) - 1))
    for read in (tables.frames, tables.duckdb):
        with pytest.raises(tables.OutdatedTables) as raised:
            read(out)
        message = str(raised.value)
        assert f"schema version {int(SCHEMA_VERSION) - 1}" in message
        assert f"reads version {SCHEMA_VERSION}" in message
        assert "claims run" in message and str(out) in message


def test_tables_of_a_newer_schema_version_ask_for_an_upgrade(run_tables, tmp_path):
    out = _copy(run_tables, tmp_path)
    _commit_run_row(out, schema_version=str(int(SCHEMA_VERSION) + 1))
    with pytest.raises(tables.NewerTables, match=r"newer pipeline.*Upgrade"):
        tables.frames(out)


def test_a_part_written_by_a_newer_schema_is_refused(run_tables, tmp_path):
    out = _copy(run_tables, tmp_path)
    [part] = TableStore(out).parts("cues")
    table = pq.read_table(part)
    newer = str(int(SCHEMA_VERSION) + 1).encode()
    part.unlink()
    pq.write_table(
        table.replace_schema_metadata({**table.schema.metadata, b"claims.schema_version": newer}),
        part,
    )
    with pytest.raises(tables.NewerTables, match=r"its `cues` table used schema version"):
        tables.frames(out, ["cues"])


def test_a_part_missing_a_documented_column_names_it(run_tables, tmp_path):
    out = _copy(run_tables, tmp_path)
    [part] = TableStore(out).parts("claims")
    old = pq.read_table(part).drop_columns(["attribution"])
    metadata = {**old.schema.metadata, b"claims.schema_version": b"2"}
    part.unlink()  # a hard link shared with older snapshots: replace, do not write through
    pq.write_table(old.replace_schema_metadata(metadata), part)
    outdated = r"`claims` table.*schema version 2.*attribution"
    with pytest.raises(tables.OutdatedTables, match=outdated):
        tables.frames(out, ["claims"])
    assert len(tables.frames(out, ["documents"])["documents"]) == 4  # other tables still read


def test_a_snapshot_missing_a_table_says_how_to_rebuild_it(run_tables, tmp_path):
    out = _copy(run_tables, tmp_path)
    shutil.rmtree(TableStore(out).current() / "claim_summary")
    with pytest.raises(tables.OutdatedTables, match=r"no `claim_summary` table.*claims run"):
        tables.frames(out, ["claim_summary"])
    assert len(tables.frames(out, ["claims"])["claims"])  # the others still read


def test_articles_from_an_older_pipeline_are_named_in_a_warning(run_tables, tmp_path):
    out = _copy(run_tables, tmp_path)
    [part] = TableStore(out).parts("documents")
    documents = pq.read_table(part)
    versions = documents.column("pipeline_version").to_pylist()
    versions[0] = "0.1.0+claims_web_sm.0000000000"
    documents = documents.set_column(
        documents.schema.get_field_index("pipeline_version"),
        "pipeline_version",
        pa.array(versions, pa.string()),
    )
    part.unlink()
    pq.write_table(documents, part)
    with pytest.warns(tables.OlderPipelineWarning, match=r"1 of 4 articles.*0\.1\.0\+claims"):
        frames = tables.frames(out, ["documents"])
    assert len(frames["documents"]) == 4
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        tables.frames(run_tables, ["documents"])  # an up-to-date folder does not warn


def _stopped_after_first_batch(jobs):
    """`map_batches` of a run killed once its first batch was checkpointed."""
    for job in jobs:
        yield process_batch(job)
        raise KeyboardInterrupt


def test_a_stopped_run_is_flagged_and_its_checkpoint_is_summarised(run_tables, tmp_path):
    out = _copy(run_tables, tmp_path)
    corpus = tmp_path / "more"
    corpus.mkdir()
    (corpus / "new.txt").write_text("Kratom may relieve chronic pain.\n")
    (corpus / "other.txt").write_text("Caffeine reduces fatigue.\n")
    options = RunOptions(batch_size=1, commit_interval=0)
    with pytest.raises(KeyboardInterrupt):
        run_corpus(corpus, out, options, map_batches=_stopped_after_first_batch)
    with pytest.warns(tables.UnfinishedRunWarning, match=r"1 article in .* has not finished"):
        frames = tables.frames(out)
    assert len(frames["documents"]) == 5 and len(frames["runs"]) == 1
    # The checkpoint's claim_summary summarises exactly the claims published with it.
    claims, summary = frames["claims"], frames["claim_summary"]
    summary = summary[summary["level"] == "claim"]  # effect and target rows regroup them
    assert summary["n_claims"].sum() == len(claims)
    assert summary["n_articles"].max() <= claims["doc_id"].nunique()
    by_key = claims.groupby(
        [
            claims["substance_norm"],
            claims["target_norm"].fillna("-"),
            claims["effect_norm"].fillna("-"),
        ]
    ).size()
    assert len(by_key) == len(summary)


def test_checkpoints_of_an_unfinished_run_are_flagged(tmp_path):
    out = tmp_path / "out"
    store = TableStore(out)
    row = {
        "doc_id": "d",
        "source": "s",
        "format": "txt",
        "record_id": None,
        "title": None,
        "url": None,
        "date": None,
        "text": "t",
        "n_chars": 1,
        "n_words": 1,
        "n_sentences": 0,
        "pipeline_version": "v",
        "run_id": "r",
        "processed_at": datetime.now(UTC),
    }
    with store.lock():
        store.commit({"documents": [pa.Table.from_pylist([row], schema=TABLES["documents"])]})
    with pytest.warns(tables.UnfinishedRunWarning, match="No run has finished"):
        frames = tables.frames(out)
    assert len(frames["documents"]) == 1 and frames["claim_summary"].empty
