"""Runs over real files: table contents, incremental re-runs, bad input, killed runs."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pandas as pd
import pytest
from conftest import KRATOM, MDMA, PROJECT_DIR

from pipeline.nlp.loader import BASE_CONFIG, default_model_path
from pipeline.runs.runner import RunOptions, run_corpus
from pipeline.storage.schemas import TABLES
from pipeline.storage.store import StoreBusy, TableStore

VOLATILE = ["run_id", "processed_at"]


def _table(out: Path, name: str) -> pd.DataFrame:
    return pd.read_parquet(out / name)


def _stable(out: Path, name: str) -> pd.DataFrame:
    """A table without run-specific columns, sorted, for comparing runs."""
    frame = _table(out, name).drop(columns=VOLATILE, errors="ignore")
    return frame.sort_values(list(frame.columns[:2])).reset_index(drop=True)


def _source_name(frame: pd.DataFrame) -> pd.Series:
    return frame["source"].map(lambda s: Path(s.split("#")[0]).name)


def test_seed_tables(seed_corpus, tmp_path):
    out = tmp_path / "out"
    summary = run_corpus(seed_corpus, out)
    assert (summary.seen, summary.processed, summary.failed) == (2, 2, 0)
    documents = _table(out, "documents").assign(name=lambda f: _source_name(f))
    counts = dict(zip(documents["name"], documents["n_sentences"], strict=True))
    assert counts == {KRATOM: 47, MDMA: 76}
    sentences = _table(out, "sentences")
    assert len(sentences) == 123 and sentences["sentence_id"].is_unique
    mdma_id = documents.loc[documents["name"] == MDMA, "doc_id"].item()
    mdma = sentences[sentences["doc_id"] == mdma_id].set_index("index")
    release = mdma[mdma["text"].str.startswith("Upon ingestion, MDMA stimulates")].iloc[0]
    assert release["section"] == "Mechanism Of Action"
    text = documents.loc[documents["name"] == MDMA, "text"].item()
    for row in mdma.itertuples():
        assert text[row.start_char : row.end_char] == row.text
    assert mdma.loc[mdma["is_heading"], "text"].tolist()[:2] == ["Efficacy", "Safety"]
    abbreviations = _table(out, "abbreviations")
    pairs = set(zip(abbreviations["short_form"], abbreviations["long_form"], strict=True))
    assert ("MDD", "major depressive disorder") in pairs
    assert ("MDMA", "3,4-methylenedioxymethamphetamine") in pairs
    runs = _table(out, "runs")
    assert runs[["n_seen", "n_processed", "n_failed", "status"]].values.tolist() == [
        [2, 2, 0, "completed"]
    ]
    assert json.loads(runs["parameters"].item())["batch_size"] == 32


def test_tables_read_with_pandas_and_duckdb_and_keep_their_schema(seed_corpus, tmp_path):
    out = tmp_path / "out"
    run_corpus(seed_corpus, out)
    for name, schema in TABLES.items():
        frame = pd.read_parquet(out / name)
        assert list(frame.columns) == schema.names
        rows = duckdb.sql(f"select count(*) from '{out / name}/*.parquet'").fetchall()[0][0]
        assert rows == len(frame)


def test_rerun_adds_nothing(seed_corpus, tmp_path):
    out = tmp_path / "out"
    first = run_corpus(seed_corpus, out)
    claims = _table(out, "claims")
    assert first.claims == first.new_claims == len(claims)
    assert first.new_claims_by_substance == claims["substance_norm"].value_counts().to_dict()
    before = {name: _stable(out, name) for name in ("documents", "sentences", "abbreviations")}
    summary = run_corpus(seed_corpus, out)
    assert (summary.processed, summary.skipped) == (0, 2)
    assert (summary.claims, summary.new_claims, summary.new_claims_by_substance) == (0, 0, {})
    for name, frame in before.items():
        pd.testing.assert_frame_equal(_stable(out, name), frame)
    assert len(_table(out, "runs")) == 2


def test_new_article_is_processed_alone(seed_corpus, tmp_path):
    out = tmp_path / "out"
    run_corpus(seed_corpus, out)
    (seed_corpus / "new.txt").write_text("Psilocybin binds the 5-HT2A receptor.\n")
    summary = run_corpus(seed_corpus, out)
    assert (summary.processed, summary.skipped) == (1, 2)
    assert len(_table(out, "documents")) == 3


def test_changed_article_replaces_its_rows(seed_corpus, tmp_path):
    out = tmp_path / "out"
    run_corpus(seed_corpus, out)
    old = _table(out, "documents")
    path = seed_corpus / MDMA
    path.write_text(path.read_text() + "\nSafety\nMDMA can raise body temperature.\n")
    summary = run_corpus(seed_corpus, out)
    assert (summary.processed, summary.skipped) == (1, 1)
    documents = _table(out, "documents")
    assert len(documents) == 2
    old_id = old.loc[_source_name(old) == MDMA, "doc_id"].item()
    assert old_id not in set(documents["doc_id"])
    sentences = _table(out, "sentences")
    assert old_id not in set(sentences["doc_id"])
    assert set(sentences["doc_id"]) == set(documents["doc_id"])
    assert len(sentences) == 123 + 2
    assert sentences["sentence_id"].is_unique
    # a changed text is a new article: all its claims are new, the other article's are not
    mdma_claims = _table(out, "claims").query("doc_id != @old_id and source.str.endswith(@MDMA)")
    assert summary.claims == summary.new_claims == len(mdma_claims) > 0
    assert set(summary.new_claims_by_substance) <= set(mdma_claims["substance_norm"])


def test_new_pipeline_version_reprocesses_everything(seed_corpus, tmp_path):
    out = tmp_path / "out"
    run_corpus(seed_corpus, out)
    config = tmp_path / "config.cfg"
    config.write_text(
        BASE_CONFIG.read_text().replace("max_heading_chars = 120", "max_heading_chars = 119")
    )
    summary = run_corpus(seed_corpus, out, RunOptions(model=str(config)))
    assert (summary.processed, summary.skipped) == (2, 0)
    documents = _table(out, "documents")
    assert len(documents) == 2
    assert documents["pipeline_version"].nunique() == 1
    assert documents["pipeline_version"].iloc[0] == summary.pipeline_version
    assert len(_table(out, "sentences")) == 123


def test_claims_re_extracted_by_a_new_version_are_not_new(seed_corpus, tmp_path):
    model = tmp_path / "model"
    shutil.copytree(default_model_path(), model)
    out = tmp_path / "out"
    first = run_corpus(seed_corpus, out, RunOptions(model=str(model)))
    config = model / "config.cfg"
    config.write_text(
        config.read_text().replace("max_heading_chars = 120", "max_heading_chars = 119")
    )
    # Same path, rebuilt model: the cached pipeline is not reused, the version changes.
    again = run_corpus(seed_corpus, out, RunOptions(model=str(model)))
    assert again.pipeline_version != first.pipeline_version
    assert (again.processed, again.skipped) == (2, 0)
    assert again.claims == first.claims == len(_table(out, "claims")) > 0
    assert (again.new_claims, again.new_claims_by_substance) == (0, {})


def test_duplicate_text_is_stored_once(seed_corpus, tmp_path):
    out = tmp_path / "out"
    (seed_corpus / "copy.txt").write_text((seed_corpus / MDMA).read_text())
    summary = run_corpus(seed_corpus, out)
    assert (summary.processed, summary.skipped) == (2, 1)
    assert _table(out, "documents")["doc_id"].is_unique


def test_bad_input_is_recorded_and_the_run_goes_on(seed_corpus, tmp_path):
    out = tmp_path / "out"
    (seed_corpus / "empty.txt").write_text("")
    (seed_corpus / "binary.txt").write_bytes(b"\x00\xff\x00")
    (seed_corpus / "records.jsonl").write_text('{"id": 1, "text": "Fine."}\n{oops\n')
    summary = run_corpus(seed_corpus, out)
    assert (summary.processed, summary.failed) == (3, 3)
    assert summary.status == "completed"
    errors = _table(out, "errors")
    assert sorted(errors["error_type"]) == ["Binary", "Empty", "MalformedJSON"]
    assert errors["run_id"].eq(summary.run_id).all()
    assert _table(out, "runs")["n_failed"].item() == 3
    examples = sorted((Path(src).name, kind) for src, kind, _ in summary.failure_examples)
    assert examples == [
        ("binary.txt", "Binary"),
        ("empty.txt", "Empty"),
        ("records.jsonl#line-2", "MalformedJSON"),
    ]

    # Unchanged: the broken files fail again, replacing (not adding) their rows, and the
    # run still counts as completed because every good article is up to date.
    summary = run_corpus(seed_corpus, out)
    assert (summary.processed, summary.skipped, summary.failed) == (0, 3, 3)
    assert summary.status == "completed"
    assert len(_table(out, "errors")) == 3

    # Fixing a file removes its error row.
    (seed_corpus / "empty.txt").write_text("Kratom is a plant.\n")
    summary = run_corpus(seed_corpus, out)
    assert (summary.processed, summary.failed) == (1, 2)
    assert sorted(_table(out, "errors")["error_type"]) == ["Binary", "MalformedJSON"]


def test_nothing_processable_is_a_failed_run(tmp_path):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "empty.txt").write_text("")
    summary = run_corpus(corpus, tmp_path / "out")
    assert summary.status == "failed"
    assert _table(tmp_path / "out", "runs")["status"].item() == "failed"


def test_a_second_concurrent_run_is_refused(seed_corpus, tmp_path):
    store = TableStore(tmp_path / "out")
    with store.lock(), pytest.raises(StoreBusy, match="another run"):
        run_corpus(seed_corpus, tmp_path / "out")


_RUN_SCRIPT = """
import sys
from pipeline.runs.runner import RunOptions, run_corpus
run_corpus(sys.argv[1], sys.argv[2], RunOptions(batch_size=1, commit_interval=0))
"""


def _many_articles(corpus: Path, count: int) -> None:
    base = (corpus / MDMA).read_text()
    for i in range(count):
        (corpus / f"variant_{i:03d}.txt").write_text(f"Variant {i} of the article.\n{base}")


@pytest.mark.slow
def test_killed_run_leaves_tables_intact_and_next_run_finishes(seed_corpus, tmp_path):
    out = tmp_path / "out"
    run_corpus(seed_corpus, out)
    _many_articles(seed_corpus, 40)
    env = {**os.environ, "PYTHONPATH": str(PROJECT_DIR)}
    process = subprocess.Popen(
        [sys.executable, "-c", _RUN_SCRIPT, str(seed_corpus), str(out)], env=env
    )
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and process.poll() is None:
            if len(_table(out, "documents")) >= 6:  # a few checkpoints are published
                break
            time.sleep(0.05)
        assert process.poll() is None, "the run finished before it could be killed"
        os.kill(process.pid, signal.SIGKILL)
    finally:
        process.wait()
    # The tables are readable, consistent, and still hold everything from before.
    documents = _table(out, "documents")
    sentences = _table(out, "sentences")
    assert 6 <= len(documents) < 42
    assert {KRATOM, MDMA} <= set(_source_name(documents))
    assert set(sentences["doc_id"]) == set(documents["doc_id"])
    assert sentences["sentence_id"].is_unique
    assert len(_table(out, "runs")) == 1  # the killed run never finished
    # The next run does only what is left, and the result equals one clean run.
    summary = run_corpus(seed_corpus, out)
    assert summary.processed == 42 - len(documents)
    clean = tmp_path / "clean"
    run_corpus(seed_corpus, clean)
    for name in ("documents", "sentences", "abbreviations"):
        pd.testing.assert_frame_equal(_stable(out, name), _stable(clean, name))


def _checkpointing(**kwargs) -> RunOptions:
    return RunOptions(batch_size=1, commit_interval=0, **kwargs)


def test_changed_article_whose_old_text_moved_to_a_new_file_keeps_it(tmp_path):
    corpus, out = tmp_path / "corpus", tmp_path / "out"
    corpus.mkdir()
    (corpus / "a.txt").write_text("Kratom acts on opioid receptors.\n")
    run_corpus(corpus, out, _checkpointing())
    (corpus / "a.txt").write_text("MDMA stimulates the release of serotonin.\n")
    (corpus / "z.txt").write_text("Kratom acts on opioid receptors.\n")  # old text, new file
    run_corpus(corpus, out, _checkpointing())
    texts = sorted(_table(out, "documents")["text"])
    assert texts == [
        "Kratom acts on opioid receptors.",
        "MDMA stimulates the release of serotonin.",
    ]
    assert set(_table(out, "sentences")["doc_id"]) == set(_table(out, "documents")["doc_id"])


def test_new_version_keeps_an_article_that_moved_between_files(tmp_path):
    corpus, out = tmp_path / "corpus", tmp_path / "out"
    corpus.mkdir()
    (corpus / "c.txt").write_text("Kratom acts on opioid receptors.\n")
    run_corpus(corpus, out, _checkpointing())
    config = tmp_path / "config.cfg"
    config.write_text(
        BASE_CONFIG.read_text().replace("max_heading_chars = 120", "max_heading_chars = 119")
    )
    (corpus / "b.txt").write_text("Kratom acts on opioid receptors.\n")
    (corpus / "c.txt").write_text("MDMA stimulates the release of serotonin.\n")
    summary = run_corpus(corpus, out, _checkpointing(model=str(config)))
    assert summary.processed == 2
    documents = _table(out, "documents")
    assert sorted(documents["text"]) == [
        "Kratom acts on opioid receptors.",
        "MDMA stimulates the release of serotonin.",
    ]
    assert documents["pipeline_version"].eq(summary.pipeline_version).all()


def test_odd_json_lines_are_errors_not_crashes(tmp_path):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "a.jsonl").write_text(
        '{"id": "ok", "text": "Fine text."}\n'
        '{"id": "emoji", "text": "broken \\ud83d emoji"}\n' + "[" * 100_000 + "]" * 100_000 + "\n"
    )
    summary = run_corpus(corpus, tmp_path / "out")
    assert (summary.processed, summary.failed) == (2, 1)
    assert list(_table(tmp_path / "out", "errors")["error_type"]) == ["MalformedJSON"]
    documents = _table(tmp_path / "out", "documents").set_index("record_id")
    assert documents.loc["emoji", "text"] == "broken \ufffd emoji"
    assert list(documents.loc["emoji", "repairs"]) == ["text: 1 lone surrogate replaced by U+FFFD"]


def test_error_rows_follow_records_that_change_identity(tmp_path):
    corpus, out = tmp_path / "corpus", tmp_path / "out"
    corpus.mkdir()
    (corpus / "a.jsonl").write_text('{"id": "a", "text": "Fine."}\n{"text": 5}\n')
    run_corpus(corpus, out)
    assert [Path(s).name for s in _table(out, "errors")["source"]] == ["a.jsonl#line-2"]
    (corpus / "a.jsonl").write_text('{"id": "a", "text": "Fine."}\n{"id": "b", "text": "Ok."}\n')
    run_corpus(corpus, out)
    assert len(_table(out, "errors")) == 0
    assert len(_table(out, "documents")) == 2


def test_a_copied_output_folder_without_links_is_refused(seed_corpus, tmp_path):
    out = tmp_path / "out"
    run_corpus(seed_corpus, out)
    copied = tmp_path / "copied"
    import shutil

    shutil.copytree(out, copied, symlinks=False)
    with pytest.raises(RuntimeError, match="not a symlink"):
        run_corpus(seed_corpus, copied)
    assert any((copied / ".claims-store" / "snapshots").iterdir())


def test_compaction_merges_parts_into_row_groups_of_bounded_size(tmp_path, monkeypatch):
    from datetime import UTC, datetime

    import pyarrow.parquet as pq

    from pipeline.storage import store as store_module
    from pipeline.storage.schemas import to_table

    monkeypatch.setattr(store_module, "_ROW_GROUP_ROWS", 10)
    store = TableStore(tmp_path, max_parts=4)

    def errors(commit: int) -> dict:
        rows = [
            {
                "source": f"file{commit}-{n}.txt",
                "doc_id": None,
                "stage": "read",
                "error_type": "Empty",
                "message": "no text",
                "run_id": "r",
                "occurred_at": datetime.now(UTC),
            }
            for n in range(7)
        ]
        return {"errors": [to_table("errors", rows)]}

    with store.lock():
        for commit in range(5):  # the fifth part is one too many: the table is compacted
            store.commit(errors(commit))
        (part,) = store.parts("errors")
        # 35 rows streamed in batches of 7 rows, written as row groups of at least 10
        assert [pq.ParquetFile(part).metadata.row_group(i).num_rows for i in range(3)] == [
            14,
            14,
            7,
        ]
        store.commit(errors(5))
    table = store.read("errors")
    assert table.schema.equals(TABLES["errors"], check_metadata=False)
    assert sorted(table.column("source").to_pylist()) == sorted(
        f"file{c}-{n}.txt" for c in range(6) for n in range(7)
    )


def test_compaction_gives_parts_of_an_older_schema_the_new_columns():
    import pyarrow as pa

    from pipeline.storage.parts import conform as _conform

    schema = TABLES["errors"]
    older = pa.schema([f for f in schema if f.name != "doc_id"])
    batch = pa.RecordBatch.from_pylist(
        [{"source": "a.txt", "stage": "read", "error_type": "Empty", "message": "m"}],
        schema=older,
    )
    conformed = _conform(batch, schema)
    assert conformed.schema.equals(schema, check_metadata=False)
    assert conformed.to_pylist()[0]["doc_id"] is None
    assert conformed.to_pylist()[0]["source"] == "a.txt"


def test_a_table_link_of_an_older_schema_is_removed_and_other_files_are_kept(tmp_path):
    """Schema version 7 renamed `hedges` to `cues`: a re-run leaves no dangling link."""
    corpus, out = tmp_path / "corpus", tmp_path / "out"
    corpus.mkdir()
    (corpus / "a.txt").write_text("Kratom may relieve pain.\n")
    run_corpus(corpus, out)
    (out / "hedges").symlink_to(Path(".claims-store") / "current" / "hedges")
    (out / "notes").symlink_to(tmp_path)  # a link of the user's own
    (corpus / "b.txt").write_text("Tea may lower blood pressure.\n")
    run_corpus(corpus, out)
    assert not (out / "hedges").is_symlink()
    assert (out / "notes").is_symlink() and (out / "cues").is_symlink()
