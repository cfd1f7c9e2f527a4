"""Reviewers' verdicts on claims, kept in SQLite as an append-only history.

Verdicts are keyed by `claim_id`, which is stable across runs, and each one keeps a snapshot
of the claim as the reviewer saw it: re-running the pipeline rewrites the Parquet tables but
never the verdicts. Changing one's mind records a new verdict; the latest one per (claim,
reviewer) counts, and the history stays for audit (triggers refuse UPDATE and DELETE).

The web app serves each request on a thread, and several reviewers (or processes) may write
at once, so every operation opens its own connection to a WAL-mode database: readers never
block the writer, and writers queue on SQLite's lock for up to `BUSY_TIMEOUT_S`.
"""

from __future__ import annotations

import contextlib
import json
import sqlite3
import time
import unicodedata
from collections.abc import Collection, Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
import pyarrow as pa

from pipeline.storage.schemas import REVIEWS

REASONS: dict[str, str] = {
    "not_a_claim": "not a claim",
    "wrong_substance": "wrong substance",
    "wrong_target": "wrong target",
    "wrong_effect": "wrong effect",
    "wrong_polarity": "wrong polarity",
    "hedging_wrong": "hedging wrong",
    "negation_wrong": "negation wrong",
    "other": "other",
}

VERDICTS = ("correct", "incorrect")

MAX_REVIEWER_CHARS = 64
MAX_COMMENT_CHARS = 2000
BUSY_TIMEOUT_S = 10.0

# Version of the SQLite layout below, kept in `PRAGMA user_version` (0 = empty database).
DB_VERSION = 1

_SNAPSHOT = ("doc_id", "sentence_id", "sentence", "substance", "rule", "pipeline_version")
_OPTIONAL_SNAPSHOT = ("target", "effect")

_COLUMNS = (
    "verdict_id, claim_id, reviewer, verdict, reasons, comment, recorded_at, "
    "doc_id, sentence_id, sentence, substance, target, effect, rule, pipeline_version"
)

_COLUMN_NAMES = tuple(name.strip() for name in _COLUMNS.split(","))

_VERDICT_LIST = ", ".join(f"'{v}'" for v in VERDICTS)

_DDL = f"""
CREATE TABLE verdicts (
    verdict_id INTEGER PRIMARY KEY AUTOINCREMENT,
    claim_id TEXT NOT NULL,
    reviewer TEXT NOT NULL,
    verdict TEXT NOT NULL CHECK (verdict IN ({_VERDICT_LIST})),
    reasons TEXT NOT NULL DEFAULT '[]',
    comment TEXT NOT NULL DEFAULT '',
    recorded_at TEXT NOT NULL,
    doc_id TEXT NOT NULL,
    sentence_id TEXT NOT NULL,
    sentence TEXT NOT NULL,
    substance TEXT NOT NULL,
    target TEXT,
    effect TEXT,
    rule TEXT NOT NULL,
    pipeline_version TEXT NOT NULL
);
CREATE INDEX verdicts_claim_reviewer ON verdicts (claim_id, reviewer, verdict_id);
CREATE TRIGGER verdicts_no_update BEFORE UPDATE ON verdicts
BEGIN
    SELECT RAISE(ABORT, 'verdicts are append-only');
END;
CREATE TRIGGER verdicts_no_delete BEFORE DELETE ON verdicts
BEGIN
    SELECT RAISE(ABORT, 'verdicts are append-only');
END;
PRAGMA user_version = {DB_VERSION};
"""


@contextlib.contextmanager
def _immediate(conn: sqlite3.Connection) -> Iterator[None]:
    """A write transaction that takes the lock up front (no failed read-to-write upgrade)."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise


def _enable_wal(conn: sqlite3.Connection) -> None:
    """Switch the file to WAL (a persistent setting) unless it already is.

    Changing the journal mode needs an exclusive lock and SQLite does not wait on its busy
    handler for it, so writers racing to create the file retry here instead of failing.
    """
    deadline = time.monotonic() + BUSY_TIMEOUT_S
    while True:
        try:
            if conn.execute("PRAGMA journal_mode").fetchone()[0].lower() != "wal":
                conn.execute("PRAGMA journal_mode = WAL")
            return
        except sqlite3.OperationalError as error:
            if "locked" not in str(error) or time.monotonic() > deadline:
                raise
            time.sleep(0.01)


class VerdictError(ValueError):
    """A verdict that cannot be recorded, or a database this code cannot read; the
    message is meant for the reviewer."""


@dataclass(frozen=True)
class Verdict:
    """One recorded verdict, with the claim as the reviewer saw it."""

    verdict_id: int
    claim_id: str
    reviewer: str
    verdict: str
    reasons: tuple[str, ...]
    comment: str
    recorded_at: datetime
    doc_id: str
    sentence_id: str
    sentence: str
    substance: str
    target: str | None
    effect: str | None
    rule: str
    pipeline_version: str

    @property
    def is_correct(self) -> bool:
        return self.verdict == "correct"


def default_db_path(tables_dir: Path | str) -> Path:
    """Where a run's verdicts live: beside its tables, outside the snapshots a re-run
    replaces."""
    return Path(tables_dir) / "reviews.sqlite"


class VerdictStore:
    """The verdict history in one SQLite file; safe to share between threads and processes."""

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)

    def __repr__(self) -> str:
        return f"VerdictStore({str(self.path)!r})"

    # Writing -----------------------------------------------------------------------------

    def record(
        self,
        claim: Mapping[str, object],
        reviewer: str,
        verdict: str,
        reasons: Iterable[str] = (),
        comment: str = "",
        now: datetime | None = None,
    ) -> Verdict:
        """Append a verdict on `claim` (a row of the claims table as a dict) and return it.

        Raises VerdictError, before writing anything, when the input is invalid.
        """
        claim_id, snapshot = _snapshot(claim)
        reviewer = clean_reviewer(reviewer)
        if verdict not in VERDICTS:
            raise VerdictError(f"verdict must be one of {', '.join(VERDICTS)}, not {verdict!r}")
        reasons = _clean_reasons(reasons)
        if verdict == "incorrect" and not reasons:
            raise VerdictError("an incorrect verdict needs at least one reason")
        if verdict == "correct" and reasons:
            raise VerdictError("a correct verdict takes no reasons")
        comment = _clean_comment(comment)
        recorded_at = _utc(now if now is not None else datetime.now(UTC))

        row = {
            "claim_id": claim_id,
            "reviewer": reviewer,
            "verdict": verdict,
            "reasons": json.dumps(list(reasons)),
            "comment": comment,
            "recorded_at": recorded_at.isoformat(timespec="microseconds"),
            **snapshot,
        }
        names = ", ".join(row)
        placeholders = ", ".join(f":{name}" for name in row)
        with self._connect() as conn, _immediate(conn):
            cursor = conn.execute(f"INSERT INTO verdicts ({names}) VALUES ({placeholders})", row)
            verdict_id = cursor.lastrowid
        assert verdict_id is not None
        return Verdict(
            verdict_id=verdict_id,
            claim_id=claim_id,
            reviewer=reviewer,
            verdict=verdict,
            reasons=reasons,
            comment=comment,
            recorded_at=recorded_at,
            **snapshot,
        )

    # Reading -----------------------------------------------------------------------------

    def history(self, claim_id: str | None = None) -> list[Verdict]:
        """Every verdict, or every verdict on one claim, oldest first."""
        if claim_id is None:
            return self._select("ORDER BY verdict_id")
        return self._select("WHERE claim_id = ? ORDER BY verdict_id", (claim_id,))

    def latest(self) -> list[Verdict]:
        """The verdicts that count: each reviewer's latest on each claim, oldest first."""
        return self._select(
            "WHERE verdict_id IN "
            "(SELECT max(verdict_id) FROM verdicts GROUP BY claim_id, reviewer) "
            "ORDER BY verdict_id"
        )

    def latest_verdicts(self) -> pd.DataFrame:
        """claim_id, reviewer and verdict of each reviewer's latest verdict on each claim.

        The light query behind every page of the app (no snapshot text, no date parsing).
        """
        with self._connect() as conn:
            rows = conn.execute(
                "SELECT claim_id, reviewer, verdict FROM verdicts WHERE verdict_id IN "
                "(SELECT max(verdict_id) FROM verdicts GROUP BY claim_id, reviewer)"
            ).fetchall()
        return pd.DataFrame(rows, columns=["claim_id", "reviewer", "verdict"])

    def latest_by_claim(self) -> dict[str, dict[str, Verdict]]:
        """claim_id -> reviewer -> that reviewer's latest verdict; reviewers sorted by name."""
        by_claim: dict[str, dict[str, Verdict]] = {}
        for verdict in self.latest():
            by_claim.setdefault(verdict.claim_id, {})[verdict.reviewer] = verdict
        return {claim_id: dict(sorted(v.items())) for claim_id, v in by_claim.items()}

    def reviewers(self) -> list[str]:
        """Everyone who has recorded a verdict, sorted."""
        with self._connect() as conn:
            rows = conn.execute("SELECT DISTINCT reviewer FROM verdicts").fetchall()
        return sorted(reviewer for (reviewer,) in rows)

    def export(self, current_claim_ids: Collection[str]) -> pa.Table:
        """The whole history as a `reviews` table, oldest first, flagging each reviewer's
        latest verdict per claim and whether the claim is still in `current_claim_ids`."""
        history = self.history()  # one SELECT: latest flags agree with the rows exported
        latest_ids = {(v.claim_id, v.reviewer): v.verdict_id for v in history}
        current = set(current_claim_ids)  # `in` on a Series would look at its index
        rows = [
            {
                "verdict_id": v.verdict_id,
                "claim_id": v.claim_id,
                "reviewer": v.reviewer,
                "verdict": v.verdict,
                "reasons": list(v.reasons),
                "comment": v.comment,
                "recorded_at": v.recorded_at,
                "is_latest": latest_ids[(v.claim_id, v.reviewer)] == v.verdict_id,
                "claim_present": v.claim_id in current,
                "doc_id": v.doc_id,
                "sentence_id": v.sentence_id,
                "sentence": v.sentence,
                "substance": v.substance,
                "target": v.target,
                "effect": v.effect,
                "rule": v.rule,
                "pipeline_version": v.pipeline_version,
            }
            for v in history
        ]
        return pa.Table.from_pylist(rows, schema=REVIEWS)

    # Connections -------------------------------------------------------------------------

    @contextlib.contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        """A fresh connection for one operation (sqlite3 connections are not to be shared
        between threads), with the schema in place."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        # isolation_level=None: no implicit transactions; writes use BEGIN IMMEDIATE so that
        # a writer takes the lock up front instead of failing to upgrade a read lock.
        conn = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_S, isolation_level=None)
        try:
            try:
                conn.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT_S * 1000)}")
                _enable_wal(conn)
                conn.execute("PRAGMA synchronous = NORMAL")
                self._ensure_schema(conn)
            except sqlite3.DatabaseError as exc:
                if isinstance(exc, sqlite3.OperationalError):
                    raise  # locked, disk full...: not the file's fault
                raise VerdictError(f"{self.path} is not a verdict database ({exc})") from exc
            yield conn
        finally:
            conn.close()

    def _ensure_schema(self, conn: sqlite3.Connection) -> None:
        version = _user_version(conn)
        if version == DB_VERSION:
            return
        if version > DB_VERSION:
            raise VerdictError(
                f"{self.path} was written by a newer version of this program (verdict "
                f"database version {version}, this one knows up to {DB_VERSION}); upgrade it"
            )
        with _immediate(conn):
            # Another process may have created it while we waited for the lock.
            version = _user_version(conn)
            if version == 0:
                for statement in _statements(_DDL):
                    conn.execute(statement)
            elif version != DB_VERSION:
                raise VerdictError(
                    f"{self.path} has verdict database version {version}, this program "
                    f"knows {DB_VERSION}"
                )

    def _select(self, where: str, parameters: tuple[object, ...] = ()) -> list[Verdict]:
        with self._connect() as conn:
            rows = conn.execute(f"SELECT {_COLUMNS} FROM verdicts {where}", parameters).fetchall()
        return [_from_row(row) for row in rows]


# Validation ------------------------------------------------------------------------------


def _snapshot(claim: Mapping[str, object]) -> tuple[str, dict[str, str | None]]:
    """The claim id and the fields kept with the verdict."""
    missing = [name for name in ("claim_id", *_SNAPSHOT) if _is_null(claim.get(name))]
    if missing:
        raise VerdictError(f"the claim has no {', '.join(missing)}")
    claim_id = str(claim["claim_id"]).strip()
    if not claim_id:
        raise VerdictError("the claim has no claim_id")
    snapshot: dict[str, str | None] = {name: str(claim[name]) for name in _SNAPSHOT}
    for name in _OPTIONAL_SNAPSHOT:
        value = claim.get(name)
        snapshot[name] = None if _is_null(value) else str(value)
    return claim_id, snapshot


def clean_reviewer(reviewer: str) -> str:
    """The reviewer's name as stored (NFC, trimmed); VerdictError when it cannot be one."""
    if not isinstance(reviewer, str):
        raise VerdictError("the reviewer name must be text")
    # NFC: the same name typed on two keyboards is the same reviewer.
    name = unicodedata.normalize("NFC", reviewer).strip()
    if not name:
        raise VerdictError("enter your name as reviewer")
    if len(name) > MAX_REVIEWER_CHARS:
        raise VerdictError(f"the reviewer name is longer than {MAX_REVIEWER_CHARS} characters")
    if any(unicodedata.category(char) in ("Cc", "Zl", "Zp") for char in name):
        raise VerdictError("the reviewer name contains a control character or line break")
    return name


def _clean_reasons(reasons: Iterable[str]) -> tuple[str, ...]:
    """Known reasons only, each once, in REASONS order."""
    given = [reasons] if isinstance(reasons, str) else list(reasons)
    unknown = [r for r in given if r not in REASONS]
    if unknown:
        raise VerdictError(
            f"unknown reason {', '.join(map(repr, unknown))}; choose from {', '.join(REASONS)}"
        )
    return tuple(key for key in REASONS if key in given)


def _clean_comment(comment: str | None) -> str:
    if comment is None:
        return ""
    if not isinstance(comment, str):
        raise VerdictError("the comment must be text")
    comment = comment.strip()
    if len(comment) > MAX_COMMENT_CHARS:
        raise VerdictError(
            f"the comment is {len(comment)} characters long; at most {MAX_COMMENT_CHARS} fit"
        )
    return comment


def _utc(moment: datetime) -> datetime:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise VerdictError("the time of a verdict must carry a time zone")
    return moment.astimezone(UTC)


def _is_null(value: object) -> bool:
    """None, NaN, pd.NA or NaT: what a pandas row holds for a missing value."""
    return value is None or (pd.api.types.is_scalar(value) and bool(pd.isna(value)))


# SQLite ----------------------------------------------------------------------------------


def _user_version(conn: sqlite3.Connection) -> int:
    return int(conn.execute("PRAGMA user_version").fetchone()[0])


def _statements(script: str) -> Iterator[str]:
    """The DDL one statement at a time (executescript would commit our transaction)."""
    buffer = ""
    for line in script.splitlines(keepends=True):
        buffer += line
        if sqlite3.complete_statement(buffer):
            yield buffer.strip()
            buffer = ""


def _from_row(row: tuple) -> Verdict:
    """A `SELECT {_COLUMNS}` row as a Verdict: JSON reasons and ISO dates decoded."""
    values = dict(zip(_COLUMN_NAMES, row, strict=True))
    values["verdict_id"] = int(values["verdict_id"])
    values["reasons"] = tuple(json.loads(values["reasons"]))
    values["recorded_at"] = datetime.fromisoformat(values["recorded_at"]).astimezone(UTC)
    return Verdict(**values)
