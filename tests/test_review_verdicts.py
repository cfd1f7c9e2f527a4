"""The verdict store keeps an append-only history that survives re-runs and concurrent
reviewers, and validates what reviewers enter."""

from __future__ import annotations

import multiprocessing
import sqlite3
import threading
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pytest

from pipeline.review.verdicts import (
    DB_VERSION,
    REASONS,
    VERDICTS,
    Verdict,
    VerdictError,
    VerdictStore,
    default_db_path,
)
from pipeline.storage.schemas import REVIEWS, TABLES

T0 = datetime(2025, 3, 1, 9, 30, 15, 123456, tzinfo=UTC)


def claim(claim_id: str = "0123456789abcdef", **changes: object) -> dict[str, object]:
    """A claims-table row as the app passes it (more columns than the snapshot keeps)."""
    row: dict[str, object] = {
        "claim_id": claim_id,
        "doc_id": "d0c1d0c1d0c1d0c1",
        "source": "/corpus/kratom.txt",
        "sentence_id": "d0c1d0c1d0c1d0c1:4",
        "sentence": "Kratom activates opioid receptors and may relieve pain.",
        "substance": "Kratom",
        "target": "opioid receptors",
        "effect": "pain",
        "polarity": "benefit",
        "rule": "svo+coord",
        "pipeline_version": "0.7.0",
        "hedged": True,
        "negated": False,
        "certainty": "hedged",
    }
    row.update(changes)
    return row


@pytest.fixture
def store(tmp_path: Path) -> VerdictStore:
    return VerdictStore(tmp_path / "tables" / "reviews.sqlite")


def test_reasons_and_verdicts_are_the_documented_ones():
    assert list(REASONS) == [
        "not_a_claim",
        "wrong_substance",
        "wrong_target",
        "wrong_effect",
        "wrong_polarity",
        "hedging_wrong",
        "negation_wrong",
        "other",
    ]
    assert REASONS["hedging_wrong"] == "hedging wrong"
    assert VERDICTS == ("correct", "incorrect")
    assert issubclass(VerdictError, ValueError)


def test_default_db_path(tmp_path):
    assert default_db_path(tmp_path) == tmp_path / "reviews.sqlite"
    assert default_db_path(str(tmp_path)) == tmp_path / "reviews.sqlite"


def test_record_and_history_round_trip_every_field(store):
    recorded = store.record(
        claim(),
        "  Ana Díaz ",
        "incorrect",
        ["wrong_effect", "not_a_claim", "wrong_effect"],
        comment="  pain is the condition, not the effect \n",
        now=T0.astimezone(timezone(timedelta(hours=2))),
    )
    expected = Verdict(
        verdict_id=1,
        claim_id="0123456789abcdef",
        reviewer="Ana Díaz",
        verdict="incorrect",
        reasons=("not_a_claim", "wrong_effect"),  # de-duplicated, in REASONS order
        comment="pain is the condition, not the effect",
        recorded_at=T0,
        doc_id="d0c1d0c1d0c1d0c1",
        sentence_id="d0c1d0c1d0c1d0c1:4",
        sentence="Kratom activates opioid receptors and may relieve pain.",
        substance="Kratom",
        target="opioid receptors",
        effect="pain",
        rule="svo+coord",
        pipeline_version="0.7.0",
    )
    assert recorded == expected
    assert not recorded.is_correct
    assert recorded.recorded_at.tzinfo == UTC

    assert store.history() == [expected]
    assert store.history("0123456789abcdef") == [expected]
    assert store.history("ffffffffffffffff") == []
    # A new store object on the same file (another process, a restart) reads the same.
    assert VerdictStore(store.path).history() == [expected]


def test_missing_target_and_effect_are_kept_as_null(store):
    store.record(claim("a", target=None, effect=float("nan")), "ana", "correct")
    store.record(claim("b", target=pd.NA, effect=None), "ana", "correct")
    for verdict in store.history():
        assert (verdict.target, verdict.effect) == (None, None)
        assert verdict.is_correct and verdict.reasons == () and verdict.comment == ""


def test_recorded_at_defaults_to_now_in_utc(store):
    before = datetime.now(UTC)
    verdict = store.record(claim(), "ana", "correct")
    assert before <= verdict.recorded_at <= datetime.now(UTC)
    assert verdict.recorded_at.tzinfo == UTC


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"reviewer": ""}, "enter your name"),
        ({"reviewer": "   "}, "enter your name"),
        ({"reviewer": "x" * 65}, "longer than 64"),
        ({"reviewer": "ana\nbob"}, "control character"),
        ({"reviewer": "ana\x00"}, "control character"),
        ({"reviewer": "ana\tb"}, "control character"),
        ({"verdict": "wrong"}, "verdict must be one of correct, incorrect"),
        ({"verdict": "Correct"}, "verdict must be one of"),
        ({"verdict": "incorrect", "reasons": ["bad_vibes"]}, "unknown reason 'bad_vibes'"),
        ({"verdict": "incorrect", "reasons": []}, "needs at least one reason"),
        ({"verdict": "correct", "reasons": ["other"]}, "takes no reasons"),
        ({"comment": "x" * 2001}, "at most 2000"),
        ({"now": datetime(2025, 1, 1)}, "time zone"),
        ({"claim": claim(sentence=None)}, "the claim has no sentence"),
        ({"claim": {"claim_id": "abc"}}, "the claim has no doc_id"),
        ({"claim": claim(claim_id=" ")}, "the claim has no claim_id"),
    ],
)
def test_invalid_input_is_refused_and_nothing_is_written(store, changes, message):
    arguments = {"claim": claim(), "reviewer": "ana", "verdict": "correct"} | changes
    with pytest.raises(VerdictError, match=message):
        store.record(**arguments)
    assert store.history() == []


def test_limits_are_inclusive(store):
    verdict = store.record(claim(), "x" * 64, "correct", comment=" " + "y" * 2000 + " ")
    assert verdict.reviewer == "x" * 64
    assert len(verdict.comment) == 2000


def test_verdicts_are_append_only(store):
    store.record(claim(), "ana", "correct")
    conn = sqlite3.connect(store.path)
    try:
        with pytest.raises(sqlite3.IntegrityError, match="append-only"):
            conn.execute("UPDATE verdicts SET verdict = 'incorrect'")
        with pytest.raises(sqlite3.IntegrityError, match="append-only"):
            conn.execute("DELETE FROM verdicts")
        with pytest.raises(sqlite3.IntegrityError, match="CHECK"):
            conn.execute(
                "INSERT INTO verdicts (claim_id, reviewer, verdict, recorded_at, doc_id, "
                "sentence_id, sentence, substance, rule, pipeline_version) "
                "VALUES ('c', 'r', 'maybe', 't', 'd', 's', 's', 's', 'r', 'v')"
            )
        conn.commit()
    finally:
        conn.close()
    assert [v.verdict for v in store.history()] == ["correct"]


def test_latest_keeps_each_reviewers_last_word(store):
    a, b = claim("aaaaaaaaaaaaaaaa"), claim("bbbbbbbbbbbbbbbb")
    first = store.record(a, "ana", "correct")
    store.record(a, "bob", "incorrect", ["wrong_target"])
    store.record(a, "ana", "incorrect", ["other"], "changed my mind")
    ana_b = store.record(b, "ana", "correct")
    bob_a = store.record(a, "bob", "correct")
    ana_a = store.record(a, "ana", "incorrect", ["wrong_polarity"])

    assert first.verdict_id == 1 and ana_a.verdict_id == 6
    assert store.latest() == [ana_b, bob_a, ana_a]  # ordered by verdict_id
    assert store.latest_by_claim() == {
        "aaaaaaaaaaaaaaaa": {"ana": ana_a, "bob": bob_a},
        "bbbbbbbbbbbbbbbb": {"ana": ana_b},
    }
    assert store.reviewers() == ["ana", "bob"]
    assert len(store.history()) == 6
    assert len(store.history("aaaaaaaaaaaaaaaa")) == 5


def test_a_missing_database_reads_as_empty(tmp_path):
    store = VerdictStore(tmp_path / "not" / "yet" / "reviews.sqlite")
    assert store.history() == []
    assert store.latest() == []
    assert store.latest_by_claim() == {}
    assert store.reviewers() == []
    assert store.export([]).num_rows == 0


def test_database_is_in_wal_mode_with_its_schema_version(store):
    store.record(claim(), "ana", "correct")
    conn = sqlite3.connect(store.path)
    try:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert conn.execute("PRAGMA user_version").fetchone()[0] == DB_VERSION
        indexes = conn.execute("PRAGMA index_list(verdicts)").fetchall()
        columns = [conn.execute(f"PRAGMA index_info({index[1]})").fetchall() for index in indexes]
        assert [[c[2] for c in cols] for cols in columns] == [
            ["claim_id", "reviewer", "verdict_id"]
        ]
    finally:
        conn.close()


def test_a_newer_database_is_refused(store):
    store.path.parent.mkdir(parents=True)
    conn = sqlite3.connect(store.path)
    conn.execute(f"PRAGMA user_version = {DB_VERSION + 1}")
    conn.close()
    with pytest.raises(VerdictError, match="newer version"):
        store.history()
    with pytest.raises(VerdictError, match="newer version"):
        store.record(claim(), "ana", "correct")


def test_a_file_that_is_not_a_database_is_refused(store):
    store.path.parent.mkdir(parents=True)
    store.path.write_bytes(b"this is not sqlite, just some text long enough " * 20)
    with pytest.raises(VerdictError, match="not a verdict database"):
        store.history()


def _record_many(path: str, reviewer: str, count: int) -> list[int]:
    store = VerdictStore(path)
    return [store.record(claim(f"{i:016x}"), reviewer, "correct").verdict_id for i in range(count)]


def _process_worker(path: str, name: str, start: object, results: object) -> None:
    """One reviewer process running 4 threads (module level: spawned processes import it).

    Every thread of every process starts on the same barrier, so the writes overlap.
    """
    ids: dict[str, list[int]] = {}

    def thread_worker(reviewer: str) -> None:
        start.wait(timeout=120)
        ids[reviewer] = _record_many(path, reviewer, 50)

    threads = [
        threading.Thread(target=thread_worker, args=(f"{name}-thread-{n}",)) for n in range(4)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    results.put(ids)


def test_concurrent_threads_and_processes_lose_nothing(tmp_path):
    path = str(tmp_path / "reviews.sqlite")  # no schema yet: the writers race to create it
    context = multiprocessing.get_context("spawn")
    start = context.Barrier(2 * 4)
    results = context.Queue()
    processes = [
        context.Process(target=_process_worker, args=(path, f"process-{n}", start, results))
        for n in range(2)
    ]
    for process in processes:
        process.start()
    ids: dict[str, list[int]] = {}
    for _ in processes:
        ids |= results.get(timeout=300)
    for process in processes:
        process.join(timeout=60)
        assert process.exitcode == 0

    store = VerdictStore(path)
    history = store.history()
    assert len(history) == 2 * 4 * 50 == 400
    assert len({v.verdict_id for v in history}) == 400
    assert sorted(v.verdict_id for v in history) == sorted(i for got in ids.values() for i in got)
    assert store.reviewers() == sorted(ids)
    assert all(len(got) == 50 for got in ids.values())
    assert len(store.latest()) == 400


def test_export_has_the_reviews_schema_and_flags(store):
    a, b, gone = claim("a" * 16), claim("b" * 16, target=None), claim("c" * 16)
    store.record(a, "ana", "correct", now=T0)
    store.record(a, "ana", "incorrect", ["wrong_target", "not_a_claim"], "oops", now=T0)
    store.record(b, "bob", "correct", now=T0)
    store.record(gone, "bob", "incorrect", ["other"], now=T0)

    table = store.export(["a" * 16, "b" * 16])

    assert TABLES["reviews"] is REVIEWS
    assert table.schema.equals(REVIEWS, check_metadata=True)
    assert table.schema.names == [
        "verdict_id",
        "claim_id",
        "reviewer",
        "verdict",
        "reasons",
        "comment",
        "recorded_at",
        "is_latest",
        "claim_present",
        "doc_id",
        "sentence_id",
        "sentence",
        "substance",
        "target",
        "effect",
        "rule",
        "pipeline_version",
    ]
    assert table.schema.field("recorded_at").type == pa.timestamp("us", tz="UTC")
    rows = table.to_pylist()
    assert [r["verdict_id"] for r in rows] == [1, 2, 3, 4]
    assert [r["is_latest"] for r in rows] == [False, True, True, True]
    assert [r["claim_present"] for r in rows] == [True, True, True, False]
    assert rows[1]["reasons"] == ["not_a_claim", "wrong_target"]
    assert rows[1]["comment"] == "oops"
    assert rows[0]["reasons"] == []
    assert rows[0]["recorded_at"] == T0
    assert rows[2]["target"] is None and rows[2]["effect"] == "pain"
    assert rows[3]["pipeline_version"] == "0.7.0"


def test_export_accepts_any_collection_of_ids(store):
    store.record(claim("a" * 16), "ana", "correct")
    ids = pd.Series(["a" * 16], index=[7])  # `in` on a Series looks at the index
    assert store.export(ids).column("claim_present").to_pylist() == [True]
    assert store.export(frozenset()).column("claim_present").to_pylist() == [False]
