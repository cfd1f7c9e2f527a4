"""The corpus extraction flow: Prefect runs the batches, `pipeline.runs.runner` does the work.

Batches of articles are Prefect tasks, retried with exponential backoff, so a long run
shows its progress in Prefect and a failing batch is retried before its articles are
recorded as errors. The engine decides where batches run: `local` (a thread for one
worker, a process pool for several) or `dask` (a local Dask cluster, or an existing one
at `address`, through prefect-dask). Every engine gives the same rows and ids: batches are
pure functions of their articles, and only this process writes the tables.
"""

from __future__ import annotations

import contextlib
import sys
import time
from collections.abc import Iterable, Iterator
from concurrent.futures.process import BrokenProcessPool
from dataclasses import asdict
from typing import Literal

from prefect import flow
from prefect.artifacts import create_markdown_artifact
from prefect.client.orchestration import get_client
from prefect.context import get_run_context
from prefect.futures import PrefectFuture, as_completed
from prefect.settings import PREFECT_API_URL, temporary_settings
from prefect.states import Failed
from prefect.task_runners import ProcessPoolTaskRunner, TaskRunner, ThreadPoolTaskRunner
from prefect.tasks import exponential_backoff
from tqdm import tqdm

from flows.tasks import extract_batch, load_pipeline
from pipeline.ingest import DEFAULT_EXCLUDE, DEFAULT_MAX_CHARS, JsonlFields
from pipeline.reports.run_report import run_markdown
from pipeline.runs.batches import BatchJob, BatchResult, isolate_failed_batch
from pipeline.storage.run_summary import RunSummary

ENGINES = ("local", "dask")


class EngineUnavailable(RuntimeError):
    """The Dask cluster could not be started or reached."""


class PipelineUnavailable(RuntimeError):
    """The workers could not load the pipeline."""


ARTIFACT_KEY = "claims-run"  # the UI groups each run's summary under this key


class RecyclingProcessPoolTaskRunner(ProcessPoolTaskRunner):
    """Prefect's process pool, with worker processes replaced after `max_tasks_per_child`
    tasks (None: never), and a new pool when a worker process dies.

    Recycling bounds what a long run's workers can accumulate (allocator fragmentation,
    caches), at the cost of loading the pipeline again in each new process. A worker killed
    mid-task (out of memory, a signal) breaks a `ProcessPoolExecutor` for good: every task
    in flight fails, and so would every later one. The pool is then replaced, so the failed
    batches can be submitted again. Each task's cancel event goes once the task is done.
    """

    def __init__(self, max_workers: int, max_tasks_per_child: int | None = None):
        super().__init__(max_workers=max_workers)
        self.max_tasks_per_child = max_tasks_per_child

    def duplicate(self) -> RecyclingProcessPoolTaskRunner:
        return type(self)(self._max_workers, self.max_tasks_per_child)

    def __enter__(self) -> RecyclingProcessPoolTaskRunner:
        super().__enter__()
        self._executor = self._new_executor(self._executor)
        return self

    def _new_executor(self, old):
        """A pool like `old` (same start method, initializer), recycling its workers."""
        old.shutdown(wait=False, cancel_futures=True)
        return type(old)(
            max_workers=self._max_workers,
            mp_context=old._mp_context,
            initializer=old._initializer,
            initargs=old._initargs,
            max_tasks_per_child=self.max_tasks_per_child,
        )

    def submit(self, task, parameters=None, wait_for=None, dependencies=None):
        if self._executor is not None and self._executor._broken:
            self.logger.warning("a worker process died; starting a new process pool")
            self._executor = self._new_executor(self._executor)
        future = super().submit(task, parameters, wait_for, dependencies)
        # Prefect keeps a cancel event (four OS semaphores) per task until the pool closes:
        # over a long run they would pile up, one per batch.
        future.add_done_callback(lambda done: self._cancel_events.pop(done.task_run_id, None))
        return future


def make_task_runner(
    workers: int,
    engine: str = "local",
    address: str | None = None,
    recycle_after: int | None = None,
) -> TaskRunner:
    """Where batches run.

    local: one worker is a thread in this process; more are processes (spaCy holds the GIL),
    each replaced by a fresh one after `recycle_after` batches (None: never).
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
    return RecyclingProcessPoolTaskRunner(workers, max_tasks_per_child=recycle_after)


@contextlib.contextmanager
def workers_report_here() -> Iterator[None]:
    """Worker processes report their task runs to the Prefect API this flow reports to.

    With no API configured, Prefect serves a temporary server for this process. A worker
    process would not know it and would start one of its own: 200 MB and seconds of start-up
    per worker, with its task runs in another server than the flow's.
    """
    if PREFECT_API_URL.value():
        yield
        return
    with get_client(sync_client=True) as client:  # the temporary server this flow uses
        url = str(client.api_url)
    with temporary_settings(updates={PREFECT_API_URL: url}):
        yield


def batches_in_flight(runner: TaskRunner, workers: int) -> int:
    """Two batches per worker thread keep every worker busy while results come back."""
    slots = workers
    client = getattr(runner, "client", None)  # a Dask cluster says how many threads it has
    if client is not None:
        slots = sum(client.nthreads().values()) or workers
    return max(2 * slots, 2)


def _map_with(runner: TaskRunner, window: int, batch_task=extract_batch):
    """A `map_batches` that keeps at most `window` batches in flight on `runner`.

    A batch whose worker process died (killed, out of memory) is submitted once more as a
    whole: the other batches in flight die with it, through no fault of their own. A batch
    that still fails is tried again one article at a time (each once, as its own task), so
    only the articles that fail alone are lost to `errors`.
    """
    single_task = batch_task.with_options(retries=0)

    def process_alone(job: BatchJob) -> BatchResult:
        return runner.submit(single_task, parameters={"job": job}).result()

    def map_batches(jobs: Iterable[BatchJob]) -> Iterator[BatchResult]:
        in_flight: dict[PrefectFuture, BatchJob] = {}
        again: set[PrefectFuture] = set()  # batches sent again after their worker died

        def collect_one() -> BatchResult:
            while True:
                future = next(as_completed(list(in_flight)))
                job = in_flight.pop(future)
                try:
                    result = future.result()
                    again.discard(future)
                    return result
                except Exception as error:  # the batch failed after its retries
                    if worker_died(error) and future not in again:
                        resent = runner.submit(batch_task, parameters={"job": job})
                        in_flight[resent] = job
                        again.add(resent)
                        continue
                    again.discard(future)
                    return isolate_failed_batch(job, error, process_alone)

        for job in jobs:
            in_flight[runner.submit(batch_task, parameters={"job": job})] = job
            if len(in_flight) >= window:
                yield collect_one()
        while in_flight:
            yield collect_one()

    return map_batches


def worker_died(error: BaseException) -> bool:
    """Whether a task failed because its worker process went away, not because of its input."""
    return isinstance(error, BrokenProcessPool) or type(error).__name__ == "KilledWorker"


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
    recycle_after: int | None = None,
    jsonl_fields: dict[str, str] | None = None,
    exclude: list[str] | None = None,
    show_progress: bool = False,
) -> dict:
    """Extract every new or changed article of `corpus` into the Parquet tables in `out`.

    Returns the run summary; the flow run ends Failed (summary as its data) when no
    article could be processed, so call it with `return_state=True` to read it then.

    A failing batch is retried `retries` times, `retry_delay` seconds later and then twice
    as long each time, before its articles are recorded as errors. With several local
    workers, each worker process is replaced by a fresh one after `recycle_after` batches
    (None: never).
    """
    # Here, not at the top: a worker imports this module with the flow it runs for, and
    # must not import the store, DuckDB and pandas it never uses (55 MB per worker).
    from pipeline.runs.runner import RunOptions, estimate_sources, run_corpus

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
    runner_in = make_task_runner(workers, engine, address, recycle_after)
    with workers_report_here(), runner_in as runner, bar:
        try:  # a Dask runner starts or reaches its cluster here, on first use
            window = batches_in_flight(runner, workers)
        except Exception as error:  # OSError, TimeoutError, "Cluster failed to start"...
            where = f"the Dask scheduler at {address}" if address else "a local Dask cluster"
            raise EngineUnavailable(f"cannot use {where}: {error}") from error
        version = None  # one local worker is this process: the run loads the pipeline here
        if engine == "dask" or workers > 1:
            # Only workers need the pipeline; asking one for its version loads it there.
            started = time.monotonic()
            try:  # one task per worker slot: the workers load it side by side, not in turn
                loads = [
                    runner.submit(load_pipeline, parameters={"model": model})
                    for _ in range(max(window // 2, 1))
                ]
                version = loads[0].result()
            except Exception as error:
                raise PipelineUnavailable(
                    f"the workers cannot load the pipeline from {model or 'the default'}: {error}"
                ) from error
            seconds = time.monotonic() - started
            print(f"pipeline {version} loaded by a worker in {seconds:.1f} s", file=sys.stderr)
        summary = run_corpus(
            corpus,
            out,
            options,
            map_batches=_map_with(runner, window, batch_task),
            progress=progress,
            flow_run_id=flow_run_id,
            pipeline_version=version,
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
