"""Run the pipeline over a corpus into the output tables, incrementally.

This is the whole job as a library: `run_corpus` reads the corpus, skips articles already
processed by this pipeline version, processes the rest in batches, and commits the rows.
It does not know about Prefect: the flow in `flows/` passes a `map_batches` that runs the
batches as Prefect tasks (retries, parallel workers, a cluster), while notebooks and tests
can call `run_corpus` directly and get the same tables.
"""

from __future__ import annotations

import json
import logging
import time
import uuid
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from pipeline.ingest import (
    DEFAULT_EXCLUDE,
    DEFAULT_MAX_CHARS,
    FORMATS,
    JsonlFields,
    iter_documents,
    list_files,
)
from pipeline.runs.batches import (  # noqa: F401  (the worker half, re-exported)
    WORDS_PER_PIPE,
    BatchJob,
    BatchResult,
    MapBatches,
    NlpError,
    PipelineMismatch,
    failed_batch,
    get_pipeline,
    isolate_failed_batch,
    loaded_version,
    merge_results,
    parse,
    process_batch,
    run_sequentially,
    tables_of,
    word_groups,
)
from pipeline.runs.commits import Commits
from pipeline.runs.planning import KnownTables, Plan
from pipeline.runs.tally import Progress, Tally
from pipeline.storage.run_summary import RunSummary
from pipeline.storage.schemas import SCHEMA_VERSION
from pipeline.storage.store import TableStore

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RunOptions:
    """Everything that shapes a run besides the corpus and the output folder."""

    batch_size: int = 32
    max_chars: int = DEFAULT_MAX_CHARS
    model: str | None = None  # pipeline path; None means `pipeline.load()`'s default
    commit_interval: float = 30.0  # seconds between checkpoints of finished batches
    fields: JsonlFields = field(default_factory=JsonlFields)
    exclude: tuple[str, ...] = DEFAULT_EXCLUDE  # file-name globs that are not articles
    words_per_pipe: int = WORDS_PER_PIPE  # words the pipeline sees at once (memory)

    def as_json(self) -> str:
        return json.dumps(asdict(self), sort_keys=True, default=str)


def new_run_id() -> str:
    return f"{datetime.now(UTC):%Y%m%dT%H%M%SZ}-{uuid.uuid4().hex[:6]}"


def estimate_sources(corpus: Path | str, exclude: tuple[str, ...] = DEFAULT_EXCLUDE) -> int:
    """Quick count of sources for a progress bar: files, plus lines of JSON Lines files."""
    total = 0
    for path in list_files(Path(corpus), exclude):
        if FORMATS.get(path.suffix.lower()) != "jsonl":
            total += 1
            continue
        try:
            with path.open("rb") as handle:
                total += sum(1 for line in handle if line.strip())
        except OSError:  # the run itself records why the file cannot be read
            total += 1
    return total


def run_corpus(
    corpus: Path | str,
    out_dir: Path | str,
    options: RunOptions | None = None,
    *,
    map_batches: MapBatches = run_sequentially,
    progress: Progress | None = None,
    run_id: str | None = None,
    flow_run_id: str | None = None,
    pipeline_version: str | None = None,
) -> RunSummary:
    """Process the new and changed articles of `corpus` into the tables in `out_dir`.

    `pipeline_version` is the version of the pipeline the batches run (`loaded_version`),
    when the workers already told it; otherwise this process loads the pipeline to know it.
    A run whose batches run elsewhere then holds no pipeline in this process (500 MB).
    """
    options = options or RunOptions()
    started = datetime.now(UTC)
    clock = time.monotonic()
    summary = RunSummary(
        run_id=run_id or new_run_id(),
        corpus=Path(corpus).resolve().as_posix(),
        out_dir=Path(out_dir).resolve().as_posix(),
    )
    store = TableStore(out_dir)
    with store.lock():
        summary.pipeline_version = pipeline_version or loaded_version(options.model)
        known = KnownTables.read(store, summary.pipeline_version)
        plan = Plan(known, summary.pipeline_version, options.batch_size)
        tally = Tally(summary, known, progress)
        commits = Commits(store, summary.run_id)
        items = iter_documents(corpus, options.fields, options.max_chars, options.exclude)
        jobs = (
            BatchJob(
                documents=batch,
                run_id=summary.run_id,
                model=options.model,
                pipeline_version=summary.pipeline_version,
                words_per_pipe=options.words_per_pipe,
            )
            for batch in plan.batches(items, tally.item)
        )
        pending: list[BatchResult] = []
        last_commit = time.monotonic()
        for result in map_batches(jobs):
            tally.batch(
                len(result.processed_sources),
                result.n_sentences,
                result.n_words,
                result.errors,
                result.tables.get("claims"),
            )
            pending.append(result)
            if time.monotonic() - last_commit >= options.commit_interval:
                commits.checkpoint(tables_of(pending), plan.replaced(_processed_ids(pending)))
                pending = []
                last_commit = time.monotonic()
        summary.seconds = time.monotonic() - clock
        summary.duplicates = len(plan.duplicates)
        commits.finish(
            tables_of(pending),
            replaced=plan.replaced(_processed_ids(pending)),
            stale=plan.stale(),
            retried=plan.retried(),
            errors=tally.errors,
            duplicates=plan.duplicates,
            run_row=_run_row(summary, options, started, flow_run_id),
        )
        summary.report = _write_report(out_dir, summary)
    return summary


def _write_report(out_dir: Path | str, summary: RunSummary) -> str | None:
    """The HTML report of the run; the tables are published already, so a report that
    cannot be built is logged, not a failed run (`claims report` builds it again)."""
    try:
        from pipeline.reports.html_report import write_report  # charts: not for workers

        return write_report(out_dir, summary).resolve().as_posix()
    except Exception:
        log.exception("the run's tables are published, but its HTML report failed")
        return None


def _processed_ids(results: list[BatchResult]) -> set[str]:
    return {doc_id for result in results for doc_id in result.processed_doc_ids}


def _run_row(
    summary: RunSummary, options: RunOptions, started: datetime, flow_run_id: str | None
) -> dict:
    return {
        "run_id": summary.run_id,
        "flow_run_id": flow_run_id,
        "started_at": started,
        "finished_at": datetime.now(UTC),
        "corpus": summary.corpus,
        "parameters": options.as_json(),
        "pipeline_version": summary.pipeline_version,
        "schema_version": SCHEMA_VERSION,
        "status": summary.status,
        "n_seen": summary.seen,
        "n_processed": summary.processed,
        "n_skipped": summary.skipped,
        "n_failed": summary.failed,
        "n_sentences": summary.sentences,
        "n_words": summary.words,
        "seconds": summary.seconds,
        "words_per_second": summary.words_per_second,
    }
