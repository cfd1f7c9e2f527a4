"""A run's counts as it goes: what it read, skipped, processed, failed and found.

Kept in the run's `RunSummary` (what the CLI prints and the `runs` table keeps), with the
failures to record in `errors` and a progress callback after each change.
"""

from __future__ import annotations

from collections.abc import Callable

import pyarrow as pa

from pipeline.ingest import IngestError
from pipeline.runs.planning import KnownTables
from pipeline.storage.run_summary import RunSummary

MAX_FAILURE_EXAMPLES = 20

Progress = Callable[[RunSummary], None]


class Tally:
    """Counts into `summary`; `errors` collects every failure of the run."""

    def __init__(self, summary: RunSummary, known: KnownTables, progress: Progress | None):
        self.summary = summary
        self.known = known
        self.progress = progress
        self.errors: list[IngestError] = []

    def item(self, item: object, skipped: bool) -> None:
        """One source read from the corpus: an error, a skipped article or one to process."""
        self.summary.seen += 1
        if isinstance(item, IngestError):
            self.failure(item)
        elif skipped:
            self.summary.skipped += 1
        self._report()

    def batch(
        self,
        processed: int,
        sentences: int,
        words: int,
        errors: list[IngestError],
        claims: pa.Table | None,
    ) -> None:
        """A processed batch: its articles, sentences, words, failures and claim rows."""
        self.summary.processed += processed
        self.summary.sentences += sentences
        self.summary.words += words
        for error in errors:
            self.failure(error)
        self._claims(claims)
        self._report()

    def failure(self, error: IngestError) -> None:
        self.errors.append(error)
        summary = self.summary
        summary.failed += 1
        if (error.source, error.error_type) in self.known.errors:
            summary.known_failed += 1
        if len(summary.failure_examples) < MAX_FAILURE_EXAMPLES:
            summary.failure_examples.append((error.source, error.error_type, error.message))
        summary.errors_by_type[error.error_type] = (
            summary.errors_by_type.get(error.error_type, 0) + 1
        )

    def _claims(self, claims: pa.Table | None) -> None:
        if claims is None or not claims.num_rows:
            return
        self.summary.claims += claims.num_rows
        by_substance = self.summary.new_claims_by_substance
        ids = claims.column("claim_id").to_pylist()
        substances = claims.column("substance_norm").to_pylist()
        for claim_id, substance in zip(ids, substances, strict=True):
            if claim_id not in self.known.claims:
                self.summary.new_claims += 1
                name = substance or ""
                by_substance[name] = by_substance.get(name, 0) + 1

    def _report(self) -> None:
        if self.progress is not None:
            self.progress(self.summary)
