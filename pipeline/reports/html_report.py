"""The run report: one self-contained HTML page an analyst opens after a run.

`write_report(out_dir)` reads the folder's published tables (through `pipeline.storage.tables`, so
the same checks apply) and writes `out_dir/report.html`: the run's counts, the claims per
substance and how hedged they are, how strongly they are stated (Yu et al.'s scheme) and the
causal claims that rest on observational evidence only, the top targets and effects, a
substance -> target -> effect diagram of the most frequent claims, the most stated claims with
an example sentence, the claims articles disagree on (`claim_summary.contested`), the study
designs cited and who is quoted, and the run's failures. The runner writes it at the end of
every run; `claims report` rebuilds it.

`claim_summary` holds one row per claim (`level` claim) plus rows that aggregate a substance
and an effect, or a substance and a target, across the rest (`level` effect, target): counts
and lists of claims read the claim rows only (`CLAIM_LEVEL`).

Charts are static SVG that matplotlib draws when the report is built, inlined in the page
(`pipeline.reports.charts`); the page has no script and loads nothing: its
Content-Security-Policy forbids any fetch, so it reads the same offline, in a mail or an
archive. Every value from the corpus goes through Jinja's autoescaping, or is escaped in the
SVG. In the diagram, a claim without a target goes from its substance to its effect.
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

from pipeline.nlp.evidence import STUDY_DESIGNS
from pipeline.nlp.strength import FLAG_EXPLANATION, STRENGTHS
from pipeline.reports.charts import PALETTE, Category, Flow, bar_chart, sankey, stacked_shares
from pipeline.storage import tables
from pipeline.storage.claim_summary import CONTESTED_EXPLANATION
from pipeline.storage.run_summary import RunSummary
from pipeline.storage.schemas import SCHEMA_VERSION
from pipeline.storage.sources import shown_source

REPORT_NAME = "report.html"
TOP_SUBSTANCES = 15
TOP_TERMS = 12
TOP_FLOWS = 20
TOP_CLAIMS = 15
MAX_FAILURES = 20
MAX_FLAGGED = 10
MAX_CONTESTED = 30
MAX_DUPLICATES = 50

CERTAINTY = (
    Category("asserted", PALETTE[0]),
    Category("hedged", PALETTE[1]),
    Category("negated", PALETTE[3]),
)
# Claim strength, weakest first (`claims.strength`); rows written before schema version 10
# have none ("not recorded").
NOT_RECORDED = "not recorded"
_STRENGTH_COLOURS = {
    "none": PALETTE[9],
    "correlational": PALETTE[4],
    "conditional_causal": PALETTE[1],
    "direct_causal": PALETTE[3],
}
STRENGTH = tuple(Category(name.replace("_", " "), _STRENGTH_COLOURS[name]) for name in STRENGTHS)
STRENGTH_EXAMPLES = {
    "none": "no relationship stated",
    "correlational": "“was linked to”",
    "conditional_causal": "“may reduce”",
    "direct_causal": "“reduces”",
}
# A claim_summary row that is one claim (rows written before schema version 10 have no level
# and are all claims).
CLAIM_LEVEL = "coalesce(level, 'claim') = 'claim'"
# The contested rows the report lists: effect and target rows, and a claim row only when it
# names both a target and an effect (one naming only one is its effect or target row, or a
# part of it, and is contested only if that row is).
CONTESTED_ROWS = (
    "coalesce(contested, false) and (level in ('effect', 'target') or "
    f"({CLAIM_LEVEL} and target is not null and effect is not null))"
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
    evidence: list[dict]  # kind (a study design), claims
    attribution: list[dict]  # kind (an attribution class, or "nobody named"), claims
    strength: dict[str, int]  # strength (or NOT_RECORDED) -> claims
    strength_by_substance: dict[tuple[str, str], int]  # (substance, strength) -> claims
    flagged: list[dict]  # claims flagged causal_from_observational (the first MAX_FLAGGED)
    contested: list[dict]  # contested claim_summary rows, effect and target level first
    flows: list[dict]  # claim-level claim_summary rows for the diagram
    top_claims: list[dict]  # claim-level claim_summary rows
    failures_by_type: list[dict]  # error_type, n
    failures: list[dict]  # source, error_type, message
    # sources the run skipped as exact duplicates (the first MAX_DUPLICATES): source,
    # kept_source (both as `shown_source` gives them), title; `totals` counts them all
    duplicates: list[dict] = field(default_factory=list)
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
        f"""
        select (select count(*) from documents) as documents,
               (select count(*) from sentences) as sentences,
               (select count(*) from claims) as claims,
               (select count(distinct substance_norm) from claims) as substances,
               (select count(*) from claim_summary where {CLAIM_LEVEL}) as distinct_claims,
               (select count(*) from claims where causal_from_observational) as flagged,
               (select count(*) from claim_summary where {CONTESTED_ROWS}) as contested,
               (select count(*) from claim_summary
                where level in ('effect', 'target') and n_articles >= 2) as shared_rows,
               (select count(*) from cues where kind = 'hedge') as hedge_cues,
               (select count(*) from cues where kind = 'negation') as negation_cues,
               (select count(*) from errors) as errors,
               (select count(*) from duplicates) as duplicates,
               (select count(*) from duplicates where run_id = ?) as run_duplicates,
               (select count(*) from runs) as runs
        """,
        run_row.get("run_id"),
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
    design_rank = " ".join(f"when '{d}' then {i}" for i, d in enumerate(STUDY_DESIGNS))
    evidence = rows(
        f"""
        select kind, count(*) as claims
        from (select unnest(study_design) as kind from claims)
        group by kind order by claims desc, case kind {design_rank} else 99 end, kind
        """
    )
    attribution = rows(
        """
        select coalesce(attribution_class, 'nobody named') as kind, count(*) as claims
        from claims group by kind
        order by kind = 'nobody named', claims desc, kind
        """
    )
    strength = {
        row["strength"]: row["n"]
        for row in rows(
            f"select coalesce(strength, '{NOT_RECORDED}') as strength, count(*) as n "
            "from claims group by all"
        )
    }
    strength_by_substance = {
        (row["name"], row["strength"]): row["n"]
        for row in rows(
            f"""
            select substance_norm as name, coalesce(strength, '{NOT_RECORDED}') as strength,
                   count(*) as n
            from claims group by all
            """
        )
    }
    flagged = rows(
        """
        select c.claim_id, c.substance, c.substance_norm, c.target_norm, c.effect_norm,
               c.polarity, c.certainty, c.sentence, c.source, c.study_design, c.attribution,
               c.attribution_class, d.title
        from claims c left join documents d on d.doc_id = c.doc_id
        where c.causal_from_observational
        order by c.substance_norm, c.source, c.sentence_start, c.claim_id limit ?
        """,
        MAX_FLAGGED,
    )
    contested = rows(
        f"""
        select * from claim_summary where {CONTESTED_ROWS}
        order by n_articles desc, n_sites desc nulls last,
                 case level when 'effect' then 0 when 'target' then 1 else 2 end,
                 substance, target, effect limit ?
        """,
        MAX_CONTESTED,
    )
    flows = rows(
        f"""
        select substance, target, effect, n_sentences, n_articles, hedged_share
        from claim_summary where {CLAIM_LEVEL} and (target is not null or effect is not null)
        order by n_sentences desc, n_articles desc, substance, target, effect limit ?
        """,
        TOP_FLOWS,
    )
    top_claims = rows(
        f"""
        select * from claim_summary where {CLAIM_LEVEL}
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
    corpora = [row["corpus"] for row in rows("select corpus from runs order by started_at desc")]
    for row in [*flagged, *failures]:  # as the analyst named them: relative to the corpus
        row["source"] = shown_source(row["source"], run_row.get("corpus"), corpora)
    duplicates = [
        {
            **row,
            "source": shown_source(row["source"], run_row.get("corpus"), corpora),
            "kept_source": shown_source(row["kept_source"], run_row.get("corpus"), corpora),
        }
        for row in rows(
            """
            select d.source, d.kept_source, doc.title
            from duplicates d left join documents doc on doc.doc_id = d.doc_id
            where d.run_id = ? order by d.source limit ?
            """,
            run_id,
            MAX_DUPLICATES,
        )
    ]
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
        attribution=attribution,
        strength=strength,
        strength_by_substance=strength_by_substance,
        flagged=flagged,
        contested=contested,
        flows=flows,
        top_claims=top_claims,
        failures_by_type=failures_by_type,
        failures=failures,
        duplicates=duplicates,
        notes=notes,
    )
    data.charts = _charts(data)
    return data


def _charts(data: ReportData) -> dict[str, Markup]:
    def bars(items: list[dict], what: str, colour: str, key: str) -> Markup:
        return bar_chart(
            [
                (
                    item["name"],
                    item["claims"],
                    f"{item['name']}: {count(item['claims'], 'claim')} in "
                    f"{count(item['articles'], 'article')}",
                )
                for item in items
            ],
            label=what,
            colour=colour,
            key=key,
        )

    return {
        "substances": bars(data.substances, "Claims per substance", PALETTE[0], "substances"),
        "certainty": stacked_shares(
            [
                (item["name"], [item["asserted"], item["hedged"], item["negated"]])
                for item in data.substances
            ],
            CERTAINTY,
            label="Asserted, hedged and negated share of each substance's claims",
            key="certainty",
        ),
        "targets": bars(data.targets, "Most frequent targets", PALETTE[4], "targets"),
        "effects": bars(data.effects, "Most frequent effects", PALETTE[2], "effects"),
        "evidence": bar_chart(
            [
                (row["kind"], row["claims"], f"{row['kind']}: {row['claims']:,} claims")
                for row in data.evidence
            ],
            label="Study designs cited by claims",
            colour=PALETTE[6],
            key="evidence",
        ),
        "attribution": bar_chart(
            [
                (row["kind"], row["claims"], f"{row['kind']}: {row['claims']:,} claims")
                for row in data.attribution
            ],
            label="Who makes the claims",
            colour=PALETTE[8],
            key="attribution",
        ),
        "strength": bar_chart(
            [
                (
                    name.replace("_", " "),
                    data.strength.get(name, 0),
                    f"{name} ({STRENGTH_EXAMPLES.get(name, 'written before schema 10')}): "
                    f"{count(data.strength.get(name, 0), 'claim')}",
                )
                for name in strength_names(data)
            ],
            label="Claims by strength",
            colour=[category.colour for category in strength_categories(data)],  # as beside
            key="strength",
        ),
        "strength_by_substance": stacked_shares(
            [
                (
                    item["name"],
                    [
                        data.strength_by_substance.get((item["name"], name), 0)
                        for name in strength_names(data)
                    ],
                )
                for item in data.substances
            ],
            strength_categories(data),
            label="Share of each substance's claims by strength",
            key="strength-shares",
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


def count(number: int, noun: str, plural: str | None = None) -> str:
    """ "1 claim", "2,031 claims": the number and its noun, singular or plural."""
    return f"{number:,} {noun if number == 1 else (plural or noun + 's')}"


_ENVIRONMENT.filters["count"] = count


def strength_names(data: ReportData) -> list[str]:
    """The strengths, weakest first, and NOT_RECORDED when some claims predate them."""
    names = list(STRENGTHS)
    return [*names, NOT_RECORDED] if data.strength.get(NOT_RECORDED) else names


def strength_categories(data: ReportData) -> tuple[Category, ...]:
    if data.strength.get(NOT_RECORDED):
        return (*STRENGTH, Category(NOT_RECORDED, "#dddddd"))
    return STRENGTH


def render(data: ReportData) -> str:
    """The page for `data`."""
    template = _ENVIRONMENT.get_template("report.html")
    return template.render(
        data=data,
        schema_version=SCHEMA_VERSION,
        certainty=CERTAINTY,
        strengths=strength_names(data),
        strength_examples=STRENGTH_EXAMPLES,
        flag_explanation=FLAG_EXPLANATION,
        contested_explanation=CONTESTED_EXPLANATION,
        max_contested=MAX_CONTESTED,
        Markup=Markup,
    )
