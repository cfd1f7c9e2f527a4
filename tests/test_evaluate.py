"""Scoring claims against a hand-made gold whose figures are worked out by hand below."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from flows.cli import main
from pipeline.evaluation.evaluate import (
    doc_names,
    evaluate,
    format_report,
    load_aliases,
    load_gold,
    matches,
    names_match,
    normalise,
    predicted_edges,
    score,
)
from pipeline.storage.schemas import TABLES, to_table
from pipeline.storage.store import TableStore

KETAMINE = [
    "Ketamine blocks NMDA receptors in the brain.",
    "The drug may relieve depression within hours.",
    "Ketamine does not cause serious side effects at low doses.",
    "Ketamine increases glutamate release and BDNF levels.",
]
MDMA = [
    "MDMA, also known as 3,4-methylenedioxymethamphetamine, is a synthetic drug.",
    "MDMA could ease PTSD symptoms by raising serotonin and oxytocin.",
]


def _gold(doc, quote, substance, role, value, key, polarity=None, hedged=False, **flags):
    return {
        "doc": doc,
        "quote": quote,
        "substance": substance,
        "role": role,
        "value": value,
        "key": key,
        "polarity": polarity,
        "hedged": hedged,
        "negated": flags.get("negated", False),
        "optional": flags.get("optional", False),
    }


GOLD_KETAMINE = [
    # G1, matched by P1
    _gold("ketamine", "Ketamine blocks NMDA receptors", ["Ketamine"], "target", "NMDA receptors",
          "nmda"),
    # G2, matched by P2 through the reference; P2 misses the hedge and the polarity
    _gold("ketamine", "The drug may relieve depression", ["the drug", "ketamine"], "effect",
          "relieve depression", "depress", "benefit", hedged=True),
    # G3, matched by P3, which misses the negation
    _gold("ketamine", "does not cause serious side effects", ["Ketamine"], "effect",
          "serious side effects", "side effect", "harm", negated=True),
    # G4, missed: P5's value "release" lacks the stem "glutamate"
    _gold("ketamine", "Ketamine increases glutamate release and BDNF", ["Ketamine"], "target",
          "glutamate release", "glutamate"),
    # G5, optional, matched by P4 only
    _gold("ketamine", "Ketamine increases glutamate release and BDNF", ["Ketamine"], "target",
          "BDNF levels", "bdnf", optional=True),
]  # fmt: skip
GOLD_MDMA = [
    # G6, matched by P6 through the abbreviation MDMA
    _gold("rec-7", "could ease PTSD symptoms by raising serotonin",
          ["3,4-methylenedioxymethamphetamine"], "target", "serotonin", "serotonin", hedged=True),
    # G7, matched by P7
    _gold("rec-7", "by raising serotonin and oxytocin", ["MDMA"], "target", "oxytocin",
          "oxytocin", hedged=True),
    # G8, matched by P8 (the effect both rows of the sentence share)
    _gold("rec-7", "MDMA could ease PTSD symptoms", ["MDMA"], "effect", "ease PTSD symptoms",
          "ptsd", "benefit", hedged=True),
]  # fmt: skip


def _claim(n, doc_id, index, sentence, substance, target=None, effect=None, **extra):
    return {
        "claim_id": f"c{n}",
        "doc_id": doc_id,
        "sentence_id": f"{doc_id}:{index}",
        "sentence": sentence,
        "sentence_start": index * 100,
        "substance": substance,
        "substance_norm": extra.get("norm", substance.lower()),
        "substance_antecedent": extra.get("antecedent"),
        "target": target,
        "target_norm": target and target.lower(),
        "effect": effect,
        "effect_norm": effect and effect.lower(),
        "polarity": extra.get("polarity"),
        "hedged": extra.get("hedged", False),
        "negated": extra.get("negated", False),
        "rule": extra.get("rule", "svo"),
    }


CLAIMS = [
    _claim(1, "d1", 0, KETAMINE[0], "Ketamine", target="NMDA receptors"),  # P1
    _claim(2, "d1", 1, KETAMINE[1], "The drug", effect="relieve depression",
           norm="ketamine", antecedent="Ketamine", polarity="neutral"),  # P2
    _claim(3, "d1", 2, KETAMINE[2], "Ketamine", effect="serious side effects",
           polarity="harm"),  # P3
    _claim(4, "d1", 3, KETAMINE[3], "Ketamine", target="BDNF levels"),  # P4
    _claim(5, "d1", 3, KETAMINE[3], "Ketamine", target="release"),  # P5
    _claim(6, "d2", 1, MDMA[1], "MDMA", target="serotonin", effect="PTSD symptoms",
           polarity="benefit", hedged=True),  # P6 and P8
    _claim(7, "d2", 1, MDMA[1], "MDMA", target="oxytocin", effect="PTSD symptoms",
           polarity="benefit", hedged=True),  # P7 and P8 again
    _claim(8, "d2", 0, MDMA[0], "MDMA", effect="synthetic drug", polarity="neutral",
           rule="copula"),  # P9
    _claim(9, "d3", 0, "Psilocybin may reduce anxiety.", "Psilocybin", effect="reduce anxiety",
           polarity="benefit", hedged=True),  # not a gold document
]  # fmt: skip

# By hand. Predicted edges in gold documents: P1-P5 in ketamine, P6-P9 in rec-7 = 9.
# P4 matches only the optional G5, so 8 are counted: P1 P2 P3 P6 P7 P8 match, P5 P9 do not.
#   precision = 6/8 = 0.75; required gold G1-G4, G6-G8 = 7, all but G4 matched: recall = 6/7
#   F1 = 2 * (3/4) * (6/7) / (3/4 + 6/7) = (36/28) / (45/28) = 0.8
# Matched pairs: G1-P1 G2-P2 G3-P3 G5-P4 G6-P6 G7-P7 G8-P8 = 7.
#   hedge: only G2-P2 differs -> 6/7; negation: only G3-P3 differs -> 6/7
#   polarity over effect pairs G2-P2 (benefit/neutral) G3-P3 G8-P8 -> 2/3
# Targets: P1 P5 P6 P7 -> 3/4, gold G1 G4 G6 G7 -> 3/4.
# Effects: P2 P3 P8 P9 -> 3/4, gold G2 G3 G8 -> 3/3.
# ketamine: P1 P2 P3 P5 -> 3/4, G1-G4 -> 3/4. rec-7: P6 P7 P8 P9 -> 3/4, G6-G8 -> 3/3.


def _full_table(name: str, rows: list[dict]) -> pa.Table:
    """The rows as a table of `name`'s schema, columns the test does not care about filled
    with a plain value (null where allowed)."""

    def filler(field: pa.Field) -> object:
        if field.nullable:
            return None
        if pa.types.is_list(field.type):
            return []
        if pa.types.is_timestamp(field.type):
            return datetime(2026, 1, 1, tzinfo=UTC)
        return {"string": "", "bool": False}.get(str(field.type), 0)

    schema = TABLES[name]
    return to_table(name, [{f.name: row.get(f.name, filler(f)) for f in schema} for row in rows])


@pytest.fixture
def run(tmp_path) -> Path:
    """A run's output folder, published by the table store as `claims run` does."""
    out = tmp_path / "out"
    documents = [
        {"doc_id": "d1", "source": "/data/corpus/ketamine.txt", "record_id": None},
        {"doc_id": "d2", "source": "/data/corpus/news.jsonl#rec-7", "record_id": "rec-7"},
        {"doc_id": "d3", "source": "/data/corpus/other.txt", "record_id": None},
    ]
    abbreviations = [
        {"doc_id": "d1", "short_form": "NMDA", "long_form": "N-methyl-D-aspartate"},
        {"doc_id": "d2", "short_form": "MDMA", "long_form": "3,4-methylenedioxymethamphetamine"},
    ]
    sentences = [
        {"doc_id": doc_id, "sentence_id": f"{doc_id}:{i}", "text": text}
        for doc_id, texts in [("d1", KETAMINE), ("d2", MDMA)]
        for i, text in enumerate(texts)
    ]
    added = {
        "documents": documents,
        "sentences": sentences,
        "abbreviations": abbreviations,
        "claims": CLAIMS,
    }
    TableStore(out).commit({name: [_full_table(name, rows)] for name, rows in added.items()})
    return out


@pytest.fixture
def gold_dir(tmp_path) -> Path:
    folder = tmp_path / "gold"
    folder.mkdir()
    for name, edges in [("a.jsonl", GOLD_KETAMINE), ("b.jsonl", GOLD_MDMA)]:
        (folder / name).write_text("".join(json.dumps(e) + "\n" for e in edges) + "\n")
    return folder


def test_scores_match_the_hand_count(run, gold_dir):
    e = evaluate([gold_dir], run)
    assert (e.n_gold, e.n_predicted) == (8, 9)
    assert (e.overall.precision.hits, e.overall.precision.total) == (6, 8)
    assert (e.overall.recall.hits, e.overall.recall.total) == (6, 7)
    assert e.overall.precision.value == 0.75
    assert e.overall.f1 == pytest.approx(0.8)
    assert (e.hedge.hits, e.hedge.total) == (6, 7)
    assert (e.negation.hits, e.negation.total) == (6, 7)
    assert (e.polarity.hits, e.polarity.total) == (2, 3)
    assert str(e.by_role["target"].precision) == "0.75 (3/4)"
    assert str(e.by_role["target"].recall) == "0.75 (3/4)"
    assert str(e.by_role["effect"].precision) == "0.75 (3/4)"
    assert str(e.by_role["effect"].recall) == "1.00 (3/3)"
    assert str(e.by_doc["ketamine"].recall) == "0.75 (3/4)"
    assert str(e.by_doc["rec-7"].precision) == "0.75 (3/4)"
    assert [g.value for g in e.misses] == ["glutamate release"]
    assert [(p.doc, p.value) for p in e.false_positives] == [
        ("ketamine", "release"),
        ("rec-7", "synthetic drug"),
    ]
    assert [p.value for p in e.optional_only] == ["BDNF levels"]
    assert [g.quote for g, _ in e.mismatches("hedged")] == ["The drug may relieve depression"]
    assert [g.value for g, _ in e.mismatches("negated")] == ["serious side effects"]
    assert e.missing_docs == [] and e.missing_quotes == []


def test_rows_sharing_an_edge_give_it_once(run):
    edges = predicted_edges(run)
    assert len(edges) == 10  # 9 in gold documents, 1 in d3
    assert [e.value for e in edges if e.doc == "rec-7"].count("PTSD symptoms") == 1
    assert {e.doc for e in edges} == {"ketamine", "rec-7", "other"}


def test_doc_names_are_record_ids_or_file_stems(run):
    assert doc_names(run) == {"d1": "ketamine", "d2": "rec-7", "d3": "other"}


def test_abbreviations_alias_long_and_short_forms(run, gold_dir):
    aliases = load_aliases(run)
    assert names_match({"MDMA"}, ["3,4-methylenedioxymethamphetamine"], aliases["rec-7"])
    assert not names_match({"MDMA"}, ["3,4-methylenedioxymethamphetamine"])
    gold = load_gold([gold_dir])
    without = score(gold, predicted_edges(run), aliases={})
    assert str(without.overall.recall) == "0.71 (5/7)"  # G6 is lost
    assert [g.value for g in without.misses] == ["glutamate release", "serotonin"]


def test_reference_names_match_through_the_normalised_name():
    assert names_match({"The medicine", "ketamine"}, ["the drug", "ketamine"])
    assert names_match({"esketamine"}, ["ketamine"])  # containment
    assert names_match({"ketamine"}, ["ketamine infusions"])  # the reverse
    assert not names_match({"The medicine", "psilocybin"}, ["the drug", "ketamine"])


def test_value_must_contain_every_key_stem(run, gold_dir):
    gold = {g.value: g for g in load_gold([gold_dir])}
    edges = {e.value: e for e in predicted_edges(run)}
    assert matches(gold["serious side effects"], edges["serious side effects"])
    assert not matches(gold["glutamate release"], edges["release"])
    assert not matches(gold["serotonin"], edges["oxytocin"])


def test_optional_gold_costs_neither_precision_nor_recall(run, gold_dir):
    gold = load_gold([gold_dir])
    required = [g for g in gold if not g.optional]
    without = score(required, predicted_edges(run), load_aliases(run))
    assert str(without.overall.precision) == "0.67 (6/9)"  # P4 is now a false positive
    assert str(without.overall.recall) == "0.86 (6/7)"  # the same required edges
    with_optional = score(gold, predicted_edges(run), load_aliases(run))
    assert with_optional.overall.recall.total == 7


def test_quotes_compare_with_straight_quotes_and_single_spaces():
    assert normalise("The  drug’s “effect”\n is") == 'the drug\'s "effect" is'


def test_missing_documents_and_quotes_are_reported(run, gold_dir, capsys):
    extra = gold_dir / "c.jsonl"
    extra.write_text(
        json.dumps(_gold("nowhere", "a quote from nowhere", ["X"], "effect", "x", "x")) + "\n"
        + json.dumps(_gold("ketamine", "words that are not there", ["Ketamine"], "target",
                           "y", "y")) + "\n"
    )  # fmt: skip
    e = evaluate([gold_dir], run)
    assert e.missing_docs == ["nowhere"]
    assert [g.where for g in e.missing_quotes] == [f"{extra}:2"]
    assert e.overall.recall.total == 9  # both still count as misses
    assert main(["evaluate", "claims", "--gold", str(gold_dir), "--tables", str(run)]) == 0
    err = capsys.readouterr().err
    assert "gold document not found in the tables: nowhere" in err
    assert "words that are not there" in err


def test_cli_prints_and_writes_the_figures(run, gold_dir, tmp_path, capsys):
    report = tmp_path / "report.json"
    args = [
        "evaluate",
        "claims",
        "--gold",
        str(gold_dir / "a.jsonl"),
        "--gold",
        str(gold_dir / "b.jsonl"),
    ]
    args += ["--tables", str(run), "--report", str(report), "--show", "1"]
    assert main(args) == 0
    out = capsys.readouterr().out
    for figure in ("0.75 (6/8)", "0.86 (6/7)", "0.80", "0.67 (2/3)", "Misses: 1"):
        assert figure in out
    assert "False positives: 2 (first 1)" in out
    assert "synthetic drug" not in out  # the second false positive is not shown
    data = json.loads(report.read_text())
    assert data["overall"]["precision"] == {"value": 0.75, "hits": 6, "total": 8}
    assert data["negation_accuracy"]["hits"] == 6
    assert len(data["false_positives"]) == 2
    assert data["hedge_mismatches"][0]["predicted"]["claim_id"] == "c2"
    quiet = format_report(evaluate([gold_dir], run), show=0)
    assert quiet.endswith("False positives: 2 (first 0)\n") and "glutamate release" not in quiet


@pytest.mark.parametrize(
    ("line", "problem"),
    [
        ("{not json", "bad JSON"),
        (json.dumps({"doc": "ketamine"}), "missing field(s): quote"),
        (json.dumps({**GOLD_KETAMINE[0], "role": "mechanism"}), "role must be"),
        (json.dumps({**GOLD_KETAMINE[0], "quote": "   "}), "quote must hold"),
        (json.dumps({**GOLD_KETAMINE[0], "hedged": "yes"}), "hedged must be"),
    ],
)
def test_bad_gold_names_the_line_and_exits_2(run, tmp_path, capsys, line, problem):
    gold = tmp_path / "bad.jsonl"
    gold.write_text(json.dumps(GOLD_KETAMINE[0]) + "\n" + line + "\n")
    with pytest.raises(ValueError, match=rf"bad\.jsonl:2: .*{problem[:12]}"):
        load_gold([gold])
    assert main(["evaluate", "claims", "--gold", str(gold), "--tables", str(run)]) == 2
    err = capsys.readouterr().err
    assert f"{gold}:2" in err and problem in err and err.count("\n") == 1


def test_markdown_and_short_quotes_of_the_shared_gold_are_read(run, tmp_path):
    """The shared gold quotes Markdown sources as written ("**[Dizziness](https://...)**"):
    matched as the reader sees the text, and a quote under four words is named, not refused."""
    gold = tmp_path / "gold.jsonl"
    record = {
        **GOLD_KETAMINE[0],
        "quote": "**[Dizziness](https://psychonautwiki.org/wiki/Dizziness)**",
    }
    gold.write_text(json.dumps(record) + "\n")
    (edge,) = load_gold([gold])
    assert edge.quote == "Dizziness"
    warnings = evaluate([gold], run).warnings()
    assert any("1 gold quotes are shorter than the guideline's 4 words" in w for w in warnings)


def test_a_hedged_or_negated_left_null_by_the_merge_is_not_scored(run, tmp_path):
    """The shared gold leaves `hedged` null where its two annotators disagreed."""
    both = tmp_path / "both.jsonl"
    both.write_text("".join(json.dumps(r) + "\n" for r in GOLD_KETAMINE))
    unscored = tmp_path / "unscored.jsonl"
    unscored.write_text(
        "".join(json.dumps({**r, "hedged": None, "negated": None}) + "\n" for r in GOLD_KETAMINE)
    )
    scored, left_out = evaluate([both], run), evaluate([unscored], run)
    assert scored.hedge.total > 0 and scored.negation.total > 0
    assert (left_out.hedge.total, left_out.negation.total) == (0, 0)
    assert left_out.overall == scored.overall  # matching does not depend on them
    assert left_out.mismatches("hedged") == []


def test_missing_tables_exit_2(gold_dir, tmp_path, capsys):
    assert (
        main(["evaluate", "claims", "--gold", str(gold_dir), "--tables", str(tmp_path / "none")])
        == 2
    )
    assert "There is no output folder" in capsys.readouterr().err


def test_a_missing_column_exits_2(run, gold_dir, capsys):
    (part,) = (run / "claims").glob("*.parquet")
    claims = pq.read_table(part)
    part.unlink()  # shared with the store's snapshot: write a new file, not through the link
    pq.write_table(
        claims.drop_columns(["rule"]).replace_schema_metadata(claims.schema.metadata), part
    )
    assert main(["evaluate", "claims", "--gold", str(gold_dir), "--tables", str(run)]) == 2
    err = capsys.readouterr().err
    assert "claims: The `claims` table" in err and "no column rule" in err


@pytest.mark.parametrize(
    ("old", "new"),
    [
        (["evaluate", "--gold", "g"], ["evaluate", "claims", "--gold", "g"]),
        (["evaluate-hedges", "--split", "dev"], ["evaluate", "hedges", "--split", "dev"]),
        (["export-reviews", "--tables", "t"], ["review", "export", "--tables", "t"]),
        (["review", "--port", "0"], ["review", "serve", "--port", "0"]),
        (["review"], ["review", "serve"]),
    ],
)
def test_the_previous_release_spellings_still_work_with_a_note(old, new, capsys):
    from flows.cli import _modern

    assert _modern(old) == new
    assert "the old spelling goes in the next release" in capsys.readouterr().err
    assert _modern(new) == new  # the grouped verbs pass through untouched
    assert capsys.readouterr().err == ""
