"""Run the pipeline over a corpus into the output tables, incrementally.

This is the whole job as a library: `run_corpus` reads the corpus, skips articles already
processed by this pipeline version, processes the rest in batches, and commits the rows.
It does not know about Prefect: the flow in `flows/` passes a `map_batches` that runs the
batches as Prefect tasks (retries, parallel workers, a cluster), while notebooks and tests
can call `run_corpus` directly and get the same tables.
"""

from __future__ import annotations

import contextlib
import json
import logging
import threading
import time
import traceback
import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import pyarrow as pa
from spacy.language import Language

from pipeline.ingest import (
    DEFAULT_EXCLUDE,
    DEFAULT_MAX_CHARS,
    FORMATS,
    Document,
    IngestError,
    JsonlFields,
    iter_documents,
    list_files,
)
from pipeline.nlp.loader import SpanKeys, default_model_path, load, make_doc, span_keys
from pipeline.reports.html_report import write_report
from pipeline.runs.commits import Commits
from pipeline.runs.planning import KnownTables, Plan
from pipeline.runs.tally import Progress, Tally
from pipeline.storage.records import (
    abbreviation_rows,
    claim_rows,
    cue_rows,
    document_row,
    entity_rows,
    sentence_rows,
)
from pipeline.storage.run_summary import RunSummary
from pipeline.storage.schemas import DOCUMENT_TABLES, SCHEMA_VERSION, to_table
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

    def as_json(self) -> str:
        return json.dumps(asdict(self), sort_keys=True, default=str)


@dataclass
class BatchJob:
    """A batch of articles to process, as sent to a worker."""

    documents: list[Document]
    run_id: str
    model: str | None = None
    # The run's pipeline version: a worker whose pipeline differs (another model under the
    # same path, stale code) fails the batch instead of stamping rows with its own version.
    pipeline_version: str | None = None


@dataclass
class BatchResult:
    """A processed batch: table rows for the articles that worked, errors for the rest."""

    tables: dict[str, pa.Table]
    errors: list[IngestError]
    processed_sources: list[str]
    n_sentences: int = 0
    n_words: int = 0

    @property
    def processed_doc_ids(self) -> list[str]:
        table = self.tables.get("documents")
        return table.column("doc_id").to_pylist() if table is not None else []


class PipelineMismatch(RuntimeError):
    """A worker runs another pipeline version than the run it works for."""


MapBatches = Callable[[Iterable[BatchJob]], Iterable[BatchResult]]

_PIPELINES: dict[str | None, tuple[tuple, Language]] = {}  # model -> (file signature, nlp)
_PIPELINES_LOCK = threading.Lock()


def get_pipeline(model: str | None = None) -> Language:
    """The pipeline for `model`, loaded once per process (workers reuse it across batches).

    Keyed by the model files' signature too: a long-lived Dask worker must not go on with
    an old pipeline (and stamp rows with its version) after the model was rebuilt in place.
    Locked: a Dask worker with several threads would otherwise load it once per thread.
    """
    signature = _model_signature(model)
    with _PIPELINES_LOCK:
        cached = _PIPELINES.get(model)
        if cached is None or cached[0] != signature:
            _PIPELINES.pop(model, None)  # one pipeline per model: the old one can go
            _PIPELINES[model] = (signature, load(model))
        return _PIPELINES[model][1]


def _model_signature(model: str | None) -> tuple:
    """Where the pipeline is, and the size and modification time of its defining files."""
    path = Path(model) if model is not None else default_model_path()
    files = [path / "config.cfg", path / "meta.json"] if path.is_dir() else [path]
    signature: list[object] = [str(path.resolve())]
    for file in files:
        with contextlib.suppress(OSError):
            info = file.stat()
            signature.append((file.name, info.st_size, info.st_mtime_ns))
    return tuple(signature)


def process_batch(job: BatchJob) -> BatchResult:
    """Run the NLP pipeline over a batch and build its table rows.

    A document that makes the pipeline fail is isolated and recorded as an error; the rest
    of the batch still comes back.
    """
    nlp = get_pipeline(job.model)
    version = nlp.meta["claims_pipeline_version"]
    keys = span_keys(nlp)
    if job.pipeline_version is not None and version != job.pipeline_version:
        raise PipelineMismatch(
            f"this worker's pipeline is {version}, the run's is {job.pipeline_version}: "
            "install the same code and model on every worker, or pass --model with a path "
            "they all read"
        )
    now = datetime.now(UTC)
    try:
        docs = list(nlp.pipe(make_doc(nlp, d) for d in job.documents))
        outcomes: list[object] = list(docs)
    except Exception:
        log.warning("batch failed in the pipeline; retrying its documents one by one")
        outcomes = []
        for document in job.documents:
            try:
                outcomes.append(nlp(make_doc(nlp, document)))
            except Exception as error:
                outcomes.append(error)
    result = BatchResult(tables={}, errors=[], processed_sources=[])
    built: list[tuple[Document, dict[str, list[dict]]]] = []
    for document, outcome in zip(job.documents, outcomes, strict=True):
        if isinstance(outcome, Exception):
            result.errors.append(_nlp_error(document, outcome))
            continue
        try:
            built.append(
                (document, _document_rows(document, outcome, job.run_id, version, now, keys))
            )
        except Exception as error:  # one article's odd rows must not cost the batch
            result.errors.append(_nlp_error(document, error))
    try:
        result.tables = _to_tables([rows for _, rows in built])
    except Exception:
        # Some article's rows do not fit the schema: convert one at a time to find it.
        log.warning("rows of a batch do not convert; converting its articles one by one")
        converted, kept = [], []
        for document, rows in built:
            try:
                converted.append(_to_tables([rows]))
                kept.append((document, rows))
            except Exception as error:
                result.errors.append(_nlp_error(document, error))
        built = kept
        result.tables = {
            name: pa.concat_tables([tables[name] for tables in converted])
            if converted
            else to_table(name, [])
            for name in DOCUMENT_TABLES
        }
    for document, rows in built:
        result.processed_sources.append(document.source)
        result.n_sentences += len(rows["sentences"])
        result.n_words += document.n_words
    return result


def _document_rows(
    document: Document, doc, run_id: str, version: str, now: datetime, keys: SpanKeys
) -> dict[str, list[dict]]:
    """Every table's rows for one processed article."""
    sentences = sentence_rows(doc, document.doc_id)
    return {
        "documents": [
            document_row(
                document,
                len(sentences),
                pipeline_version=version,
                run_id=run_id,
                processed_at=now,
            )
        ],
        "sentences": sentences,
        "abbreviations": abbreviation_rows(doc, document.doc_id),
        "entities": entity_rows(doc, document.doc_id, sentences, keys),
        "claims": claim_rows(doc, document.doc_id, document.source, sentences, version),
        "cues": cue_rows(doc, document.doc_id, sentences, keys),
    }


def _to_tables(per_document: list[dict[str, list[dict]]]) -> dict[str, pa.Table]:
    return {
        name: to_table(name, [row for rows in per_document for row in rows[name]])
        for name in DOCUMENT_TABLES
    }


def isolate_failed_batch(
    job: BatchJob, error: BaseException, process: Callable[[BatchJob], BatchResult]
) -> BatchResult:
    """A batch that failed as a whole, tried again one article at a time.

    Whatever broke the batch (a worker that died, an article that crashes the pipeline,
    rows no writer accepts) then costs only the articles that break on their own; each of
    those becomes an `errors` row with the reason it failed alone.
    """
    if len(job.documents) <= 1:
        return failed_batch(job, error)
    log.warning(
        "batch of %d articles failed (%s); trying them one by one", len(job.documents), error
    )
    results = []
    for document in job.documents:
        single = BatchJob(
            documents=[document],
            run_id=job.run_id,
            model=job.model,
            pipeline_version=job.pipeline_version,
        )
        try:
            results.append(process(single))
        except Exception as single_error:
            results.append(failed_batch(single, single_error))
    return merge_results(results)


def merge_results(results: list[BatchResult]) -> BatchResult:
    """One result holding the rows, errors and counts of several."""
    tables = _tables_of(results)
    return BatchResult(
        tables={name: pa.concat_tables(parts) for name, parts in tables.items()},
        errors=[error for result in results for error in result.errors],
        processed_sources=[source for result in results for source in result.processed_sources],
        n_sentences=sum(result.n_sentences for result in results),
        n_words=sum(result.n_words for result in results),
    )


def failed_batch(job: BatchJob, error: BaseException) -> BatchResult:
    """The result of a batch whose worker failed for good: every document is an error."""
    return BatchResult(
        tables={},
        errors=[_nlp_error(d, error) for d in job.documents],
        processed_sources=[],
    )


def run_sequentially(jobs: Iterable[BatchJob]) -> Iterator[BatchResult]:
    """The default `map_batches`: in this process, one batch after another."""
    for job in jobs:
        try:
            yield process_batch(job)
        except Exception as error:  # e.g. the pipeline cannot load
            yield isolate_failed_batch(job, error, process_batch)


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
) -> RunSummary:
    """Process the new and changed articles of `corpus` into the tables in `out_dir`."""
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
        nlp = get_pipeline(options.model)
        summary.pipeline_version = nlp.meta["claims_pipeline_version"]
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
                commits.checkpoint(_tables_of(pending), plan.replaced(_processed_ids(pending)))
                pending = []
                last_commit = time.monotonic()
        summary.seconds = time.monotonic() - clock
        commits.finish(
            _tables_of(pending),
            replaced=plan.replaced(_processed_ids(pending)),
            stale=plan.stale(),
            retried=plan.retried(),
            errors=tally.errors,
            run_row=_run_row(summary, options, started, flow_run_id),
        )
        summary.report = _write_report(out_dir, summary)
    return summary


def _write_report(out_dir: Path | str, summary: RunSummary) -> str | None:
    """The HTML report of the run; the tables are published already, so a report that
    cannot be built is logged, not a failed run (`claims report` builds it again)."""
    try:
        return write_report(out_dir, summary).resolve().as_posix()
    except Exception:
        log.exception("the run's tables are published, but its HTML report failed")
        return None


def _tables_of(results: list[BatchResult]) -> dict[str, list[pa.Table]]:
    tables: dict[str, list[pa.Table]] = {}
    for result in results:
        for name, table in result.tables.items():
            tables.setdefault(name, []).append(table)
    return tables


def _processed_ids(results: list[BatchResult]) -> set[str]:
    return {doc_id for result in results for doc_id in result.processed_doc_ids}


@dataclass
class NlpError(IngestError):
    """A document that was read but failed in the NLP pipeline."""

    doc_id: str | None = None


def _nlp_error(document: Document, error: BaseException) -> NlpError:
    where = traceback.extract_tb(error.__traceback__)[-1] if error.__traceback__ else None
    location = f" (at {where.filename}:{where.lineno})" if where else ""
    return NlpError(
        source=document.source,
        error_type=type(error).__name__,
        message=f"pipeline failed: {error}{location}",
        stage="nlp",
        doc_id=document.doc_id,
    )


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
