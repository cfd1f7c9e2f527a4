"""Batches of articles through the NLP pipeline into table rows: what a worker does.

A worker process imports only this (spaCy, pyarrow and the row writers, not the tables'
store, DuckDB, pandas or the report): `process_batch` turns a `BatchJob` into a
`BatchResult`, loading the pipeline once per process. `pipeline.runs.runner` plans the
batches and commits their rows.
"""

from __future__ import annotations

import contextlib
import gc
import logging
import threading
import traceback
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pyarrow as pa
from spacy.language import Language
from spacy.tokens import Doc

from pipeline.ingest import Document, IngestError
from pipeline.nlp.loader import SpanKeys, default_model_path, load, make_doc, span_keys
from pipeline.storage.records import (
    abbreviation_rows,
    claim_rows,
    cue_rows,
    document_row,
    entity_rows,
    sentence_rows,
)
from pipeline.storage.schemas import DOCUMENT_TABLES, to_table

log = logging.getLogger(__name__)

# Words the pipeline sees at once (see `parse`): the memory of its layers grows with it,
# its speed hardly does beyond a few thousand (benchmarks/results/memory-*.md).
WORDS_PER_PIPE = 2000


@dataclass
class BatchJob:
    """A batch of articles to process, as sent to a worker."""

    documents: list[Document]
    run_id: str
    model: str | None = None
    # The run's pipeline version: a worker whose pipeline differs (another model under the
    # same path, stale code) fails the batch instead of stamping rows with its own version.
    pipeline_version: str | None = None
    words_per_pipe: int = WORDS_PER_PIPE  # see `parse`


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

    Once loaded, the process's objects are frozen out of the garbage collector (`gc.freeze`):
    the pipeline's million long-lived objects (lexicon, vocabulary) would make every full
    collection scan them, and make full collections so rare (CPython waits for 25% more
    long-lived objects) that each batch's cyclic garbage (Docs, spans, claims) piles up:
    90 MB more peak per worker on 300 articles (benchmarks/results/memory-*.md).
    """
    signature = _model_signature(model)
    with _PIPELINES_LOCK:
        cached = _PIPELINES.get(model)
        if cached is None or cached[0] != signature:
            _PIPELINES.pop(model, None)  # one pipeline per model: the old one can go
            _PIPELINES[model] = (signature, load(model))
            gc.collect()
            gc.freeze()
        return _PIPELINES[model][1]


def loaded_version(model: str | None = None) -> str:
    """The version of the pipeline `model` as this process loads it (see `get_pipeline`)."""
    return get_pipeline(model).meta["claims_pipeline_version"]


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
    result = BatchResult(tables={}, errors=[], processed_sources=[])
    built: list[tuple[Document, dict[str, list[dict]]]] = []
    outcomes = parse(nlp, job.documents, job.words_per_pipe)
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
    outcome = outcomes = None  # the batch's Docs are garbage now: free them before the next
    gc.collect()
    return result


def parse(
    nlp: Language, documents: list[Document], words_per_pipe: int = WORDS_PER_PIPE
) -> Iterator[Doc | Exception]:
    """Each document parsed, in order, or the exception that parsing it alone raised.

    The pipeline sees the documents in groups of about `words_per_pipe` words: the memory
    its layers take grows with the words of a group (a 32-article batch at once took 600 MB
    over the pipeline's own 500), not with the corpus. Only one group's Docs are alive at a
    time; the caller turns each into rows before asking for the next. A group the pipeline
    fails on is parsed again one document at a time.
    """
    for group in word_groups(documents, words_per_pipe):
        try:
            docs: list[Doc | Exception] = list(nlp.pipe(make_doc(nlp, d) for d in group))
        except Exception:
            log.warning("the pipeline failed on a group of documents; parsing them one by one")
            docs = []
            for document in group:
                try:
                    docs.append(nlp(make_doc(nlp, document)))
                except Exception as error:
                    docs.append(error)
        yield from docs
        del docs


def word_groups(documents: list[Document], max_words: int) -> Iterator[list[Document]]:
    """Consecutive groups of documents of at most `max_words` words each (a longer document
    is a group of its own)."""
    group: list[Document] = []
    words = 0
    for document in documents:
        if group and words + document.n_words > max_words:
            yield group
            group, words = [], 0
        group.append(document)
        words += document.n_words
    if group:
        yield group


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
            words_per_pipe=job.words_per_pipe,
        )
        try:
            results.append(process(single))
        except Exception as single_error:
            results.append(failed_batch(single, single_error))
    return merge_results(results)


def merge_results(results: list[BatchResult]) -> BatchResult:
    """One result holding the rows, errors and counts of several."""
    tables = tables_of(results)
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


def tables_of(results: list[BatchResult]) -> dict[str, list[pa.Table]]:
    tables: dict[str, list[pa.Table]] = {}
    for result in results:
        for name, table in result.tables.items():
            tables.setdefault(name, []).append(table)
    return tables


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
