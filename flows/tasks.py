"""The Prefect tasks a worker runs: what its process imports, kept small.

A worker unpickles these tasks by reference, so it imports this module and the worker half
of the library (`pipeline.runs.batches`), not the flow's planning, store, DuckDB or report.
"""

from __future__ import annotations

from prefect import task
from prefect.cache_policies import NONE
from prefect.tasks import exponential_backoff

from pipeline.runs.batches import BatchJob, BatchResult, loaded_version, process_batch


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


@task(name="load-pipeline", retries=0, cache_policy=NONE, persist_result=False)
def load_pipeline(model: str | None) -> str:
    """Load the pipeline in a worker (kept there for its batches); returns its version."""
    return loaded_version(model)
