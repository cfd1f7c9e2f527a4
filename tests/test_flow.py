"""The Prefect flow and the `claims` command, end to end on a real Prefect server."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
from conftest import SAMPLE_CORPUS, free_port, subprocess_env

from flows.cli import main
from flows.extract import extract_batch
from pipeline.ingest import Document, iter_documents
from pipeline.runs.runner import BatchJob, PipelineMismatch, process_batch, run_sequentially

CLAIMS = str(Path(sys.executable).with_name("claims"))


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
    _check_claim_tables(out)

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
    assert_same_rows(out, parallel)


@pytest.mark.slow
def test_dask_engine_gives_the_rows_of_a_threaded_run(prefect_server, seed_corpus, tmp_path):
    """A local two-worker Dask cluster, and an existing cluster by address: same rows, ids."""
    from distributed import Client, LocalCluster

    threaded = tmp_path / "threaded"
    common = [str(seed_corpus), "--no-progress", "--batch-size", "1"]
    assert main(["run", *common, "--out", str(threaded)]) == 0
    local = tmp_path / "dask-local"
    assert main(["run", *common, "--out", str(local), "--engine", "dask", "--workers", "2"]) == 0
    assert_same_rows(threaded, local)
    with LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0"
    ) as cluster:
        remote = tmp_path / "dask-address"
        assert (
            main(["run", *common, "--out", str(remote), "--address", cluster.scheduler_address])
            == 0
        )
        # the batches ran on the cluster's workers: at least one of them loaded the pipeline
        with Client(cluster) as client:
            loaded = client.run(_pipelines_loaded)
        assert len(loaded) == 2 and sum(loaded.values()) >= 1
    assert_same_rows(threaded, remote)
    runs = pd.read_parquet(remote / "runs")
    assert '"batch_size": 1' in runs["parameters"].iloc[0]


@pytest.mark.slow
def test_a_worker_killed_mid_run_loses_and_duplicates_no_article(prefect_server, tmp_path):
    """SIGKILL one worker process while batches are in flight: every article is in the
    tables exactly once, none is an error, and the rows are those of a run in one process."""
    import psutil

    from flows.extract import RecyclingProcessPoolTaskRunner, _map_with
    from pipeline.runs.runner import RunOptions, run_corpus

    corpus = tmp_path / "corpus"
    corpus.mkdir()
    sentences = [
        "MDMA stimulates the release of serotonin.",
        "Kratom may act on opioid receptors.",
        "Aspirin was linked to a lower risk of breast cancer.",
        "Caffeine blocks adenosine receptors, which may improve alertness.",
        "Ketamine did not reduce anxiety in the trial.",
        "Psilocybin activates serotonin 2A receptors.",
        "Melatonin might improve sleep in older adults.",
        "Selective serotonin reuptake inhibitors (SSRIs) may ease anxiety; SSRIs are common.",
    ]
    for number, sentence in enumerate(sentences):
        (corpus / f"a{number}.txt").write_text(f"Article {number}\n\n{sentence} {sentence}\n")
    options = RunOptions(batch_size=1, commit_interval=0.0)
    alone = tmp_path / "alone"
    run_corpus(corpus, alone, options)

    killed: list[int] = []
    seen: set[int] = set()  # worker processes, over the run

    def workers() -> list[psutil.Process]:
        children = psutil.Process().children(recursive=True)
        return [child for child in children if "spawn_main" in " ".join(child.cmdline())]

    def kill_a_worker(map_batches):
        def wrapped(jobs):
            for number, result in enumerate(map_batches(jobs)):
                seen.update(worker.pid for worker in workers())
                if number == 0:  # batches are in flight on both workers
                    victim = workers()[0]
                    victim.kill()
                    killed.append(victim.pid)
                yield result

        return wrapped

    out = tmp_path / "out"
    runner = RecyclingProcessPoolTaskRunner(2)
    replaced = []
    new_executor = runner._new_executor
    runner._new_executor = lambda old: replaced.append(old) or new_executor(old)
    with runner:
        summary = run_corpus(
            corpus, out, options, map_batches=kill_a_worker(_map_with(runner, 4, extract_batch))
        )
    assert killed and len(replaced) >= 2  # the pool of __enter__, then one after the death
    assert len(seen) >= 4  # the two first workers, and the two of the pool after the death
    assert (summary.processed, summary.failed) == (len(sentences), 0)
    documents = pd.read_parquet(out / "documents")
    assert documents["doc_id"].is_unique and len(documents) == len(sentences)
    assert pd.read_parquet(out / "errors").empty
    assert pd.read_parquet(out / "claims")["claim_id"].is_unique
    assert_same_rows(alone, out)


def test_a_worker_imports_neither_the_store_nor_duckdb_nor_pandas():
    """A worker imports the tasks and, with the flow it runs for, `flows.extract`: 55 MB
    of DuckDB and pandas per worker if those pulled in the main process's half."""
    code = (
        "import sys, flows.tasks, flows.extract; "
        "print(sorted(m for m in ('duckdb', 'pandas', 'pipeline.storage.store') "
        "if m in sys.modules))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


def test_recycle_after_replaces_local_workers_after_that_many_batches():
    from flows.extract import make_task_runner

    with make_task_runner(2, recycle_after=3) as runner:
        assert runner._executor._max_tasks_per_child == 3
    with make_task_runner(2) as runner:
        assert runner._executor._max_tasks_per_child is None
    assert type(make_task_runner(1, recycle_after=3)).__name__ == "ThreadPoolTaskRunner"


def test_recycle_after_without_worker_processes_is_a_usage_error(tmp_path, capsys):
    for extra in ([], ["--engine", "dask", "--workers", "2"]):
        args = ["run", str(SAMPLE_CORPUS), "--out", str(tmp_path), "--recycle-after", "5"]
        assert main([*args, *extra]) == 2
        assert "needs --workers 2 or more" in capsys.readouterr().err


def test_address_without_dask_is_a_usage_error(tmp_path, capsys):
    code = main(
        [
            "run",
            str(SAMPLE_CORPUS),
            "--out",
            str(tmp_path),
            "--engine",
            "local",
            "--address",
            "tcp://127.0.0.1:8786",
        ]
    )
    assert code == 2
    assert "needs --engine dask" in capsys.readouterr().err


def _pipelines_loaded() -> int:
    from pipeline.runs import batches

    return len(batches._PIPELINES)


def assert_same_rows(first, second):
    """Equal tables but for the run that wrote them: same rows, same ids."""
    for name in ("documents", "sentences", "abbreviations", "entities", "claims", "cues"):
        one = pd.read_parquet(first / name).drop(
            columns=["run_id", "processed_at"], errors="ignore"
        )
        two = pd.read_parquet(second / name).drop(
            columns=["run_id", "processed_at"], errors="ignore"
        )
        assert len(one) > 0, name
        key = list(one.columns[:2])
        pd.testing.assert_frame_equal(
            one.sort_values(key).reset_index(drop=True), two.sort_values(key).reset_index(drop=True)
        )


def _check_claim_tables(out):
    """The notebook view of acceptance: MDMA -> serotonin (stimulates release) -> mood, hedged."""
    claims = pd.read_parquet(out / "claims")
    entities = pd.read_parquet(out / "entities")
    assert claims["claim_id"].is_unique
    assert set(entities["label"]) == {"SUBSTANCE", "TARGET", "EFFECT", "CONDITION"}
    mdma = claims[claims["source"].str.endswith("mdma_depression.txt")]
    to_serotonin = mdma[(mdma["substance_norm"] == "mdma") & (mdma["target_norm"] == "serotonin")]
    assert "stimulates release" in set(to_serotonin["mechanism"])
    mood = to_serotonin[
        to_serotonin["effect"].fillna("").str.contains("improve mood")
        & to_serotonin["sentence"].str.contains(" may ")
    ]
    assert not mood.empty
    assert mood["hedged"].all() and (mood["polarity"] == "benefit").all()
    assert all("may" in list(cues) for cues in mood["hedge_cues"])
    asserted = to_serotonin[to_serotonin["mechanism"] == "stimulates release"]
    assert not asserted["hedged"].any()
    assert set(asserted["certainty"]) == {"asserted"} and set(mood["certainty"]) == {"hedged"}
    # every hedge cue of a claim is a row of the cues table, its scope covering the cue
    hedges = pd.read_parquet(out / "cues")
    assert hedges["cue_id"].is_unique and set(hedges["kind"]) == {"hedge", "negation"}
    mine = hedges[hedges["doc_id"].isin(set(mdma["doc_id"]))]
    assert "may" in set(mine["cue"])
    assert (
        (mine["scope_start"] <= mine["cue_start"]) & (mine["cue_end"] <= mine["scope_end"])
    ).all()
    # offsets point into the article text
    text = pd.read_parquet(out / "documents").set_index("doc_id")["text"]
    for row in mdma.head(20).itertuples():
        article = text[row.doc_id]
        assert article[row.substance_start : row.substance_end] == row.substance
        assert article[row.sentence_start : row.sentence_end] == row.sentence


@pytest.mark.slow
def test_claims_run_exits_non_zero_when_nothing_could_be_processed(prefect_server, tmp_path):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "empty.txt").write_text("")
    assert main(["run", str(corpus), "--out", str(tmp_path / "out"), "--no-progress"]) == 1
    # ...and the flow run is Failed in Prefect (red in the UI), not Completed
    from prefect.client.orchestration import get_client

    flow_run_id = pd.read_parquet(tmp_path / "out" / "runs")["flow_run_id"].item()
    with get_client(sync_client=True) as client:
        state = client.read_flow_run(flow_run_id).state
    assert state.is_failed() and "no article could be processed" in state.message


@pytest.mark.slow
def test_a_failing_batch_is_retried(prefect_server, seed_corpus, tmp_path, monkeypatch):
    from flows import extract, tasks

    calls = []

    def fails_once(job):
        calls.append(len(job.documents))
        if len(calls) == 1:
            raise ConnectionError("worker lost")
        return process_batch(job)

    monkeypatch.setattr(tasks, "process_batch", fails_once)
    summary = extract.extract_corpus(
        str(seed_corpus), str(tmp_path / "out"), retries=1, retry_delay=0.1
    )
    assert calls == [2, 2]  # one batch, tried twice
    assert (summary["processed"], summary["failed"]) == (2, 0)

    calls.clear()
    monkeypatch.setattr(tasks, "process_batch", lambda job: calls.append(1) or 1 / 0)
    (seed_corpus / "new.txt").write_text("Kratom is a plant.\n")
    state = extract.extract_corpus(
        str(seed_corpus), str(tmp_path / "out"), retries=2, retry_delay=0.1, return_state=True
    )
    summary = state.result(raise_on_failure=False)
    assert len(calls) == 3  # the first try and two retries, then its article is an error
    assert (summary["processed"], summary["failed"]) == (0, 1)
    assert summary["errors_by_type"] == {"ZeroDivisionError": 1}


@pytest.mark.slow
def test_a_folder_held_by_another_run_is_refused_cleanly(prefect_server, tmp_path, capsys):
    from pipeline.storage.store import TableStore

    with TableStore(tmp_path / "out").lock():
        code = main(["run", str(SAMPLE_CORPUS), "--out", str(tmp_path / "out"), "--no-progress"])
    assert code == 2
    assert "another run is writing to" in capsys.readouterr().err


def test_a_worker_with_another_pipeline_fails_its_batch_instead_of_stamping_rows():
    documents = [d for d in iter_documents(SAMPLE_CORPUS) if isinstance(d, Document)]
    job = BatchJob(documents=documents, run_id="unit", pipeline_version="0.0.0+someone-else")
    with pytest.raises(PipelineMismatch, match="someone-else"):
        process_batch(job)
    (result,) = run_sequentially([job])
    assert [e.error_type for e in result.errors] == ["PipelineMismatch"] * 2


def test_a_missing_model_is_a_usage_error(tmp_path, capsys):
    code = main(["run", str(SAMPLE_CORPUS), "--out", str(tmp_path), "--model", "nowhere"])
    assert code == 2
    assert "no spaCy pipeline at nowhere" in capsys.readouterr().err


def test_missing_corpus_is_a_usage_error(tmp_path, capsys):
    assert main(["run", str(tmp_path / "nowhere")]) == 2
    assert "corpus not found" in capsys.readouterr().err


def test_unreachable_dask_scheduler_is_said_before_the_run(tmp_path, capsys):
    address = f"tcp://127.0.0.1:{free_port()}"  # a port nobody listens on
    assert main(["run", str(SAMPLE_CORPUS), "--out", str(tmp_path), "--address", address]) == 2
    assert f"no Dask scheduler at {address}" in capsys.readouterr().err
    assert not (tmp_path / "claims").exists()


@pytest.mark.slow
def test_a_terminated_run_leaves_no_process_behind(seed_corpus, tmp_path):
    """SIGTERM stops `claims run` with its temporary Prefect server; the tables stay valid."""
    import psutil

    out = tmp_path / "out"
    command = [CLAIMS, "run", str(seed_corpus), "--out", str(out), "--no-progress"]
    process = subprocess.Popen(command, env=subprocess_env(tmp_path), start_new_session=True)
    try:
        deadline = time.monotonic() + 120
        while not (out / ".claims-store" / "lock").exists():  # the flow has started
            assert process.poll() is None and time.monotonic() < deadline
            time.sleep(0.2)
        children = psutil.Process(process.pid).children(recursive=True)
        assert children  # at least the temporary Prefect server
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=60) != 0
        _, alive = psutil.wait_procs(children, timeout=30)
        assert not alive, [p.cmdline()[:4] for p in alive]
    finally:  # whatever happened, nothing of the run's process group survives the test
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
