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
import pyarrow.compute as pc
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
    make_safe,
)
from pipeline.nlp.layout import HEADING_HINTS_KEY
from pipeline.nlp.loader import default_model_path, load
from pipeline.reports.html_report import write_report
from pipeline.storage.claim_summary import summarise_snapshot
from pipeline.storage.records import (
    abbreviation_rows,
    claim_rows,
    document_row,
    entity_rows,
    hedge_rows,
    sentence_rows,
)
from pipeline.storage.run_summary import RunSummary
from pipeline.storage.schemas import DOCUMENT_TABLES, SCHEMA_VERSION, to_table
from pipeline.storage.store import Derive, TableStore

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


MAX_FAILURE_EXAMPLES = 20


class PipelineMismatch(RuntimeError):
    """A worker runs another pipeline version than the run it works for."""


MapBatches = Callable[[Iterable[BatchJob]], Iterable[BatchResult]]
Progress = Callable[[RunSummary], None]

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
    if job.pipeline_version is not None and version != job.pipeline_version:
        raise PipelineMismatch(
            f"this worker's pipeline is {version}, the run's is {job.pipeline_version}: "
            "install the same code and model on every worker, or pass --model with a path "
            "they all read"
        )
    now = datetime.now(UTC)
    try:
        docs = list(nlp.pipe(_spacy_doc(nlp, d) for d in job.documents))
        outcomes: list[object] = list(docs)
    except Exception:
        log.warning("batch failed in the pipeline; retrying its documents one by one")
        outcomes = []
        for document in job.documents:
            try:
                outcomes.append(nlp(_spacy_doc(nlp, document)))
            except Exception as error:
                outcomes.append(error)
    result = BatchResult(tables={}, errors=[], processed_sources=[])
    built: list[tuple[Document, dict[str, list[dict]]]] = []
    for document, outcome in zip(job.documents, outcomes, strict=True):
        if isinstance(outcome, Exception):
            result.errors.append(_nlp_error(document, outcome))
            continue
        try:
            built.append((document, _document_rows(document, outcome, job.run_id, version, now)))
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
    document: Document, doc, run_id: str, version: str, now: datetime
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
        "entities": entity_rows(doc, document.doc_id, sentences),
        "claims": claim_rows(doc, document.doc_id, document.source, sentences, version),
        "hedges": hedge_rows(doc, document.doc_id, sentences),
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
        plan = _Plan(store, summary, options, progress)
        jobs = (
            BatchJob(
                documents=batch,
                run_id=summary.run_id,
                model=options.model,
                pipeline_version=summary.pipeline_version,
            )
            for batch in plan.batches(corpus)
        )
        pending: list[BatchResult] = []
        last_commit = time.monotonic()
        for result in map_batches(jobs):
            plan.record(result)
            pending.append(result)
            if time.monotonic() - last_commit >= options.commit_interval:
                plan.checkpoint(pending)
                pending = []
                last_commit = time.monotonic()
        summary.seconds = time.monotonic() - clock
        plan.finish(pending, _run_row(summary, options, started, flow_run_id))
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


class _Plan:
    """Decides what to process, tracks counts, and commits finished batches.

    Checkpoints only add rows (replacing older rows of the same article ids), so a killed
    run never loses an article. Rows that became stale (an article whose text changed, a
    record that moved or vanished, errors of sources read again) are dropped by the final
    commit, once the whole corpus has been read and every live article id is known.
    """

    def __init__(
        self,
        store: TableStore,
        summary: RunSummary,
        options: RunOptions,
        progress: Progress | None,
    ):
        self.store = store
        self.summary = summary
        self.options = options
        self.progress = progress
        known = store.read("documents", columns=["doc_id", "source", "pipeline_version"])
        self.known = list(
            zip(known.column("source").to_pylist(), known.column("doc_id").to_pylist(), strict=True)
        )
        versions = dict(
            zip(
                known.column("doc_id").to_pylist(),
                known.column("pipeline_version").to_pylist(),
                strict=True,
            )
        )
        current = summary.pipeline_version
        self.versions = versions  # doc_id -> pipeline version, as the run found them
        self.up_to_date = {doc_id for doc_id, v in versions.items() if v == current}
        self.known_claims = self._claims_of(set(versions) - self.up_to_date)
        self.kept: set[str] = set()  # up-to-date doc_ids seen in this run
        self.planned: set[str] = set()  # doc_ids sent for processing in this run
        self.seen_files: set[str] = set()
        self.errors: list[IngestError] = []
        stored = store.read("errors", columns=["source", "error_type"])
        self.known_errors = set(
            zip(
                stored.column("source").to_pylist(),
                stored.column("error_type").to_pylist(),
                strict=True,
            )
        )

    def _claims_of(self, doc_ids: set[str]) -> set[str]:
        """Claim ids already in the tables for these articles.

        Only articles processed by another pipeline version can be processed again under
        the same doc_id (a changed text is a new doc_id, and claim ids hash the doc_id), so
        only their claims can be "not new"; no other claim id needs to be held.
        """
        if not doc_ids:
            return set()
        claims = self.store.read("claims", columns=["claim_id", "doc_id"])
        mine = pc.is_in(claims.column("doc_id"), value_set=pa.array(sorted(doc_ids), pa.string()))
        return set(claims.filter(mine).column("claim_id").to_pylist())

    def batches(self, corpus: Path | str) -> Iterator[list[Document]]:
        batch: list[Document] = []
        documents = iter_documents(
            corpus, self.options.fields, self.options.max_chars, self.options.exclude
        )
        for item in documents:
            self.summary.seen += 1
            self.seen_files.add(_file_of(item.source))
            if isinstance(item, IngestError):
                self.errors.append(item)
                self._count_failure(item)
            elif item.doc_id in self.up_to_date or item.doc_id in self.planned:
                # Unchanged since a run of this pipeline version, or a duplicate text.
                self.kept.add(item.doc_id)
                self.summary.skipped += 1
            else:
                self.planned.add(item.doc_id)
                batch.append(item)
                if len(batch) >= self.options.batch_size:
                    yield batch
                    batch = []
            self._report()
        if batch:
            yield batch

    def record(self, result: BatchResult) -> None:
        self.summary.processed += len(result.processed_sources)
        self.summary.sentences += result.n_sentences
        self.summary.words += result.n_words
        self.errors.extend(result.errors)
        for error in result.errors:
            self._count_failure(error)
        self._count_claims(result.tables.get("claims"))
        self._report()

    def _count_claims(self, claims: pa.Table | None) -> None:
        if claims is None or not claims.num_rows:
            return
        self.summary.claims += claims.num_rows
        by_substance = self.summary.new_claims_by_substance
        ids = claims.column("claim_id").to_pylist()
        substances = claims.column("substance_norm").to_pylist()
        for claim_id, substance in zip(ids, substances, strict=True):
            if claim_id not in self.known_claims:
                self.summary.new_claims += 1
                name = substance or ""
                by_substance[name] = by_substance.get(name, 0) + 1

    def checkpoint(self, results: list[BatchResult]) -> None:
        """Publish finished batches; an article's new rows replace its older ones."""
        if results:
            self.store.commit(
                _tables_of(results), drop_doc_ids=self._replaced(results), derive=self._derived()
            )

    def _derived(self) -> dict[str, Derive]:
        """Tables every commit of the run recomputes from the rows it publishes, so that in
        any snapshot (a checkpoint too) `claim_summary` summarises exactly its `claims`."""
        run_id = self.summary.run_id
        return {"claim_summary": lambda staged, before: summarise_snapshot(staged, before, run_id)}

    def finish(self, results: list[BatchResult], run_row: dict) -> None:
        """The last commit: remaining batches, this run's errors, the run row, clean-up."""
        live = self.kept | self.planned
        stale = {
            doc_id
            for source, doc_id in self.known
            if _file_of(source) in self.seen_files and doc_id not in live
        }
        # Checkpoints write no errors: the stored ones are those the run started with.
        retried = {s for s, _ in self.known_errors if _file_of(s) in self.seen_files}
        added = _tables_of(results)
        if self.errors:
            added["errors"] = [to_table("errors", [self._error_row(e) for e in self.errors])]
        added["runs"] = [to_table("runs", [run_row])]
        self.store.commit(
            added,
            drop_doc_ids=self._replaced(results) | stale,
            drop_sources=retried,
            derive=self._derived(),
        )

    def _replaced(self, results: list[BatchResult]) -> set[str]:
        """Processed articles that have older rows to replace.

        Only those that were in the tables when the run started: an article is processed
        once per run. Articles new to the tables need no scan of the stored parts, so a
        commit of new articles never reads the tables it appends to (memory stays flat
        however large they grow).
        """
        return _processed_ids(results) & self.versions.keys()

    def _error_row(self, error: IngestError) -> dict:
        """An `errors` row; every string made writable, so recording a failure never fails."""
        doc_id = getattr(error, "doc_id", None)
        return {
            "source": _writable(error.source),
            "doc_id": _writable(doc_id) if doc_id is not None else None,
            "stage": _writable(error.stage),
            "error_type": _writable(error.error_type),
            "message": _writable(error.message),
            "run_id": self.summary.run_id,
            "occurred_at": datetime.now(UTC),
        }

    def _count_failure(self, error: IngestError) -> None:
        self.summary.failed += 1
        if (error.source, error.error_type) in self.known_errors:
            self.summary.known_failed += 1
        if len(self.summary.failure_examples) < MAX_FAILURE_EXAMPLES:
            self.summary.failure_examples.append((error.source, error.error_type, error.message))
        counts = self.summary.errors_by_type
        counts[error.error_type] = counts.get(error.error_type, 0) + 1

    def _report(self) -> None:
        if self.progress is not None:
            self.progress(self.summary)


def _writable(value: object) -> str:
    """`value` as text any UTF-8 writer accepts (lone surrogates replaced)."""
    return make_safe(str(value), "error", [])


def _file_of(source: str) -> str:
    """The file part of a source (`path#record` -> `path`)."""
    return source.split("#", 1)[0]


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


def _spacy_doc(nlp: Language, document: Document):
    doc = nlp.make_doc(document.text)
    if document.heading_lines is not None:
        doc.user_data[HEADING_HINTS_KEY] = [list(r) for r in document.heading_lines]
    return doc


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
