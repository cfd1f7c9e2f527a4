"""The corpus extraction flow: Prefect runs the batches, `pipeline.runner` does the work.

Batches of articles are Prefect tasks (retried with backoff, run on a thread for one
worker or a process pool for several), so a long run shows its progress in Prefect and a
failing batch is retried before its articles are recorded as errors.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import asdict

from prefect import flow, task
from prefect.cache_policies import NONE
from prefect.context import get_run_context
from prefect.futures import PrefectFuture, as_completed
from prefect.task_runners import ProcessPoolTaskRunner, TaskRunner, ThreadPoolTaskRunner
from tqdm import tqdm

from pipeline.ingest import DEFAULT_EXCLUDE, DEFAULT_MAX_CHARS, JsonlFields
from pipeline.runner import (
    BatchJob,
    BatchResult,
    RunOptions,
    RunSummary,
    estimate_sources,
    failed_batch,
    process_batch,
    run_corpus,
)


@task(
    name="extract-batch",
    retries=2,
    retry_delay_seconds=[2, 10],
    cache_policy=NONE,  # inputs are article texts: hashing them buys nothing
    persist_result=False,
)
def extract_batch(job: BatchJob) -> BatchResult:
    """Run the NLP pipeline over one batch of articles."""
    return process_batch(job)


def make_task_runner(workers: int) -> TaskRunner:
    """One worker: a thread in this process. More: a pool of processes (spaCy holds the GIL)."""
    if workers <= 1:
        return ThreadPoolTaskRunner(max_workers=1)
    return ProcessPoolTaskRunner(max_workers=workers)


def _map_with(runner: TaskRunner, window: int):
    """A `map_batches` that keeps at most `window` batches in flight on `runner`."""

    def map_batches(jobs: Iterable[BatchJob]) -> Iterator[BatchResult]:
        in_flight: dict[PrefectFuture, BatchJob] = {}

        def collect_one() -> BatchResult:
            future = next(as_completed(list(in_flight)))
            job = in_flight.pop(future)
            try:
                return future.result()
            except Exception as error:  # the batch failed after its retries
                return failed_batch(job, error)

        for job in jobs:
            in_flight[runner.submit(extract_batch, parameters={"job": job})] = job
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
    model: str | None = None,
    max_chars: int = DEFAULT_MAX_CHARS,
    commit_interval: float = 30.0,
    jsonl_fields: dict[str, str] | None = None,
    exclude: list[str] | None = None,
    show_progress: bool = False,
) -> dict:
    """Extract every new or changed article of `corpus` into the Parquet tables in `out`."""
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

    flow_run_id = str(get_run_context().flow_run.id)
    with make_task_runner(workers) as runner, bar:
        summary = run_corpus(
            corpus,
            out,
            options,
            map_batches=_map_with(runner, window=max(2 * workers, 2)),
            progress=progress,
            flow_run_id=flow_run_id,
        )
    print(
        f"run {summary.run_id}: {summary.processed} processed, {summary.skipped} skipped, "
        f"{summary.failed} failed, {summary.sentences} sentences, "
        f"{summary.words_per_second:,.0f} words/s"
    )
    return {
        **asdict(summary),
        "status": summary.status,
        "words_per_second": summary.words_per_second,
    }
