"""The Prefect flow and the `claims` command, end to end on a real Prefect server."""

from __future__ import annotations

import pandas as pd
import pytest
from conftest import SAMPLE_CORPUS

from flows.cli import main
from flows.extract import extract_batch
from pipeline.ingest import Document, iter_documents
from pipeline.runner import BatchJob


def test_extract_batch_task_runs_the_library():
    documents = [d for d in iter_documents(SAMPLE_CORPUS) if isinstance(d, Document)]
    result = extract_batch.fn(BatchJob(documents=documents, run_id="unit"))
    assert result.errors == []
    assert result.n_sentences == 123
    assert result.tables["documents"].num_rows == 2


@pytest.mark.slow
def test_claims_run_end_to_end(prefect_server, seed_corpus, tmp_path, capsys):
    out = tmp_path / "out"
    (seed_corpus / "broken.jsonl").write_text("{not json\n")
    assert main(["run", str(seed_corpus), "--out", str(out), "--no-progress"]) == 0
    printed = capsys.readouterr().out
    for label in (
        "documents seen",
        "processed",
        "skipped",
        "failed",
        "sentences",
        "words per second",
        "MalformedJSON: 1",
    ):
        assert label in printed
    runs = pd.read_parquet(out / "runs")
    assert runs[["n_seen", "n_processed", "n_failed"]].values.tolist() == [[3, 2, 1]]
    assert runs["flow_run_id"].notna().all()
    assert len(pd.read_parquet(out / "sentences")) == 123

    # Two worker processes give the same rows as one.
    parallel = tmp_path / "parallel"
    args = [
        "run",
        str(seed_corpus),
        "--out",
        str(parallel),
        "--no-progress",
        "--workers",
        "2",
        "--batch-size",
        "1",
    ]
    assert main(args) == 0
    for name in ("documents", "sentences", "abbreviations"):
        one = pd.read_parquet(out / name).drop(columns=["run_id", "processed_at"], errors="ignore")
        two = pd.read_parquet(parallel / name).drop(
            columns=["run_id", "processed_at"], errors="ignore"
        )
        key = list(one.columns[:2])
        pd.testing.assert_frame_equal(
            one.sort_values(key).reset_index(drop=True), two.sort_values(key).reset_index(drop=True)
        )


@pytest.mark.slow
def test_claims_run_exits_non_zero_when_nothing_could_be_processed(prefect_server, tmp_path):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "empty.txt").write_text("")
    assert main(["run", str(corpus), "--out", str(tmp_path / "out"), "--no-progress"]) == 1


def test_missing_corpus_is_a_usage_error(tmp_path, capsys):
    assert main(["run", str(tmp_path / "nowhere")]) == 2
    assert "corpus not found" in capsys.readouterr().err
