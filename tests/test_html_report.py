"""The HTML run report: built from the tables at the end of every run, self-contained,
escaped, and rendered without errors by a real browser."""

from __future__ import annotations

import importlib.util
import json
import re
import shutil
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pandas as pd
import pytest
from conftest import (
    HAND_ARTICLES,
    PROJECT_DIR,
    SAMPLE_CORPUS,
    UNTRUSTED_RECORD,
    build_hand_tables,
    open_report,
)

from flows.cli import main
from pipeline.reports import html_report
from pipeline.reports.charts import Flow, bar_chart, sankey, stacked_shares
from pipeline.reports.html_report import CERTAINTY, collect, write_report
from pipeline.reports.run_report import run_markdown
from pipeline.runs.runner import RunOptions, process_batch, run_corpus

SCREENSHOT = PROJECT_DIR / "outputs" / "report_seeds.png"
HAND_SCREENSHOT = PROJECT_DIR / "outputs" / "report_contested.png"
DIAGRAM_SCREENSHOT = PROJECT_DIR / "outputs" / "report_diagram.png"
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


SVG = "{http://www.w3.org/2000/svg}"


def _box(svg: str, ident: str) -> tuple[float, float, float, float]:
    """x0, y0, x1, y1 of the points of the paths under the element `ident`."""
    found = ET.fromstring(str(svg)).find(f".//*[@id='{ident}']")
    numbers = [float(n) for path in found.iter(f"{SVG}path") for n in NUMBER.findall(path.get("d"))]
    xs, ys = numbers[0::2], numbers[1::2]
    return min(xs), min(ys), max(xs), max(ys)


def _ends(svg: str, ident: str) -> tuple[tuple[float, float], tuple[float, float]]:
    """The band `ident`'s (x, thickness) where it starts and where it ends."""
    found = ET.fromstring(str(svg)).find(f".//*[@id='{ident}']")
    numbers = [float(n) for path in found.iter(f"{SVG}path") for n in NUMBER.findall(path.get("d"))]
    points = list(zip(numbers[0::2], numbers[1::2], strict=True))
    ends = []
    for x in (min(p[0] for p in points), max(p[0] for p in points)):
        ys = [y for px, y in points if px == x]
        ends.append((x, max(ys) - min(ys)))
    return ends[0], ends[1]


def _texts(svg: str, prefix: str) -> dict[str, str]:
    """id -> text of the labels whose id starts with `prefix`."""
    root = ET.fromstring(str(svg))
    return {
        group.get("id"): "".join(group.find(f"{SVG}text").itertext())
        for group in root.iter()
        if (group.get("id") or "").startswith(prefix)
    }


NUMBER = re.compile(r"-?\d+(?:\.\d+)?")


def test_bar_chart_escapes_and_shortens_labels():
    svg = bar_chart([("<b>x</b>" + "y" * 40, 3, "tip <i>"), ("$x$", 1, "t")], label="L", key="k")
    assert "<b>" not in svg and "&lt;b&gt;" in svg and "<title>tip &lt;i&gt;</title>" in svg
    labels = _texts(svg, "k-label-")
    assert labels["k-label-0"].endswith("…") and labels["k-label-0"].startswith("<b>x</b>yy")
    assert labels["k-label-1"] == "$x$"  # as written, not mathtext
    widths = [_box(svg, f"k-bar-{i}")[2] - _box(svg, f"k-bar-{i}")[0] for i in (0, 1)]
    assert widths[0] == pytest.approx(3 * widths[1])
    # Inline markup: no prolog, no script, no clipping or style that could reach the page.
    assert svg.startswith("<svg ") and 'role="img"' in svg and 'aria-label="L"' in svg
    for absent in ("<?xml", "<!DOCTYPE", "<script", "<style", "url(", "<metadata"):
        assert absent not in svg
    assert str(bar_chart([("a", 1, "t")], label="L")) == str(bar_chart([("a", 1, "t")], label="L"))
    assert bar_chart([], label="L") == ""


def test_stacked_shares_add_up_to_the_whole_bar():
    svg = stacked_shares([("kratom", [2, 1, 1])], CERTAINTY, label="L", key="s")
    boxes = [_box(svg, f"s-0-{column}") for column in range(3)]
    widths = [x1 - x0 for x0, _, x1, _ in boxes]
    assert widths[0] == pytest.approx(2 * widths[1]) == pytest.approx(2 * widths[2])
    assert boxes[0][2] == pytest.approx(boxes[1][0]) and boxes[1][2] == pytest.approx(boxes[2][0])
    assert "50%" in svg and "<title>kratom: hedged 1 of 4 (25%)</title>" in svg
    assert all(name in svg for name in ("asserted", "hedged", "negated"))  # the legend
    marked = stacked_shares([("<b>x</b>", [1, 0, 0])], CERTAINTY, label="L")
    assert "<b>" not in marked and "&lt;b&gt;x&lt;/b&gt;" in marked


def _sankey_nodes(svg: str) -> dict[str, tuple[float, float, float, float]]:
    """label text -> the box of its node."""
    return {
        text: _box(svg, ident.replace("-label-", "-node-"))
        for ident, text in _texts(svg, "sankey-label-").items()
    }


def test_sankey_bands_keep_their_weight_through_all_three_columns():
    flows = [
        Flow("mdma", "serotonin", "mood", 4),
        Flow("mdma", "serotonin", "sleep", 2),
        Flow("kratom", "opioid receptors", "pain", 2),
    ]
    svg = str(sankey(flows, label="L"))
    nodes = {text: y1 - y0 for text, (_, y0, _, y1) in _sankey_nodes(svg).items()}
    assert set(nodes) == {
        *("mdma (6)", "kratom (2)", "serotonin (6)", "opioid receptors (2)"),
        *("mood (4)", "sleep (2)", "pain (2)"),
    }
    assert nodes["mdma (6)"] == pytest.approx(3 * nodes["kratom (2)"])
    assert nodes["serotonin (6)"] == pytest.approx(nodes["mdma (6)"])
    assert nodes["mood (4)"] == pytest.approx(2 * nodes["sleep (2)"])
    for i, flow in enumerate(flows):  # one band per flow, as thick at both ends
        (_, start), (_, end) = _ends(svg, f"sankey-band-{i}")
        assert start == pytest.approx(end) == pytest.approx(nodes["kratom (2)"] * flow.weight / 2)
    assert set(_texts(svg, "sankey-heading-").values()) == {"substance", "target", "effect"}
    assert sankey([], label="L") == ""
    marked = str(sankey([Flow("<b>k</b>", "<i>t</i>", "$x$", 1)], label="<L>"))
    assert "<b>" not in marked and "<i>" not in marked and "&lt;b&gt;k&lt;/b&gt;" in marked
    assert 'aria-label="&lt;L&gt;"' in marked and ">$x$ (1)</text>" in marked
    assert "<title>&lt;b&gt;k&lt;/b&gt; → &lt;i&gt;t&lt;/i&gt; → $x$: 1</title>" in marked


def test_sankey_flows_without_a_target_go_from_substance_to_effect():
    flows = [
        Flow("mdma", "serotonin", "mood", 4),
        Flow("mdma", None, "depression", 2),  # no target: substance -> effect
        Flow("kratom", "opioid receptors", None, 2),  # no effect: ends at the target
    ]
    svg = str(sankey(flows, label="L"))
    assert "named" not in svg  # no "(no target named)" node, nor "(no effect named)"
    boxes = _sankey_nodes(svg)
    assert set(boxes) == {
        *("mdma (6)", "kratom (2)", "serotonin (4)", "opioid receptors (2)"),
        *("mood (4)", "depression (2)"),
    }
    tall = {text: y1 - y0 for text, (_, y0, _, y1) in boxes.items()}
    assert tall["mdma (6)"] == pytest.approx(3 * tall["kratom (2)"])
    assert tall["mood (4)"] == pytest.approx(2 * tall["depression (2)"])
    # The band runs from the substance's node to the effect's, one shape, its weight kept.
    (x0, start), (x1, end) = _ends(svg, "sankey-band-1")
    assert x0 == pytest.approx(boxes["mdma (6)"][2]) and x1 == pytest.approx(
        boxes["depression (2)"][0]
    )
    assert start == pytest.approx(end) == pytest.approx(tall["depression (2)"])
    band = ET.fromstring(svg).find(".//*[@id='sankey-band-1']")
    assert "".join(p.get("d") for p in band.iter(f"{SVG}path")).count("M") == 1
    # It passes the target column below the targets' nodes.
    target_x = boxes["serotonin (4)"][0]
    d = "".join(p.get("d") for p in band.iter(f"{SVG}path"))
    numbers = [float(n) for n in NUMBER.findall(d)]
    through = [y for x, y in zip(numbers[0::2], numbers[1::2], strict=True) if x == target_x]
    assert through and min(through) > max(
        boxes[t][3] for t in ("serotonin (4)", "opioid receptors (2)")
    )
    # The flow without an effect ends at its target.
    (_, _), (x1, end) = _ends(svg, "sankey-band-2")
    assert x1 == pytest.approx(boxes["opioid receptors (2)"][0]) and end == pytest.approx(
        tall["opioid receptors (2)"]
    )
    # No target at all: two columns, no heading for targets.
    direct = str(sankey([Flow("mdma", None, "mood", 1), Flow("lsd", None, "mood", 2)], label="L"))
    assert set(_texts(direct, "sankey-heading-").values()) == {"substance", "effect"}
    assert "sankey-node-1-" not in direct


@pytest.mark.slow
def test_the_report_renders_in_chromium_without_errors(reported_run, browser):
    out, summary = reported_run
    page = open_report(browser, out / "report.html")
    assert page.problems == []
    assert page.requests == [(out / "report.html").as_uri()]  # nothing else is fetched
    assert page.evaluate("window.__xss") is None
    assert summary.run_id in page.locator("h1").inner_text()
    # Charts drew: bars with a width, a diagram with bands.
    assert page.locator("#substances svg path").count() > 5
    assert page.locator("#diagram svg path").count() >= 4
    box = page.locator("#diagram svg").bounding_box()
    assert box["width"] > 600 and box["height"] > 300
    assert "mdma" in page.locator("#substances").inner_text()
    assert "Empty" in page.locator("#failures").inner_text()
    layout = report_layout().check_layout(page)
    assert layout.problems == [] and layout.labels > 3 and layout.bands >= 2
    SCREENSHOT.parent.mkdir(exist_ok=True)
    page.screenshot(path=str(SCREENSHOT), full_page=True)
    assert SCREENSHOT.stat().st_size > 50_000
    page.close()


def report_layout():
    """benchmarks/report_layout.py, whose `check_layout` measures a report in Chromium."""
    path = PROJECT_DIR / "benchmarks" / "report_layout.py"
    spec = importlib.util.spec_from_file_location("report_layout", path)
    module = sys.modules.setdefault("report_layout", importlib.util.module_from_spec(spec))
    spec.loader.exec_module(module)
    return module


def _crowded_flows() -> list[dict]:
    """40 claims of long names and weights from 1 to 400, a third without a target."""
    long = " with a name far too long to show in full"
    substances = [f"substance {n}{long[: 6 * n]}" for n in range(10)]
    substances += ["<script>window.__xss='diagram'</script>", "$x^2$ \\frac{a}{b}"]
    targets = [f"target {n}" + " receptor" * n for n in range(9)]
    effects = [f"effect {n}" + " long effect name" * (n % 5) for n in range(13)]
    rows = []
    for n in range(40):
        target = None if n % 3 == 0 else targets[n * 7 % len(targets)]
        effect = None if n % 11 == 5 and target else effects[n * 5 % len(effects)]
        rows.append(
            dict(
                substance=substances[n * 5 % len(substances)],
                target=target,
                effect=effect,
                n_sentences=400 if n in (1, 4) else 1 + n % 3,
                n_articles=1,
                hedged_share=0.5,
            )
        )
    return rows


@pytest.mark.slow
def test_no_label_of_the_diagram_overlaps_in_chromium(hand_tables, browser, tmp_path):
    data = collect(hand_tables)
    data.flows = _crowded_flows()
    data.charts = html_report._charts(data)
    report = tmp_path / "report.html"
    report.write_text(html_report.render(data))
    page = open_report(browser, report, width=1100)
    assert page.problems == [] and page.requests == [report.as_uri()]
    assert page.evaluate("window.__xss") is None
    layout = report_layout().check_layout(page)
    assert layout.problems == []
    assert layout.bands == 40  # one per claim
    labels = page.locator("[id^='sankey-label-'] text")
    assert layout.labels == labels.count() + 3  # and the three headings
    texts = labels.all_text_contents()
    assert any(text.startswith("<script>") for text in texts)  # as text
    assert any(text.startswith("$x^2$") for text in texts)  # as written
    assert any("…" in text for text in texts)  # shortened, the full name in the tooltip
    assert not any("named" in text for text in texts)  # no placeholder node
    assert page.locator("#sankey-band-0 > title").count() == 1
    box = page.locator("#diagram svg").bounding_box()
    assert box["height"] > 40 * 12  # grown with the busiest column
    DIAGRAM_SCREENSHOT.parent.mkdir(exist_ok=True)
    page.locator("#diagram").screenshot(path=str(DIAGRAM_SCREENSHOT))
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
    page = open_report(browser, report, width=1200)
    assert page.problems == [] and page.requests == [report.as_uri()]
    rows = page.locator("#contested tbody tr")
    assert rows.count() == len(HAND_CONTESTED)
    cells = rows.first.locator("td").all_inner_texts()
    assert cells[:4] == ["kratom", "anxiety (effect)", "3", "2"]
    assert cells[4:8] == ["33%", "33%", "0%", "33%"]  # benefit, harm, no effect, hedged
    assert "two different articles disagree" in page.inner_text("#contested")
    # The strength charts drew, and the flag is explained where it is shown.
    assert page.locator("#strength svg").count() == 2
    assert page.locator("#strength svg [id^='strength-bar-'] path").count() >= 4
    assert page.inner_text("#flagged-count") == "2"
    assert page.locator("#flagged tbody tr").count() == 2
    assert "observational" in page.get_attribute("#flagged .flag", "title")
    box = page.locator("#contested table").bounding_box()
    assert box["width"] <= 1200  # the table fits the page
    HAND_SCREENSHOT.parent.mkdir(exist_ok=True)
    page.locator("#strength").screenshot(path=str(HAND_SCREENSHOT))
    page.close()
