"""The corpus extraction flow: Prefect runs the batches, `pipeline.runs.runner` does the work.

Batches of articles are Prefect tasks, retried with exponential backoff, so a long run
shows its progress in Prefect and a failing batch is retried before its articles are
recorded as errors. The engine decides where batches run: `local` (a thread for one
worker, a process pool for several) or `dask` (a local Dask cluster, or an existing one
at `address`, through prefect-dask). Every engine gives the same rows and ids: batches are
pure functions of their articles, and only this process writes the tables.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import asdict
from typing import Literal

from prefect import flow, task
from prefect.artifacts import create_markdown_artifact
from prefect.cache_policies import NONE
from prefect.context import get_run_context
from prefect.futures import PrefectFuture, as_completed
from prefect.states import Failed
from prefect.task_runners import ProcessPoolTaskRunner, TaskRunner, ThreadPoolTaskRunner
from prefect.tasks import exponential_backoff
from tqdm import tqdm

from pipeline.ingest import DEFAULT_EXCLUDE, DEFAULT_MAX_CHARS, JsonlFields
from pipeline.reports.run_report import run_markdown
from pipeline.runs.runner import (
    BatchJob,
    BatchResult,
    RunOptions,
    RunSummary,
    estimate_sources,
    isolate_failed_batch,
    process_batch,
    run_corpus,
)

ENGINES = ("local", "dask")


class EngineUnavailable(RuntimeError):
    """The Dask cluster could not be started or reached."""


ARTIFACT_KEY = "claims-run"  # the UI groups each run's summary under this key


@task(
    name="extract-batch",
    retries=2,
    retry_delay_seconds=exponential_backoff(backoff_factor=2),
    retry_jitter_factor=0.5,  # batches that failed together do not retry in lockstep
    cache_policy=NONE,  # inputs are article texts: hashing them buys nothing
    persist_result=False,
)
def extract_batch(job: BatchJob) -> BatchResult:
    """Run the NLP pipeline over one batch of articles."""
    return process_batch(job)


def make_task_runner(workers: int, engine: str = "local", address: str | None = None) -> TaskRunner:
    """Where batches run.

    local: one worker is a thread in this process; more are processes (spaCy holds the GIL).
    dask: an existing cluster at `address`, or a local cluster of `workers` single-threaded
    processes.
    """
    if engine not in ENGINES:
        raise ValueError(f"unknown engine {engine!r}; choose one of {', '.join(ENGINES)}")
    if address and engine != "dask":
        raise ValueError("an address needs engine 'dask'")
    if engine == "dask":
        from prefect_dask import DaskTaskRunner  # imported only when asked for

        if address:
            return DaskTaskRunner(address=address)
        return DaskTaskRunner(
            cluster_kwargs={
                "n_workers": workers,
                "threads_per_worker": 1,
                "processes": True,
                "dashboard_address": ":0",  # any free port: never collides with another run
            }
        )
    if workers <= 1:
        return ThreadPoolTaskRunner(max_workers=1)
    return ProcessPoolTaskRunner(max_workers=workers)


def batches_in_flight(runner: TaskRunner, workers: int) -> int:
    """Two batches per worker thread keep every worker busy while results come back."""
    slots = workers
    client = getattr(runner, "client", None)  # a Dask cluster says how many threads it has
    if client is not None:
        slots = sum(client.nthreads().values()) or workers
    return max(2 * slots, 2)


def _map_with(runner: TaskRunner, window: int, batch_task=extract_batch):
    """A `map_batches` that keeps at most `window` batches in flight on `runner`.

    A batch that still fails after its retries is tried again one article at a time (each
    once, as its own task), so only the articles that fail alone are lost to `errors`.
    """
    single_task = batch_task.with_options(retries=0)

    def process_alone(job: BatchJob) -> BatchResult:
        return runner.submit(single_task, parameters={"job": job}).result()

    def map_batches(jobs: Iterable[BatchJob]) -> Iterator[BatchResult]:
        in_flight: dict[PrefectFuture, BatchJob] = {}

        def collect_one() -> BatchResult:
            future = next(as_completed(list(in_flight)))
            job = in_flight.pop(future)
            try:
                return future.result()
            except Exception as error:  # the batch failed after its retries
                return isolate_failed_batch(job, error, process_alone)

        for job in jobs:
            in_flight[runner.submit(batch_task, parameters={"job": job})] = job
            if len(in_flight) >= window:
                yield collect_one()
        while in_flight:
            yield collect_one()

    return map_batches


@flow(name="claims-extract", log_prints=True)
def extract_corpus(
    corpus: str,
    out: str = "outputs",
    batch_size: int = 32,
    workers: int = 1,
    engine: Literal["local", "dask"] = "local",
    address: str | None = None,
    retries: int = 2,
    retry_delay: float = 2.0,
    model: str | None = None,
    max_chars: int = DEFAULT_MAX_CHARS,
    commit_interval: float = 30.0,
    jsonl_fields: dict[str, str] | None = None,
    exclude: list[str] | None = None,
    show_progress: bool = False,
) -> dict:
    """Extract every new or changed article of `corpus` into the Parquet tables in `out`.

    Returns the run summary; the flow run ends Failed (summary as its data) when no
    article could be processed, so call it with `return_state=True` to read it then.

    A failing batch is retried `retries` times, `retry_delay` seconds later and then twice
    as long each time, before its articles are recorded as errors.
    """
    options = RunOptions(
        batch_size=batch_size,
        max_chars=max_chars,
        model=model,
        commit_interval=commit_interval,
        fields=JsonlFields().with_overrides(**(jsonl_fields or {})),
        exclude=tuple(exclude) if exclude is not None else DEFAULT_EXCLUDE,
    )
    total = estimate_sources(corpus, options.exclude) if show_progress else None
    bar = tqdm(total=total, unit="doc", disable=not show_progress)

    def progress(summary: RunSummary) -> None:
        bar.update(summary.done - bar.n)
        bar.set_postfix(
            processed=summary.processed,
            skipped=summary.skipped,
            failed=summary.failed,
            refresh=False,
        )

    batch_task = extract_batch.with_options(
        retries=retries, retry_delay_seconds=exponential_backoff(backoff_factor=retry_delay)
    )
    flow_run_id = str(get_run_context().flow_run.id)
    with make_task_runner(workers, engine, address) as runner, bar:
        try:  # a Dask runner starts or reaches its cluster here, on first use
            window = batches_in_flight(runner, workers)
        except Exception as error:  # OSError, TimeoutError, "Cluster failed to start"...
            where = f"the Dask scheduler at {address}" if address else "a local Dask cluster"
            raise EngineUnavailable(f"cannot use {where}: {error}") from error
        summary = run_corpus(
            corpus,
            out,
            options,
            map_batches=_map_with(runner, window, batch_task),
            progress=progress,
            flow_run_id=flow_run_id,
        )
    print(
        f"run {summary.run_id}: {summary.processed} processed, {summary.skipped} skipped, "
        f"{summary.failed} failed, {summary.sentences} sentences, "
        f"{summary.words_per_second:,.0f} words/s"
    )
    create_markdown_artifact(
        markdown=run_markdown(summary),
        key=ARTIFACT_KEY,
        description=f"Claims run {summary.run_id}: counts, failures, new claims by substance",
    )
    result = {
        **asdict(summary),
        "status": summary.status,
        "words_per_second": summary.words_per_second,
    }
    if summary.status == "failed":  # red in the UI, not a completed run that did nothing
        message = f"no article could be processed ({summary.failed} failed)"
        return Failed(message=message, data=result)
    return result
