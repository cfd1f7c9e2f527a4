"""The run report: one self-contained HTML page an analyst opens after a run.

`write_report(out_dir)` reads the folder's published tables (through `pipeline.storage.tables`, so
the same checks apply) and writes `out_dir/report.html`: the run's counts, the claims per
substance and how hedged they are, the top targets and effects, a substance -> target ->
effect diagram of the most frequent claims, the most stated claims with an example
sentence, and the run's failures. The runner writes it at the end of every run;
`claims report` rebuilds it.

Charts are SVG drawn here (`pipeline.reports.charts`); the page has no script and loads nothing:
its Content-Security-Policy forbids any fetch, so it reads the same offline, in a mail or
an archive. Every value from the corpus goes through Jinja's autoescaping.
"""

from __future__ import annotations

import os
import uuid
import warnings
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import duckdb as _duckdb
from jinja2 import Environment, PackageLoader, select_autoescape
from markupsafe import Markup

from pipeline.reports.charts import PALETTE, Category, Flow, bar_chart, sankey, stacked_shares
from pipeline.storage import tables
from pipeline.storage.run_summary import RunSummary
from pipeline.storage.schemas import SCHEMA_VERSION

REPORT_NAME = "report.html"
TOP_SUBSTANCES = 15
TOP_TERMS = 12
TOP_FLOWS = 20
TOP_CLAIMS = 15
MAX_FAILURES = 20

CERTAINTY = (
    Category("asserted", PALETTE[0]),
    Category("hedged", PALETTE[1]),
    Category("negated", PALETTE[3]),
)

_ENVIRONMENT = Environment(
    loader=PackageLoader("pipeline.reports", "templates"),
    autoescape=select_autoescape(["html"]),
    trim_blocks=True,
    lstrip_blocks=True,
)


@dataclass
class ReportData:
    """Everything the page shows, computed from one snapshot of the tables."""

    out_dir: str
    generated_at: datetime
    run: dict  # the `runs` row of the reported run ({} when none finished)
    summary: RunSummary | None  # the run's own summary when the runner writes the report
    totals: dict[str, int]
    certainty: dict[str, int]
    substances: list[dict]  # substance, claims, articles, asserted, hedged, negated
    targets: list[dict]  # name, claims, articles
    effects: list[dict]
    evidence: list[dict]  # kind, claims
    flows: list[dict]  # claim_summary rows for the diagram
    top_claims: list[dict]  # claim_summary rows
    failures_by_type: list[dict]  # error_type, n
    failures: list[dict]  # source, error_type, message
    notes: list[str] = field(default_factory=list)  # warnings about the tables
    charts: dict[str, Markup] = field(default_factory=dict)


def write_report(
    out_dir: Path | str,
    summary: RunSummary | None = None,
    path: Path | str | None = None,
) -> Path:
    """Build the report and write it atomically (a reader never sees half a page)."""
    out_dir = Path(out_dir)
    target = Path(path) if path is not None else out_dir / REPORT_NAME
    html = render(collect(out_dir, summary))
    target.parent.mkdir(parents=True, exist_ok=True)
    temporary = target.with_name(f".{target.name}.{uuid.uuid4().hex[:8]}.tmp")
    temporary.write_text(html, encoding="utf-8")
    os.replace(temporary, target)
    return target


def collect(out_dir: Path | str, summary: RunSummary | None = None) -> ReportData:
    """The figures of the report, from the folder's current snapshot.

    The reported run is `summary`'s when given, else the latest finished run.
    """
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        con = tables.duckdb(out_dir)
    try:
        return _collect(con, str(out_dir), summary, [str(w.message) for w in caught])
    finally:
        con.close()


def _collect(
    con: _duckdb.DuckDBPyConnection, out_dir: str, summary: RunSummary | None, notes: list[str]
) -> ReportData:
    def rows(sql: str, *parameters: object) -> list[dict]:
        relation = con.execute(sql, list(parameters))
        names = [column[0] for column in relation.description]
        return [dict(zip(names, row, strict=True)) for row in relation.fetchall()]

    if summary is not None:
        run = rows("select * from runs where run_id = ?", summary.run_id)
    else:
        run = rows("select * from runs order by started_at desc limit 1")
    run_row = run[0] if run else {}
    totals = rows(
        """
        select (select count(*) from documents) as documents,
               (select count(*) from sentences) as sentences,
               (select count(*) from claims) as claims,
               (select count(distinct substance_norm) from claims) as substances,
               (select count(*) from claim_summary) as distinct_claims,
               (select count(*) from cues where kind = 'hedge') as hedge_cues,
               (select count(*) from cues where kind = 'negation') as negation_cues,
               (select count(*) from errors) as errors,
               (select count(*) from runs) as runs
        """
    )[0]
    certainty = {
        row["certainty"]: row["n"]
        for row in rows("select certainty, count(*) as n from claims group by certainty")
    }
    substances = rows(
        """
        select substance_norm as name, count(*) as claims,
               count(distinct doc_id) as articles,
               count(*) filter (where certainty = 'asserted') as asserted,
               count(*) filter (where certainty = 'hedged') as hedged,
               count(*) filter (where certainty = 'negated') as negated
        from claims group by substance_norm
        order by claims desc, name limit ?
        """,
        TOP_SUBSTANCES,
    )
    terms = {
        role: rows(
            f"""
            select {role}_norm as name, count(*) as claims, count(distinct doc_id) as articles
            from claims where {role}_norm is not null group by {role}_norm
            order by claims desc, name limit ?
            """,
            TOP_TERMS,
        )
        for role in ("target", "effect")
    }
    evidence = rows(
        """
        select kind, count(*) as claims
        from (select unnest(study_design) as kind from claims)
        group by kind order by claims desc, kind
        """
    )
    flows = rows(
        """
        select substance, target, effect, n_sentences, n_articles, hedged_share
        from claim_summary where target is not null or effect is not null
        order by n_sentences desc, n_articles desc, substance, target, effect limit ?
        """,
        TOP_FLOWS,
    )
    top_claims = rows(
        """
        select * from claim_summary
        order by n_articles desc, n_sentences desc, substance, target, effect limit ?
        """,
        TOP_CLAIMS,
    )
    run_id = run_row.get("run_id")
    failures_by_type = rows(
        "select error_type, count(*) as n from errors where run_id = ? "
        "group by error_type order by n desc, error_type",
        run_id,
    )
    failures = rows(
        "select source, error_type, message from errors where run_id = ? order by source limit ?",
        run_id,
        MAX_FAILURES,
    )
    data = ReportData(
        out_dir=out_dir,
        generated_at=datetime.now(UTC),
        run=run_row,
        summary=summary,
        totals=totals,
        certainty=certainty,
        substances=substances,
        targets=terms["target"],
        effects=terms["effect"],
        evidence=evidence,
        flows=flows,
        top_claims=top_claims,
        failures_by_type=failures_by_type,
        failures=failures,
        notes=notes,
    )
    data.charts = _charts(data)
    return data


def _charts(data: ReportData) -> dict[str, Markup]:
    def bars(items: list[dict], what: str, colour: str) -> Markup:
        return bar_chart(
            [
                (
                    item["name"],
                    item["claims"],
                    f"{item['name']}: {item['claims']:,} claims in {item['articles']:,} articles",
                )
                for item in items
            ],
            label=what,
            colour=colour,
        )

    return {
        "substances": bars(data.substances, "Claims per substance", PALETTE[0]),
        "certainty": stacked_shares(
            [
                (item["name"], [item["asserted"], item["hedged"], item["negated"]])
                for item in data.substances
            ],
            CERTAINTY,
            label="Asserted, hedged and negated share of each substance's claims",
        ),
        "targets": bars(data.targets, "Most frequent targets", PALETTE[4]),
        "effects": bars(data.effects, "Most frequent effects", PALETTE[2]),
        "evidence": bar_chart(
            [
                (row["kind"], row["claims"], f"{row['kind']}: {row['claims']:,} claims")
                for row in data.evidence
            ],
            label="Evidence cited by claims",
            colour=PALETTE[6],
        ),
        "flows": sankey(
            [
                Flow(
                    substance=row["substance"],
                    target=row["target"],
                    effect=row["effect"],
                    weight=row["n_sentences"],
                    tooltip=(
                        f"{row['substance']} → {row['target'] or 'no target named'} → "
                        f"{row['effect'] or 'no effect named'}: {row['n_sentences']:,} "
                        f"sentences in {row['n_articles']:,} articles, "
                        f"{row['hedged_share']:.0%} hedged"
                    ),
                )
                for row in data.flows
            ],
            label="Substance to target to effect, most frequent claims",
        ),
    }


def render(data: ReportData) -> str:
    """The page for `data`."""
    template = _ENVIRONMENT.get_template("report.html")
    return template.render(
        data=data, schema_version=SCHEMA_VERSION, certainty=CERTAINTY, Markup=Markup
    )
