"""What a run did: the counts the CLI prints, the reports show and the `runs` table keeps.

Defined here, below the runner and the reports, so both can use it without importing
each other.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class RunSummary:
    """What a run did; printed by the CLI and stored in the `runs` table."""

    run_id: str
    corpus: str
    out_dir: str
    pipeline_version: str = ""
    seen: int = 0
    processed: int = 0
    skipped: int = 0
    duplicates: int = 0  # of `skipped`, exact duplicates of another source (`duplicates`)
    failed: int = 0
    sentences: int = 0
    words: int = 0
    seconds: float = 0.0
    errors_by_type: dict[str, int] = field(default_factory=dict)
    # Of `failed`, sources that failed the same way in an earlier run (unchanged since).
    known_failed: int = 0
    claims: int = 0  # claim rows written by this run
    new_claims: int = 0  # of those, claim ids the tables did not hold before the run
    new_claims_by_substance: dict[str, int] = field(default_factory=dict)
    # The first failures (source, error type, message), for run reports; all are in `errors`.
    failure_examples: list[tuple[str, str, str]] = field(default_factory=list)
    report: str | None = None  # the HTML run report written at the end, None if it failed

    @property
    def words_per_second(self) -> float:
        return self.words / self.seconds if self.seconds > 0 else 0.0

    @property
    def done(self) -> int:
        return self.processed + self.skipped + self.failed

    @property
    def status(self) -> str:
        """failed when no article could be processed and none was already up to date."""
        nothing_usable = self.processed == 0 and self.skipped == 0
        return "failed" if nothing_usable else "completed"
