"""A run's summary as Markdown: what an analyst reads in the Prefect UI after a scheduled run.

Plain text in, plain text out, so the flow publishes it as an artifact and tests read it
without Prefect. Every value from the corpus (sources, error messages, substance names) is
escaped: an article cannot inject links, HTML or table cells into the report.
"""

from __future__ import annotations

import re

from pipeline.storage.run_summary import RunSummary


def escape_cell(value: object, limit: int = 160, in_table: bool = True) -> str:
    """`value` as literal one-line text: a code span, which Markdown never turns into a link,
    emphasis or HTML. In a table, pipes are escaped too (GFM splits cells on them even
    inside code spans)."""
    text = " ".join(str(value).split())
    if len(text) > limit:
        text = text[: limit - 1] + "…"
    if not text:
        return ""
    if in_table:  # a backslash right before a pipe would escape our escape
        text = text.replace("\\|", "\\ |").replace("|", "\\|")
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    fence = "`" * (longest + 1)
    padding = " " if text.startswith("`") or text.endswith("`") else ""
    return f"{fence}{padding}{text}{padding}{fence}"


def run_markdown(summary: RunSummary, top_substances: int = 20) -> str:
    """Counts, failures and new claims by substance of one run, as a Markdown document."""
    lines = [
        f"# Claims run {escape_cell(summary.run_id, in_table=False)}",
        "",
        f"**Status: {summary.status}** · pipeline "
        + escape_cell(summary.pipeline_version, in_table=False),
        "",
        f"Corpus: {escape_cell(summary.corpus, 300, in_table=False)}  ",
        f"Tables: {escape_cell(summary.out_dir, 300, in_table=False)}  ",
        "HTML report: "
        + (
            escape_cell(summary.report, 300, in_table=False)
            if summary.report
            else "not written (see the run's log)"
        ),
        "",
        "| | this run |",
        "|---|---:|",
    ]
    counts = [
        ("documents seen", f"{summary.seen:,}"),
        ("processed (new or changed)", f"{summary.processed:,}"),
        ("skipped: unchanged", f"{summary.skipped - summary.duplicates:,}"),
        ("skipped: duplicate of another source (`duplicates` table)", f"{summary.duplicates:,}"),
        ("failed", f"{summary.failed:,}"),
        ("sentences", f"{summary.sentences:,}"),
        ("claims written", f"{summary.claims:,}"),
        ("new claims", f"{summary.new_claims:,}"),
        ("words", f"{summary.words:,}"),
        ("time", f"{summary.seconds:,.1f} s"),
        ("words per second", f"{summary.words_per_second:,.0f}"),
    ]
    lines += [f"| {label} | {value} |" for label, value in counts]
    lines += ["", "## Failures", ""]
    if not summary.failed:
        lines.append("None.")
    else:
        lines += ["| error type | articles |", "|---|---:|"]
        for kind, number in sorted(summary.errors_by_type.items(), key=lambda kv: (-kv[1], kv[0])):
            lines.append(f"| {escape_cell(kind)} | {number:,} |")
        shown = summary.failure_examples
        lines += [
            "",
            f"First {len(shown)} of {summary.failed:,} (all are in the `errors` table):",
            "",
            "| source | error | message |",
            "|---|---|---|",
        ]
        for source, kind, message in shown:
            cells = (escape_cell(source), escape_cell(kind), escape_cell(message))
            lines.append("| " + " | ".join(cells) + " |")
    lines += ["", "## New claims by substance", ""]
    by_substance = sorted(
        summary.new_claims_by_substance.items(), key=lambda kv: (-kv[1], str(kv[0]))
    )
    if not by_substance:
        lines.append("No new claims in this run.")
    else:
        lines += ["| substance | new claims |", "|---|---:|"]
        for substance, number in by_substance[:top_substances]:
            name = escape_cell(substance) if substance else "(unnormalised)"
            lines.append(f"| {name} | {number:,} |")
        rest = by_substance[top_substances:]
        if rest:
            lines += [
                "",
                f"… and {len(rest):,} more substances ({sum(n for _, n in rest):,} claims).",
            ]
    return "\n".join(lines) + "\n"
