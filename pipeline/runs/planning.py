"""What a run processes: the articles the tables hold, and the corpus read against them.

An article is processed when the tables do not hold its text (a new or changed article)
or hold it from another pipeline version; unchanged articles and duplicate texts are
skipped. Once the whole corpus has been read, the plan also knows what became stale: rows
of articles whose text changed or whose record vanished, and errors of sources read again.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass

import pyarrow as pa
import pyarrow.compute as pc

from pipeline.ingest import Document, IngestError
from pipeline.storage.store import TableStore


def file_of(source: str) -> str:
    """The file part of a source (`path#record` -> `path`)."""
    return source.split("#", 1)[0]


@dataclass(frozen=True)
class KnownTables:
    """What the tables held when the run started."""

    articles: list[tuple[str, str]]  # (source, doc_id) of every stored article
    versions: dict[str, str]  # doc_id -> the pipeline version that processed it
    errors: set[tuple[str, str]]  # (source, error type) of every stored error
    claims: set[str]  # claim ids of the articles this version may process again
    duplicates: frozenset[str] = frozenset()  # sources of every stored `duplicates` row

    @classmethod
    def read(cls, store: TableStore, pipeline_version: str) -> KnownTables:
        documents = store.read("documents", columns=["doc_id", "source", "pipeline_version"])
        doc_ids = documents.column("doc_id").to_pylist()
        versions = dict(zip(doc_ids, documents.column("pipeline_version").to_pylist(), strict=True))
        stored = store.read("errors", columns=["source", "error_type"])
        errors = set(
            zip(
                stored.column("source").to_pylist(),
                stored.column("error_type").to_pylist(),
                strict=True,
            )
        )
        outdated = {doc_id for doc_id, version in versions.items() if version != pipeline_version}
        duplicates = store.read("duplicates", columns=["source"]).column("source").to_pylist()
        return cls(
            articles=list(zip(documents.column("source").to_pylist(), doc_ids, strict=True)),
            versions=versions,
            errors=errors,
            claims=_claims_of(store, outdated),
            duplicates=frozenset(duplicates),
        )


def _claims_of(store: TableStore, doc_ids: set[str]) -> set[str]:
    """Claim ids already in the tables for these articles.

    Only articles processed by another pipeline version can be processed again under the
    same doc_id (a changed text is a new doc_id, and claim ids hash the doc_id), so only
    their claims can be "not new"; no other claim id needs to be held.
    """
    if not doc_ids:
        return set()
    claims = store.read("claims", columns=["claim_id", "doc_id"])
    mine = pc.is_in(claims.column("doc_id"), value_set=pa.array(sorted(doc_ids), pa.string()))
    return set(claims.filter(mine).column("claim_id").to_pylist())


class Plan:
    """Splits the corpus into batches of articles to process, and says what is stale."""

    def __init__(self, known: KnownTables, pipeline_version: str, batch_size: int):
        self.known = known
        self.batch_size = batch_size
        self.up_to_date = {d for d, v in known.versions.items() if v == pipeline_version}
        self.kept: set[str] = set()  # up-to-date doc_ids seen in this run
        self.planned: set[str] = set()  # doc_ids sent for processing in this run
        self.seen_files: set[str] = set()
        # doc_id -> the source holding it: stored, or the first read in this run
        self.holders = {doc_id: source for source, doc_id in reversed(known.articles)}
        # (source, doc_id, kept source) of each source skipped as an exact duplicate
        self.duplicates: list[tuple[str, str, str]] = []

    def batches(self, items: Iterable[Document | IngestError], on_item) -> Iterator[list[Document]]:
        """Batches of the articles to process; `on_item(item, skipped)` hears of each item
        read (an error, a skipped article or one to process)."""
        batch: list[Document] = []
        for item in items:
            self.seen_files.add(file_of(item.source))
            skipped = False
            if isinstance(item, Document):
                if item.doc_id in self.up_to_date or item.doc_id in self.planned:
                    self.kept.add(item.doc_id)  # unchanged, or a duplicate text
                    skipped = True
                    holder = self.holders.get(item.doc_id, item.source)
                    if holder != item.source:
                        self.duplicates.append((item.source, item.doc_id, holder))
                else:
                    self.planned.add(item.doc_id)
                    self.holders[item.doc_id] = item.source
                    batch.append(item)
            on_item(item, skipped)
            if len(batch) >= self.batch_size:
                yield batch
                batch = []
        if batch:
            yield batch

    def replaced(self, processed: set[str]) -> set[str]:
        """Processed articles that have older rows to replace: only those in the tables
        when the run started, so a commit of new articles never scans the stored parts."""
        return processed & self.known.versions.keys()

    def stale(self) -> set[str]:
        """Stored articles of the files read whose text is no longer in them."""
        live = self.kept | self.planned
        return {
            doc_id
            for source, doc_id in self.known.articles
            if file_of(source) in self.seen_files and doc_id not in live
        }

    def retried(self) -> set[str]:
        """Sources with a stored error or duplicate whose file was read again (the new
        outcome counts)."""
        stored = {source for source, _ in self.known.errors} | self.known.duplicates
        return {source for source in stored if file_of(source) in self.seen_files}
