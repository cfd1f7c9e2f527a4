"""`claim_summary`: one row per normalised (substance, target, effect), recomputed each run."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pyarrow as pa
import pytest

from pipeline.runs.runner import RunOptions, run_corpus
from pipeline.storage import tables
from pipeline.storage.claim_summary import summarise, summary_id
from pipeline.storage.schemas import CLAIM_SUMMARY, CLAIMS, DOCUMENTS
from pipeline.storage.store import TableStore

# Two articles whose claims were read and counted by hand (see TWO_ARTICLES_SUMMARY). The runs
# that check these counts use the rule extractor (`rules_model`), whose output on them is the
# hand count: these tests are about counting, not about which claims a model finds.
ARTICLE_A = """Kratom and pain

Kratom may relieve chronic pain. Kratom relieves chronic pain in many users.

Mitragynine binds to opioid receptors.
"""
ARTICLE_B = """A second view

Kratom relieves chronic pain. Kratom does not cause addiction, according to some users.

Mitragynine binds to opioid receptors, which may reduce anxiety.
"""
# (substance, target, effect) -> articles, sentences, claims, hedged, negated, asserted.
# kratom -> pain: A says it twice (once with "may"), B once, asserted.
# kratom -> addiction: B only, negated ("does not cause").
# mitragynine -> opioid receptors: A, with no effect; B adds "which may reduce anxiety",
# a different claim (with an effect), hedged by "may".
TWO_ARTICLES_SUMMARY = {
    ("kratom", None, "pain"): (2, 3, 3, 1, 0, 2),
    ("kratom", None, "addiction"): (1, 1, 1, 0, 1, 0),
    ("mitragynine", "opioid receptors", None): (1, 1, 1, 0, 0, 1),
    ("mitragynine", "opioid receptors", "anxiety"): (1, 1, 1, 1, 0, 0),
}


@pytest.fixture
def two_articles(tmp_path: Path) -> Path:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "a.txt").write_text(ARTICLE_A)
    (corpus / "b.txt").write_text(ARTICLE_B)
    return corpus


def _key(row: dict) -> tuple:
    return (row["substance"], row["target"], row["effect"])


def _summary_rows(out: Path, level: str = "claim") -> dict[tuple, dict]:
    frame = tables.frame(out, "claim_summary")
    rows = frame.astype(object).where(frame.notna(), None).to_dict("records")
    return {_key(row): row for row in rows if row["level"] == level}


def test_counts_on_a_two_article_corpus_match_a_hand_count(two_articles, tmp_path, rules_model):
    out = tmp_path / "out"
    summary = run_corpus(two_articles, out, RunOptions(model=rules_model))
    rows = _summary_rows(out)
    assert set(rows) == set(TWO_ARTICLES_SUMMARY)
    for key, expected in TWO_ARTICLES_SUMMARY.items():
        row = rows[key]
        counts = tuple(
            row[c]
            for c in (
                "n_articles",
                "n_sentences",
                "n_claims",
                "n_hedged",
                "n_negated",
                "n_asserted",
            )
        )
        assert counts == expected, key
        assert row["hedged_share"] == pytest.approx(expected[3] / expected[2])
        assert row["negated_share"] == pytest.approx(expected[4] / expected[2])
        assert row["summary_id"] == summary_id(*key)
        assert row["run_id"] == summary.run_id
    pain = rows[("kratom", None, "pain")]
    assert [Path(s).name for s in pain["sources"]] == ["a.txt", "b.txt"]
    # The shortest sentence stating it is the example.
    assert pain["example_sentence"] == "Kratom relieves chronic pain."
    assert Path(pain["example_source"]).name == "b.txt"
    assert rows[("mitragynine", "opioid receptors", None)]["mechanisms"] == ["binds"]
    assert pain["first_published"] is None  # plain text files carry no date
    assert pain["first_seen"] <= pain["last_seen"]
    # The example is a real claim of the claims table.
    claims = tables.frame(out, "claims", ["claim_id", "sentence"])
    example = claims.loc[claims["claim_id"] == pain["example_claim_id"], "sentence"]
    assert example.tolist() == [pain["example_sentence"]]


def test_recomputed_each_run_and_first_seen_survives_reprocessing(
    two_articles, tmp_path, rules_model
):
    out = tmp_path / "out"
    run_corpus(two_articles, out, RunOptions(model=rules_model))
    before = _summary_rows(out)[("kratom", None, "pain")]

    # B drops its pain sentence and A is edited elsewhere: both are processed again, so the
    # claim's articles now carry a later processed_at, yet it was first seen in the first run.
    (two_articles / "b.txt").write_text(ARTICLE_B.replace("Kratom relieves chronic pain. ", ""))
    (two_articles / "a.txt").write_text(ARTICLE_A.replace("Kratom and pain", "Kratom, pain"))
    second = run_corpus(two_articles, out, RunOptions(model=rules_model))
    assert second.processed == 2
    pain = _summary_rows(out)[("kratom", None, "pain")]
    assert (pain["n_articles"], pain["n_sentences"]) == (1, 2)
    assert pain["run_id"] == second.run_id
    assert pain["last_seen"] > before["last_seen"]
    assert pain["first_seen"] == before["first_seen"]

    # A no longer says it: the claim leaves the summary in the same run.
    (two_articles / "a.txt").write_text("Mitragynine binds to opioid receptors.\n")
    run_corpus(two_articles, out, RunOptions(model=rules_model))
    after = _summary_rows(out)
    assert ("kratom", None, "pain") not in after
    assert after[("mitragynine", "opioid receptors", None)]["n_articles"] == 1
    assert ("kratom", None, "addiction") in after


def test_a_summary_that_cannot_be_built_leaves_the_published_tables_as_they_were(
    two_articles, tmp_path, monkeypatch
):
    out = tmp_path / "out"
    run_corpus(two_articles, out)
    before = TableStore(out).current()

    def broken(*args, **kwargs):
        raise RuntimeError("summary bug")

    monkeypatch.setattr("pipeline.runs.commits.summarise_snapshot", broken)
    (two_articles / "c.txt").write_text("Caffeine reduces fatigue.\n")
    with pytest.raises(RuntimeError, match="summary bug"):
        run_corpus(two_articles, out)
    assert TableStore(out).current() == before
    assert not list((out / ".claims-store" / "snapshots").glob("*.tmp"))
    assert len(tables.frame(out, "documents")) == 2


def _claims(*rows: dict) -> pa.Table:
    defaults = {
        "source": "s",
        "mechanism": None,
        "hedged": False,
        "negated": False,
        "certainty": "asserted",
        "study_design": [],
    }
    full = [{**defaults, **row} for row in rows]
    schema = pa.schema([CLAIMS.field(name) for name in full[0]])
    return pa.Table.from_pylist(full, schema=schema)


def _documents(**processed: datetime) -> pa.Table:
    return pa.Table.from_pylist(
        [{"doc_id": d, "date": None, "processed_at": when} for d, when in processed.items()],
        schema=pa.schema([DOCUMENTS.field(n) for n in ("doc_id", "date", "processed_at")]),
    )


def test_summarise_groups_null_targets_and_ranks_mechanisms_and_evidence():
    now = datetime(2026, 1, 2, tzinfo=UTC)
    claims = _claims(
        *(
            {
                "claim_id": f"c{i}",
                "doc_id": doc,
                "sentence_id": f"{doc}:{i}",
                "sentence": sentence,
                "substance_norm": "kratom",
                "target_norm": None,
                "effect_norm": "pain",
                "mechanism": mechanism,
                "hedged": hedged,
                "certainty": "hedged" if hedged else "asserted",
                "study_design": evidence,
            }
            for i, (doc, sentence, mechanism, hedged, evidence) in enumerate(
                [
                    ("d1", "Kratom may ease pain a lot.", "Eases", True, ["anecdote"]),
                    ("d1", "Kratom eases pain.", "eases ", False, ["anecdote", "research"]),
                    ("d2", "Kratom relieves pain well.", "relieves", False, []),
                ]
            )
        ),
        {
            "claim_id": "c9",
            "doc_id": "d2",
            "sentence_id": "d2:9",
            "sentence": "Kratom acts on receptors.",
            "substance_norm": "kratom",
            "target_norm": "opioid receptors",
            "effect_norm": "pain",
        },
    )
    documents = _documents(d1=now, d2=now + timedelta(days=1))
    result = summarise(claims, documents, run_id="r1")
    assert result.schema.equals(CLAIM_SUMMARY, check_metadata=True)
    rows = {_key(row): row for row in result.to_pylist() if row["level"] == "claim"}
    assert set(rows) == {("kratom", None, "pain"), ("kratom", "opioid receptors", "pain")}
    pain = rows[("kratom", None, "pain")]
    assert (pain["n_articles"], pain["n_sentences"], pain["n_hedged"]) == (2, 3, 1)
    assert pain["mechanisms"] == ["eases", "relieves"]  # lowercased, trimmed, most frequent
    assert pain["study_designs"] == ["anecdote", "research"]
    assert pain["strongest_design"] == "research"  # above a lay anecdote
    assert pain["example_sentence"] == "Kratom eases pain."
    assert (pain["first_seen"], pain["last_seen"]) == (now, now + timedelta(days=1))
    assert pain["hedged_share"] == pytest.approx(1 / 3)
    assert result.column("summary_id").to_pylist()[0] == summary_id("kratom", None, "pain")

    # A previous summary that saw it earlier keeps its first_seen.
    earlier = now - timedelta(days=30)
    previous = pa.table(
        {
            "summary_id": [summary_id("kratom", None, "pain")],
            "first_seen": pa.array([earlier], CLAIM_SUMMARY.field("first_seen").type),
        }
    )
    again = {
        _key(r): r
        for r in summarise(claims, documents, previous, "r2").to_pylist()
        if r["level"] == "claim"
    }
    assert again[("kratom", None, "pain")]["first_seen"] == earlier
    assert again[("kratom", "opioid receptors", "pain")]["first_seen"] == now + timedelta(days=1)


def test_summary_id_tells_a_missing_target_from_a_missing_effect():
    assert summary_id("kratom", None, "pain") != summary_id("kratom", "pain", None)
    assert summary_id("kratom", None, "pain") != summary_id("kratom", "", "pain")
    assert summary_id("kratom", None, "pain") == summary_id("kratom", None, "pain")


def test_no_claims_give_an_empty_summary_with_the_schema():
    claims = _claims(
        {
            "claim_id": "x",
            "doc_id": "d",
            "sentence_id": "d:0",
            "sentence": "s",
            "substance_norm": "k",
            "target_norm": None,
            "effect_norm": None,
        }
    ).slice(0, 0)
    result = summarise(claims, _documents())
    assert result.num_rows == 0
    assert result.schema.equals(CLAIM_SUMMARY, check_metadata=True)


def _agreement_claims() -> tuple[pa.Table, pa.Table]:
    """Kratom and pain in four articles on three sites, and kratom and anxiety in two."""
    rows = []
    for i, (doc, target, effect, polarity, certainty, strength, designs, flagged) in enumerate(
        [
            # a.com asserts a benefit, directly, from an observational study (flagged)
            ("d1", None, "pain", "benefit", "asserted", "direct_causal", ["observational"], True),
            # b.com denies it
            ("d2", None, "pain", "benefit", "negated", "direct_causal", ["trial"], False),
            # a.com again, hedged: one more article, not one more site
            ("d3", None, "pain", "benefit", "hedged", "conditional_causal", [], False),
            # a fourth article links pain to a target: the same (kratom, pain) effect row
            ("d4", "opioid receptors", "pain", "benefit", "asserted", "correlational", [], False),
            # anxiety: a benefit in d1, a harm in d2
            ("d1", None, "anxiety", "benefit", "asserted", "direct_causal", [], False),
            ("d2", None, "anxiety", "harm", "asserted", "direct_causal", [], False),
            # sleep: one article both asserts and denies it; nobody else says anything
            ("d3", None, "sleep", "benefit", "asserted", "direct_causal", [], False),
            ("d3", None, "sleep", "benefit", "negated", "direct_causal", [], False),
        ]
    ):
        rows.append(
            {
                "claim_id": f"c{i}",
                "doc_id": doc,
                "sentence_id": f"{doc}:{i}",
                "sentence": f"Sentence {i}.",
                "substance_norm": "kratom",
                "target_norm": target,
                "effect_norm": effect,
                "polarity": polarity,
                "hedged": certainty == "hedged",
                "negated": certainty == "negated",
                "certainty": certainty,
                "strength": strength,
                "study_design": designs,
                "causal_from_observational": flagged,
            }
        )
    now = datetime(2026, 1, 2, tzinfo=UTC)
    urls = {
        "d1": "https://web.archive.org/web/2018/https://www.a.com/story-1",
        "d2": "http://b.com/news?id=2",
        "d3": "https://a.com/story-3",
        "d4": None,
    }
    documents = pa.Table.from_pylist(
        [{"doc_id": d, "date": None, "processed_at": now, "url": u} for d, u in urls.items()],
        schema=pa.schema([DOCUMENTS.field(n) for n in ("doc_id", "date", "processed_at", "url")]),
    )
    return _claims(*rows), documents


def test_agreement_across_articles_per_claim_effect_and_target():
    claims, documents = _agreement_claims()
    result = summarise(claims, documents, run_id="r1").to_pylist()
    by_level = {(r["level"], *_key(r)): r for r in result}
    pain = by_level[("claim", "kratom", None, "pain")]
    assert pain["n_articles"] == 3 and pain["n_sites"] == 2  # a.com twice, b.com
    assert pain["articles_benefit_share"] == pytest.approx(1 / 3)  # d1 (d3 is hedged)
    assert pain["articles_no_effect_share"] == pytest.approx(1 / 3)  # d2
    assert pain["articles_hedged_share"] == pytest.approx(1 / 3)  # d3
    assert pain["articles_causal_share"] == pytest.approx(1.0)
    assert pain["articles_correlational_share"] == pytest.approx(0.0)
    assert pain["strongest_design"] == "trial"
    assert pain["n_causal_from_observational"] == 1
    assert pain["contested"] is True  # d1 asserts, d2 denies

    # the effect row takes in d4's claim through a target; d4 has no URL: a site of its own
    effect = by_level[("effect", "kratom", None, "pain")]
    assert (effect["n_articles"], effect["n_sites"], effect["n_claims"]) == (4, 3, 4)
    assert effect["articles_correlational_share"] == pytest.approx(1 / 4)
    assert effect["summary_id"] != pain["summary_id"]
    target = by_level[("target", "kratom", "opioid receptors", None)]
    assert (target["n_articles"], target["contested"]) == (1, False)
    assert ("effect", "kratom", None, "anxiety") in by_level
    assert not any(r["level"] == "target" and r["target"] is None for r in result)

    anxiety = by_level[("claim", "kratom", None, "anxiety")]
    assert anxiety["contested"] is True  # a benefit in d1, a harm in d2
    assert anxiety["articles_benefit_share"] == anxiety["articles_harm_share"] == 0.5
    sleep = by_level[("claim", "kratom", None, "sleep")]
    assert sleep["contested"] is False  # one article disagreeing with itself is no dispute
    assert sleep["strongest_design"] is None


def test_claim_level_ids_are_those_of_earlier_versions():
    claims, documents = _agreement_claims()
    rows = summarise(claims, documents).to_pylist()
    claim_rows = [r for r in rows if r["level"] == "claim"]
    assert all(r["summary_id"] == summary_id(*_key(r)) for r in claim_rows)
    assert len({r["summary_id"] for r in rows}) == len(rows)
