"""The Markdown run summary published as a Prefect artifact."""

from __future__ import annotations

from pipeline.reports.run_report import escape_cell, run_markdown
from pipeline.runs.runner import RunSummary


def _summary(**changes) -> RunSummary:
    summary = RunSummary(
        run_id="20261122T020000Z-abc123",
        corpus="/data/corpus",
        out_dir="/data/out",
        pipeline_version="0.2.0",
        seen=12,
        processed=9,
        skipped=1,
        failed=2,
        sentences=340,
        words=5_000,
        seconds=2.0,
        claims=41,
        new_claims=30,
    )
    for name, value in changes.items():
        setattr(summary, name, value)
    return summary


def test_counts_failures_and_new_claims_by_substance():
    summary = _summary(
        errors_by_type={"Empty": 1, "MalformedJSON": 1},
        failure_examples=[("a/empty.txt", "Empty", "no text"), ("b.jsonl#3", "MalformedJSON", "x")],
        new_claims_by_substance={"kratom": 20, "mdma": 10},
    )
    markdown = run_markdown(summary)
    assert "**Status: completed**" in markdown
    for row in (
        "| documents seen | 12 |",
        "| processed (new or changed) | 9 |",
        "| failed | 2 |",
        "| claims written | 41 |",
        "| new claims | 30 |",
        "| words per second | 2,500 |",
        "| `Empty` | 1 |",
        "| `a/empty.txt` | `Empty` | `no text` |",
        "| `kratom` | 20 |",
        "| `mdma` | 10 |",
    ):
        assert row in markdown, row
    assert markdown.index("| `kratom` | 20 |") < markdown.index("| `mdma` | 10 |")


def test_no_failures_and_no_new_claims_are_said_plainly():
    markdown = run_markdown(_summary(failed=0, new_claims=0))
    assert "## Failures\n\nNone." in markdown
    assert "No new claims in this run." in markdown


def test_long_substance_lists_are_cut_with_the_rest_counted():
    counts = {f"substance{i:02d}": 100 - i for i in range(25)}
    markdown = run_markdown(_summary(new_claims_by_substance=counts), top_substances=20)
    assert "| `substance19` | 81 |" in markdown and "substance20" not in markdown
    assert "… and 5 more substances (390 claims)." in markdown


def test_corpus_text_cannot_inject_markup():
    """Rendered as GitHub-flavoured Markdown: no link, script, emphasis or extra cell."""
    from markdown_it import MarkdownIt

    hostile = (
        "x | y <script>alert(1)</script> [link](javascript:alert(1)) **bold** "
        "https://evil.example www.evil.example `tick`\nnext"
    )
    summary = _summary(
        errors_by_type={"Bad": 1},
        failure_examples=[(hostile, "Bad", hostile)],
        new_claims_by_substance={hostile: 1},
    )
    markdown = run_markdown(summary)
    # Values are code spans, where GFM finds no autolink either (markdown-it here has none).
    html = MarkdownIt("commonmark").enable("table").render(markdown)
    assert "<script>" not in html and "<a " not in html and "<strong>bold" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html  # shown, as text
    # the whole value is one cell's code, its pipe included
    assert "<td><code>x | y &lt;script&gt;alert(1)&lt;/script&gt; [link](javascript:" in html
    assert escape_cell("a" * 300, limit=10) == "`" + "a" * 9 + "…`"
