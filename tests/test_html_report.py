"""The HTML run report: built from the tables at the end of every run, self-contained,
escaped, and rendered without errors by a real browser."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pandas as pd
import pytest
from conftest import HAND_ARTICLES, PROJECT_DIR, SAMPLE_CORPUS, UNTRUSTED_RECORD, build_hand_tables

from flows.cli import main
from pipeline.reports import html_report
from pipeline.reports.charts import Flow, bar_chart, sankey, stacked_shares
from pipeline.reports.html_report import CERTAINTY, collect, write_report
from pipeline.reports.run_report import run_markdown
from pipeline.runs.runner import RunOptions, process_batch, run_corpus

SCREENSHOT = PROJECT_DIR / "outputs" / "report_seeds.png"
HAND_SCREENSHOT = PROJECT_DIR / "outputs" / "report_contested.png"
EMPTY_NAME = "empty <img src=x onerror=\"window.__xss='file'\">.txt"


@pytest.fixture(scope="module")
def reported_run(tmp_path_factory) -> tuple[Path, object]:
    """A run over the seeds, an article with markup in it, and an empty file (a failure)."""
    root = tmp_path_factory.mktemp("report")
    corpus = root / "corpus"
    shutil.copytree(SAMPLE_CORPUS, corpus)
    (corpus / "untrusted.jsonl").write_text(json.dumps(UNTRUSTED_RECORD) + "\n")
    (corpus / EMPTY_NAME).write_text("")  # a failure, with markup in its source
    out = root / "out"
    summary = run_corpus(corpus, out)
    return out, summary


def test_every_run_writes_its_report(reported_run):
    out, summary = reported_run
    report = out / "report.html"
    assert summary.report == report.resolve().as_posix()
    html = report.read_text()
    assert summary.run_id in html
    for section in (
        *("run", "tables", "substances", "strength", "flagged", "terms", "diagram"),
        *("top-claims", "contested", "evidence", "failures"),
    ):
        assert f'id="{section}"' in html, section
    assert html.count("<svg") >= 5
    # The failure of this run is listed with its reason.
    failures = html[html.index('id="failures"') :]
    assert "empty &lt;img src=x onerror=" in failures and "Empty" in failures
    # The footer's notebook line is one that runs.
    assert "from pipeline.storage import tables; frames = tables.frames(" in html
    # The run's Markdown summary (the Prefect artifact) points at it.
    assert f"HTML report: `{summary.report}`" in run_markdown(summary)


def test_the_figures_are_those_of_the_tables(reported_run):
    out, summary = reported_run
    data = collect(out, summary)
    from pipeline.storage import tables

    claims = tables.frame(out, "claims", ["substance_norm", "doc_id", "certainty"])
    counts = claims["substance_norm"].value_counts()
    assert [s["name"] for s in data.substances][:2] == ["mdma", "kratom"]
    for row in data.substances:
        mine = claims[claims["substance_norm"] == row["name"]]
        assert row["claims"] == counts[row["name"]] == len(mine)
        assert row["articles"] == mine["doc_id"].nunique()
        assert row["hedged"] == (mine["certainty"] == "hedged").sum()
        assert row["asserted"] + row["hedged"] + row["negated"] == row["claims"]
    assert data.totals["claims"] == len(claims)
    assert data.totals["documents"] == 3
    assert data.run["run_id"] == summary.run_id and data.run["n_failed"] == 1
    assert [f["error_type"] for f in data.failures] == ["Empty"]
    summary_rows = tables.frame(out, "claim_summary")
    claim_rows = summary_rows.loc[summary_rows["level"] == "claim"]
    assert len(claim_rows) < len(summary_rows)  # effect and target rows are not claims
    assert data.totals["distinct_claims"] == len(claim_rows)
    assert len(data.top_claims) == min(len(claim_rows), html_report.TOP_CLAIMS)
    assert {row["level"] for row in data.top_claims} == {"claim"}
    assert all(row["target"] or row["effect"] for row in data.flows)
    flows = {(row["substance"], row["target"], row["effect"]) for row in data.flows}
    keys = claim_rows[["substance", "target", "effect"]].astype(object)
    keys = {tuple(None if pd.isna(v) else v for v in row) for row in keys.to_numpy()}
    assert flows <= keys
    # Strength counts are the claims table's.
    strengths = tables.frame(out, "claims", ["strength"])["strength"].value_counts()
    assert data.strength == {name: int(n) for name, n in strengths.items()}
    assert sum(data.strength.values()) == data.totals["claims"]


def test_the_report_is_self_contained_and_escapes_the_corpus(reported_run):
    out, _ = reported_run
    html = (out / "report.html").read_text()
    assert "<script" not in html
    assert "<img" not in html and "&lt;img src=x onerror=" in html  # shown, as text
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:|//)""", html)
    assert "<link" not in html and "@import" not in html and "url(" not in html
    assert "default-src 'none'" in html


def test_a_report_that_fails_does_not_fail_the_run(seed_corpus, tmp_path, monkeypatch, caplog):
    def broken(*args, **kwargs):
        raise ValueError("report bug")

    monkeypatch.setattr("pipeline.reports.html_report.write_report", broken)
    out = tmp_path / "out"
    summary = run_corpus(seed_corpus, out)
    assert summary.report is None and summary.status == "completed"
    assert "HTML report failed" in caplog.text
    assert (out / "claim_summary").exists() and not (out / "report.html").exists()
    assert "not written" in run_markdown(summary)
    # `claims report` builds it from the tables afterwards.
    monkeypatch.undo()
    assert main(["report", "--tables", str(out)]) == 0
    assert summary.run_id in (out / "report.html").read_text()
    assert main(["report", "--tables", str(tmp_path / "nowhere")]) == 2


def test_reports_of_a_failed_run_and_of_unfinished_checkpoints(tmp_path):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "empty.txt").write_text("")
    out = tmp_path / "out"
    summary = run_corpus(corpus, out)
    assert summary.status == "failed"
    html = (out / "report.html").read_text()
    assert 'class="status failed"' in html and "The tables hold no claims." in html
    assert "empty.txt" in html[html.index('id="failures"') :]

    # Checkpoints of a run that never finished: the report says so instead of failing.
    stopped = tmp_path / "stopped"
    (corpus / "empty.txt").unlink()
    (corpus / "a.txt").write_text("Kratom may relieve chronic pain.\n")

    def stop_after_first(jobs):
        for job in jobs:
            yield process_batch(job)
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run_corpus(corpus, stopped, RunOptions(commit_interval=0), map_batches=stop_after_first)
    assert main(["report", "--tables", str(stopped)]) == 0
    html = (stopped / "report.html").read_text()
    assert "No run has finished in this folder yet." in html
    assert 'id="notes"' in html and "No run has finished in" in html
    assert "kratom" in html[html.index('id="substances"') :]


def test_bar_chart_escapes_and_shortens_labels():
    svg = bar_chart([("<b>x</b>" + "y" * 40, 3, "tip <i>"), ("z", 1, "t")], label="L")
    assert "<b>" not in svg and "&lt;b&gt;" in svg and "&lt;i&gt;" in svg
    assert "…" in svg
    widths = [float(w) for w in re.findall(r'<rect [^>]*width="([\d.]+)"', svg)]
    assert widths[0] == pytest.approx(3 * widths[1])
    assert bar_chart([], label="L") == ""


def test_stacked_shares_add_up_to_the_whole_bar():
    svg = stacked_shares([("kratom", [2, 1, 1])], CERTAINTY, label="L", width=620)
    rects = re.findall(r'<rect x="([\d.]+)" y="26" width="([\d.]+)"', svg)
    widths = [float(w) for _, w in rects]
    assert widths[0] == pytest.approx(2 * widths[1]) and sum(widths) == pytest.approx(
        widths[0] * 2, rel=0.01
    )
    assert "50%" in svg and "kratom: hedged 1 of 4 (25%)" in svg
    marked = stacked_shares([("<b>x</b>", [1, 0, 0])], CERTAINTY, label="L")
    assert "<b>" not in marked and "&lt;b&gt;x&lt;/b&gt;" in marked


def test_sankey_bands_keep_their_weight_through_all_three_columns():
    flows = [
        Flow("mdma", "serotonin", "mood", 4),
        Flow("mdma", None, "depression", 2),
        Flow("kratom", "opioid receptors", None, 2),
    ]
    svg = str(sankey(flows, label="L", height=400))
    nodes = dict(
        (name, float(height))
        for height, name in re.findall(
            r'height="([\d.]+)" fill="[^"]+"/><text[^>]*>([^<]+) \(\d+\)</text>', svg
        )
    )
    assert set(nodes) == {
        "mdma",
        "kratom",
        "serotonin",
        "opioid receptors",
        "(no target named)",
        "mood",
        "depression",
        "(no effect named)",
    }
    assert nodes["mdma"] == pytest.approx(3 * nodes["kratom"])
    assert nodes["serotonin"] == pytest.approx(2 * nodes["(no target named)"])
    assert nodes["mood"] == pytest.approx(nodes["mdma"] * 4 / 6)
    assert svg.count("<path") == 2 * len(flows)  # one band per flow and hop
    assert sankey([], label="L") == ""
    marked = str(sankey([Flow("<b>k</b>", "<i>t</i>", None, 1)], label="<L>"))
    assert "<b>" not in marked and "<i>" not in marked and "&lt;b&gt;k&lt;/b&gt;" in marked
    assert 'aria-label="&lt;L&gt;"' in marked


@pytest.mark.slow
def test_the_report_renders_in_chromium_without_errors(reported_run, browser):
    out, summary = reported_run
    page = browser.new_page(viewport={"width": 1200, "height": 900})
    problems: list[str] = []
    requests: list[str] = []
    page.on(
        "console",
        lambda m: (
            problems.append(f"{m.type}: {m.text}") if m.type in ("error", "warning") else None
        ),
    )
    page.on("pageerror", lambda e: problems.append(f"page error: {e}"))
    page.on("request", lambda r: requests.append(r.url))
    page.goto((out / "report.html").as_uri())
    assert problems == []
    assert requests == [(out / "report.html").as_uri()]  # nothing else is fetched
    assert page.evaluate("window.__xss") is None
    assert summary.run_id in page.locator("h1").inner_text()
    # Charts drew: bars with a width, a diagram with bands.
    assert page.locator("#substances svg rect").count() > 5
    assert page.locator("#diagram svg path").count() >= 4
    box = page.locator("#diagram svg").bounding_box()
    assert box["width"] > 600 and box["height"] > 300
    assert "mdma" in page.locator("#substances").inner_text()
    assert "Empty" in page.locator("#failures").inner_text()
    SCREENSHOT.parent.mkdir(exist_ok=True)
    page.screenshot(path=str(SCREENSHOT), full_page=True)
    assert SCREENSHOT.stat().st_size > 50_000
    page.close()


HAND_CONTESTED = [  # (level, substance, target, effect, articles, sites), most articles first
    ("effect", "kratom", None, "anxiety", 3, 2),
    ("effect", "kratom", None, "pain", 2, 2),
    ("target", "mdma", "serotonin", None, 2, 2),
]


def test_strength_flag_and_contested_from_hand_built_tables(hand_tables, tmp_path):
    data = collect(hand_tables)
    assert data.totals["claims"] == 10 and data.totals["distinct_claims"] == 7
    assert data.strength == {
        "none": 1,
        "correlational": 1,
        "conditional_causal": 1,
        "direct_causal": 7,
    }
    assert data.totals["flagged"] == 2
    assert [
        (row["substance_norm"], row["target_norm"], row["effect_norm"]) for row in data.flagged
    ] == [
        ("kratom", None, "pain"),
        ("mdma", "serotonin", "mood"),
    ]
    assert [
        (r["level"], r["substance"], r["target"], r["effect"], r["n_articles"], r["n_sites"])
        for r in data.contested
    ] == HAND_CONTESTED
    assert data.totals["contested"] == len(HAND_CONTESTED)
    assert {row["level"] for row in data.top_claims} == {"claim"}
    assert {row["kind"]: row["claims"] for row in data.evidence} == {
        "observational": 3,
        "trial": 1,
        "anecdote": 1,
    }
    assert {row["kind"]: row["claims"] for row in data.attribution} == {
        "lay": 1,
        "researcher": 1,
        "nobody named": 8,
    }

    html = write_report(hand_tables, path=tmp_path / "report.html").read_text()
    strength = html[html.index('id="strength"') : html.index('id="terms"')]
    assert 'aria-label="Claims by strength"' in strength
    assert 'id="flagged-count">2</strong> of 10 claims' in strength
    assert "observational only" in strength  # the flag's one-line explanation
    assert "Kratom relieves chronic pain, a cohort study of 2,000 users found." in strength
    assert "researchers <span" in strength and "(researcher)" in strength  # who, apart
    contested = html[html.index('id="contested"') : html.index('id="evidence"')]
    assert "two different articles disagree" in contested
    assert contested.count("<tr title=") == len(HAND_CONTESTED)
    assert contested.index("anxiety") < contested.index("pain") < contested.index("serotonin")
    assert "33%" in contested and "trial" in contested  # shares and strongest design
    top = html[html.index('id="top-claims"') : html.index('id="contested"')]
    assert "<th>strongest design</th>" in top and "contested</span>" in top


def test_no_contested_claims_is_said(tmp_path):
    out = build_hand_tables(tmp_path / "out", HAND_ARTICLES[:1])  # one article: no dispute
    html = write_report(out).read_text()
    contested = html[html.index('id="contested"') : html.index('id="evidence"')]
    assert "No claim is contested" in contested and "<table" not in contested
    assert "stated by two or more articles at all" in contested
    assert 'id="flagged-count">1</strong> of 2 claims' in html


@pytest.mark.slow
def test_the_contested_section_and_strength_render_in_chromium(hand_tables, browser, tmp_path):
    report = write_report(hand_tables, path=tmp_path / "report.html")
    page = browser.new_page(viewport={"width": 1200, "height": 900})
    problems: list[str] = []
    requests: list[str] = []
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: problems.append(f"page error: {e}"))
    page.on("request", lambda r: requests.append(r.url))
    page.goto(report.as_uri())
    assert problems == [] and requests == [report.as_uri()]
    rows = page.locator("#contested tbody tr")
    assert rows.count() == len(HAND_CONTESTED)
    cells = rows.first.locator("td").all_inner_texts()
    assert cells[:4] == ["kratom", "anxiety (effect)", "3", "2"]
    assert cells[4:8] == ["33%", "33%", "0%", "33%"]  # benefit, harm, no effect, hedged
    assert "two different articles disagree" in page.inner_text("#contested")
    # The strength charts drew, and the flag is explained where it is shown.
    assert page.locator("#strength svg").count() == 2
    assert page.locator("#strength svg rect").count() >= 4
    assert page.inner_text("#flagged-count") == "2"
    assert page.locator("#flagged tbody tr").count() == 2
    assert "observational" in page.get_attribute("#flagged .flag", "title")
    box = page.locator("#contested table").bounding_box()
    assert box["width"] <= 1200  # the table fits the page
    HAND_SCREENSHOT.parent.mkdir(exist_ok=True)
    page.locator("#strength").screenshot(path=str(HAND_SCREENSHOT))
    page.close()
