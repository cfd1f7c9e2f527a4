"""Sources skipped as exact duplicates: the `duplicates` table, the summary, the reports;
and the report of a run that added nothing leads with what the tables hold."""

from __future__ import annotations

import json
import re
import shutil
from dataclasses import asdict

import pytest
from conftest import KRATOM, MDMA, SAMPLE_CORPUS, open_report

from flows.cli import print_summary
from pipeline.reports.run_report import run_markdown
from pipeline.runs.runner import run_corpus
from pipeline.storage import tables


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """Three runs into one folder: the seeds plus a copy of one (a duplicate) and the same
    text as a JSON Lines record; the same again (nothing new); then the copy edited."""
    root = tmp_path_factory.mktemp("duplicates")
    corpus = root / "corpus"
    shutil.copytree(SAMPLE_CORPUS, corpus)
    (corpus / "zz_copy.txt").write_text((corpus / MDMA).read_text())
    record = {"id": "r1", "text": (corpus / KRATOM).read_text()}
    (corpus / "records.jsonl").write_text(json.dumps(record) + "\n")
    out = root / "out"
    first = run_corpus(corpus, out)
    first_duplicates = tables.frame(out, "duplicates")
    first_report = (out / "report.html").read_text()
    second = run_corpus(corpus, out)
    second_duplicates = tables.frame(out, "duplicates")
    second_report = (out / "report.html").read_text()
    (corpus / "zz_copy.txt").write_text("MDMA stimulates the release of serotonin.\n")
    third = run_corpus(corpus, out)
    return {
        "corpus": corpus,
        "out": out,
        "first": (first, first_duplicates, first_report),
        "second": (second, second_duplicates, second_report),
        "third": (third, tables.frame(out, "duplicates")),
    }


def test_duplicates_are_recorded_with_the_source_they_repeat(runs):
    corpus = runs["corpus"]
    summary, duplicates, _ = runs["first"]
    assert summary.processed == 2 and summary.skipped == 2 and summary.duplicates == 2
    pairs = {
        (row.source, row.kept_source) for row in duplicates.itertuples()
    }  # files are read in name order, so the seeds are kept
    assert pairs == {
        (f"{corpus.resolve()}/zz_copy.txt", f"{corpus.resolve()}/{MDMA}"),
        (f"{corpus.resolve()}/records.jsonl#r1", f"{corpus.resolve()}/{KRATOM}"),
    }
    documents = tables.frame(runs["out"], "documents")
    assert set(duplicates.doc_id) <= set(documents.doc_id)
    assert set(duplicates.run_id) == {summary.run_id}


def test_a_rerun_replaces_the_rows_and_an_edited_copy_loses_its_row(runs):
    corpus = runs["corpus"]
    second, duplicates, _ = runs["second"]
    assert second.processed == 0 and second.duplicates == 2
    assert len(duplicates) == 2 and set(duplicates.run_id) == {second.run_id}
    third, duplicates = runs["third"]
    assert third.processed == 1 and third.duplicates == 1
    assert list(duplicates.source) == [f"{corpus.resolve()}/records.jsonl#r1"]


def test_the_summaries_split_unchanged_from_duplicates(runs, capsys):
    summary = runs["first"][0]
    markdown = run_markdown(summary)
    assert "| skipped: unchanged | 0 |" in markdown
    assert "| skipped: duplicate of another source (`duplicates` table) | 2 |" in markdown
    print_summary(
        {**asdict(summary), "status": summary.status, "words_per_second": summary.words_per_second}
    )
    printed = capsys.readouterr().out
    assert re.search(r"skipped: duplicate of another source\s+│\s+2", printed)
    assert "Nothing new" not in printed
    second = runs["second"][0]
    print_summary(
        {**asdict(second), "status": second.status, "words_per_second": second.words_per_second}
    )
    printed = " ".join(capsys.readouterr().out.split())
    articles = len(tables.frame(runs["out"], "documents", ["doc_id"]))
    claims = len(tables.frame(runs["out"], "claims", ["claim_id"]))
    assert (
        "Nothing new: every source read was already in the tables, which hold "
        f"{articles} articles and {claims:,} claims from earlier runs" in printed
    )


def test_the_report_lists_the_duplicates_relative_to_the_corpus(runs):
    _, _, report = runs["first"]
    section = report[report.index('id="duplicates"') :]
    section = section[: section.index("</section>")]
    assert "<code>zz_copy.txt</code></td><td><code>mdma_depression.txt</code>" in section
    assert "2 sources hold exactly the text of another source, so they were" in section
    assert "<code>records.jsonl#r1</code></td><td><code>kratom_major" in section
    assert "All are in the <code>duplicates</code> table" in section
    cards = report[report.index('id="run"') :]
    assert re.search(r'"value">2</div><div class="label">skipped: duplicate', cards)


def test_the_report_of_a_run_that_added_nothing_leads_with_the_tables(runs):
    _, _, report = runs["second"]
    assert report.index('id="tables"') < report.index('id="run"')
    note = re.search(r'<p class="explain" id="nothing-new">(.*?)</p>', report, re.S).group(1)
    text = " ".join(re.sub(r"<[^>]+>", "", note).split())
    assert text.startswith(
        "This run added nothing. Of the 4 sources it read: 2 unchanged since an earlier run, "
        "2 duplicates of other sources (listed below)."
    )
    first_report = runs["first"][2]
    assert first_report.index('id="run"') < first_report.index('id="tables"')
    assert 'id="nothing-new"' not in first_report
    # The tables' totals are the whole folder's, not this run's zeros.
    totals = report[report.index('id="tables"') : report.index('id="run"')]
    assert re.search(r'"value">2</div><div class="label">articles', totals)


@pytest.mark.slow
def test_the_up_to_date_report_in_chromium(runs, browser, tmp_path):
    """The report of the run that added nothing, as a browser draws it: the tables' totals
    first, then the note that the run added nothing, the duplicates listed."""
    _, _, report = runs["second"]
    path = tmp_path / "report.html"
    path.write_text(report)
    page = open_report(browser, path)
    tables_box = page.locator("#tables").bounding_box()
    run_box = page.locator("#run").bounding_box()
    assert tables_box["y"] + tables_box["height"] <= run_box["y"]  # the totals lead
    first_card = page.locator("#tables .card .value").first.inner_text()
    assert first_card == "2"  # articles in the tables, not this run's zero
    note = page.locator("#nothing-new")
    assert note.is_visible() and note.inner_text().startswith("This run added nothing")
    rows = page.locator("#duplicates tbody tr")
    assert rows.count() == 2
    assert "zz_copy.txt" in page.locator("#duplicates").inner_text()
    assert page.problems == [] and page.requests == [path.as_uri()]
    page.close()
