"""The corpus-wide view of the claims: one row per normalised (substance, target, effect),
plus one per (substance, effect) and per (substance, target) whatever the rest (`level`).

`claims` holds what each sentence says; a reader asking "what does the corpus claim about
kratom?" wants those rows grouped: how many articles say kratom acts on the mu-opioid
receptor, how often hedged, since when, where, and one sentence to read. And whether the corpus
agrees with itself: the share of articles asserting a benefit, a harm, no effect or hedging,
stating it causally or as an association, the strongest study design cited, the distinct
sites saying it (one outlet's repeats count once), and `contested` when articles disagree on
polarity or on negation. This module
computes that table (`claim_summary`, schema in `pipeline.storage.schemas`) with DuckDB, which
streams the Parquet parts instead of loading whole tables into memory.

The table is derived, never edited: every commit of a run (checkpoints and the end)
recomputes it from the claims and documents that commit publishes, in the same snapshot.
"""

from __future__ import annotations

import hashlib
import re
from datetime import datetime
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.dataset as ds

from pipeline.nlp.evidence import STUDY_DESIGNS
from pipeline.storage.schemas import CLAIM_SUMMARY, CLAIMS, DOCUMENTS, columns

MAX_MECHANISMS = 5
# What `contested` means, in the words the report and the review app show.
CONTESTED_EXPLANATION = (
    "Contested: two different articles disagree about it, one asserting a benefit and another "
    "a harm, or one asserting it and another denying it (“did not reduce”). Hedged statements "
    "count as neither; one article contradicting itself is no dispute. A claim is contested "
    "when the row of its substance and effect, or of its substance and target, is."
)
LEVELS = ("claim", "effect", "target")
_DESIGN_RANK_SQL = (
    "case kind "
    + " ".join(f"when '{design}' then {rank}" for rank, design in enumerate(STUDY_DESIGNS))
    + " end"
)
_DESIGN_NAME_SQL = "[" + ", ".join(f"'{design}'" for design in STUDY_DESIGNS) + "]"
# The site of an article: its URL's host (inside a web.archive.org address, the archived
# page's), without "www."; an article without a URL is a site of its own. One pattern for
# DuckDB here and for Python (`site_of`, the review app).
SITE_PATTERN = r"^(?:[a-z]+://)?(?:web\.archive\.org/web/[^/]+/)?(?:[a-z]+://)?(?:www\.)?([^/:?#]+)"
_SITE_RE = re.compile(SITE_PATTERN)
_SITE_SQL = (
    f"coalesce(nullif(regexp_extract(lower(d.url), '{SITE_PATTERN}', 1), ''), 'doc:' || c.doc_id)"
)


def site_of(url: str | None) -> str | None:
    """The site of an article's URL as `claim_summary.n_sites` counts it (lower-case host,
    without "www.", the archived page's inside web.archive.org); None without a URL."""
    if not isinstance(url, str) or not url:
        return None
    match = _SITE_RE.match(url.lower())
    return match.group(1) if match and match.group(1) else None


# Columns read from the source tables (projection keeps the scan small).
_CLAIM_COLUMNS = columns(
    "claims",
    "claim_id",
    "doc_id",
    "source",
    "sentence_id",
    "sentence",
    "substance_norm",
    "substance_id",
    "target_norm",
    "target_id",
    "effect_norm",
    "effect_id",
    "mechanism",
    "hedged",
    "negated",
    "certainty",
    "study_design",
    "template",
    "polarity",
    "strength",
    "causal_from_observational",
)
_DOCUMENT_COLUMNS = columns("documents", "doc_id", "date", "processed_at", "url")

# A sentence found verbatim (case and spacing aside) in several articles is one statement:
# a site's boilerplate or a syndicated paragraph counts once in `n_articles` and
# `n_sentences`, however many pages repeat it.
_SUMMARY_SQL = f"""
with keyed as (
    select c.claim_id, c.doc_id, c.source, c.sentence_id, c.sentence,
           c.substance_norm as substance, c.target_norm as target, c.effect_norm as effect,
           c.substance_id, c.target_id, c.effect_id,
           nullif(lower(trim(c.mechanism)), '') as mechanism,
           c.hedged, c.negated, c.certainty, c.study_design,
           coalesce(c.template, false) as template,
           c.polarity, c.strength, coalesce(c.causal_from_observational, false) as flagged,
           lower(regexp_replace(trim(c.sentence), '\\s+', ' ', 'g')) as sentence_key,
           d.date as published, d.processed_at, {_SITE_SQL} as site
    from claims c left join documents d on d.doc_id = c.doc_id
),
repeated as (
    select sentence_key from keyed group by sentence_key having count(distinct doc_id) > 1
),
base as (
    select k.*, r.sentence_key is not null as repeated,
           case when r.sentence_key is not null then 'repeated:' || k.sentence_key
                else k.doc_id end as article_unit,
           case when r.sentence_key is not null then 'repeated:' || k.sentence_key
                else k.sentence_id end as sentence_unit
    from keyed k left join repeated r on r.sentence_key = k.sentence_key
),
c as (
    select 'claim' as level, * from base
    union all
    select 'effect' as level, * replace (null::varchar as target, null::varchar as target_id)
    from base where effect is not null
    union all
    select 'target' as level, * replace (null::varchar as effect, null::varchar as effect_id)
    from base where target is not null
),
article_stances as (
    select level, substance, target, effect, article_unit, any_value(site) as site,
           bool_or(polarity = 'benefit' and certainty = 'asserted') as benefit,
           bool_or(polarity = 'harm' and certainty = 'asserted') as harm,
           bool_or(certainty = 'asserted') as asserts,
           bool_or(certainty = 'negated') as denies,
           bool_or(hedged) as hedges,
           bool_or(strength in ('direct_causal', 'conditional_causal')) as causal,
           bool_or(strength = 'correlational') as correlational
    from c group by level, substance, target, effect, article_unit
),
agreement as (
    select level, substance, target, effect,
           count(*) as articles,
           count(distinct site)::integer as n_sites,
           count(*) filter (where benefit) as benefit,
           count(*) filter (where harm) as harm,
           count(*) filter (where denies) as denies,
           count(*) filter (where hedges) as hedges,
           count(*) filter (where causal) as causal,
           count(*) filter (where correlational) as correlational,
           -- two different articles disagree: one asserts a benefit and another a harm, or
           -- one asserts the claim and another denies it
           (count(*) filter (where benefit) > 0 and count(*) filter (where harm) > 0
                and count(*) filter (where benefit or harm) >= 2)
           or (count(*) filter (where asserts) > 0 and count(*) filter (where denies) > 0
                and count(*) filter (where asserts or denies) >= 2) as contested
    from article_stances group by level, substance, target, effect
),
designs as (
    select level, substance, target, effect,
           {_DESIGN_NAME_SQL}[min({_DESIGN_RANK_SQL}) + 1] as strongest_design
    from (select level, substance, target, effect, unnest(study_design) as kind from c)
    group by level, substance, target, effect
),
totals as (
    select level, substance, target, effect,
           -- a name has one id; max() only picks it from the rows that carry it
           max(substance_id) as substance_id,
           max(target_id) as target_id,
           max(effect_id) as effect_id,
           count(distinct article_unit)::integer as n_articles,
           count(distinct sentence_unit)::integer as n_sentences,
           count(*)::integer as n_claims,
           count(*) filter (where template)::integer as n_template,
           count(*) filter (where repeated)::integer as n_repeated,
           count(*) filter (where hedged)::integer as n_hedged,
           count(*) filter (where negated)::integer as n_negated,
           count(*) filter (where certainty = 'asserted')::integer as n_asserted,
           count(*) filter (where flagged)::integer as n_causal_from_observational,
           min(processed_at) as first_seen,
           max(processed_at) as last_seen,
           min(published) as first_published,
           max(published) as last_published,
           list(distinct source order by source) as sources,
           arg_min(claim_id, (length(sentence), claim_id)) as example_claim_id,
           arg_min(sentence, (length(sentence), claim_id)) as example_sentence,
           arg_min(source, (length(sentence), claim_id)) as example_source
    from c
    group by level, substance, target, effect
),
mechanism_counts as (
    select level, substance, target, effect, mechanism, count(*) as n
    from c where mechanism is not null
    group by level, substance, target, effect, mechanism
),
mechanisms as (
    select level, substance, target, effect,
           list(mechanism order by n desc, mechanism)[1:{MAX_MECHANISMS}] as mechanisms
    from mechanism_counts group by level, substance, target, effect
),
evidence_counts as (
    select level, substance, target, effect, kind, count(*) as n
    from (select level, substance, target, effect, unnest(study_design) as kind from c)
    group by level, substance, target, effect, kind
),
evidence as (
    select level, substance, target, effect, list(kind order by n desc, kind) as study_designs
    from evidence_counts group by level, substance, target, effect
)
select t.*,
       coalesce(m.mechanisms, []::varchar[]) as mechanisms,
       coalesce(e.study_designs, []::varchar[]) as study_designs,
       ds.strongest_design,
       a.n_sites,
       a.benefit / a.articles as articles_benefit_share,
       a.harm / a.articles as articles_harm_share,
       a.denies / a.articles as articles_no_effect_share,
       a.hedges / a.articles as articles_hedged_share,
       a.causal / a.articles as articles_causal_share,
       a.correlational / a.articles as articles_correlational_share,
       a.contested
from totals t
left join mechanisms m
    on m.level = t.level and m.substance = t.substance
    and m.target is not distinct from t.target and m.effect is not distinct from t.effect
left join evidence e
    on e.level = t.level and e.substance = t.substance
    and e.target is not distinct from t.target and e.effect is not distinct from t.effect
left join designs ds
    on ds.level = t.level and ds.substance = t.substance
    and ds.target is not distinct from t.target and ds.effect is not distinct from t.effect
left join agreement a
    on a.level = t.level and a.substance = t.substance
    and a.target is not distinct from t.target and a.effect is not distinct from t.effect
order by case t.level when 'claim' then 0 when 'effect' then 1 else 2 end,
         n_articles desc, n_sentences desc, substance, target nulls first, effect nulls first
"""


def summary_id(substance: str, target: str | None, effect: str | None, level: str = "claim") -> str:
    """Stable id of a normalised (substance, target, effect) at `level` (`LEVELS`); null is
    not the empty string. A claim-level id is the same as before levels existed."""
    parts = (substance, target, effect) if level == "claim" else (level, substance, target, effect)
    key = "\x1f".join("\x00" if part is None else part for part in parts)
    return hashlib.sha256(key.encode("utf-8")).hexdigest()[:16]


def summarise(
    claims: pa.Table | ds.Dataset,
    documents: pa.Table | ds.Dataset,
    previous: pa.Table | ds.Dataset | None = None,
    run_id: str = "",
) -> pa.Table:
    """The `claim_summary` rows for these claims and their documents.

    `previous` is the summary the last run published: a claim it already held keeps its
    `first_seen` when that is earlier than what the current rows say.
    """
    claims = _conform(claims, CLAIMS, _CLAIM_COLUMNS)  # tables written by older versions
    documents = _conform(documents, DOCUMENTS, _DOCUMENT_COLUMNS)
    con = duckdb.connect()
    try:
        con.execute("set threads to 2")
        con.register("claims", claims)
        con.register("documents", documents)
        rows = con.sql(_SUMMARY_SQL).to_arrow_table()
    finally:
        con.close()
    return _finish(rows, _first_seen_before(previous), run_id)


def summarise_snapshot(snapshot: Path, previous: Path | None = None, run_id: str = "") -> pa.Table:
    """`summarise` over the Parquet parts of a snapshot folder (`<snapshot>/<table>/*.parquet`).

    `previous` is the snapshot the last commit published, whose `claim_summary` supplies the
    earlier `first_seen` values.
    """
    claims = _dataset(snapshot / "claims", CLAIMS, _CLAIM_COLUMNS)
    documents = _dataset(snapshot / "documents", DOCUMENTS, _DOCUMENT_COLUMNS)
    earlier = None
    if previous is not None and any((previous / "claim_summary").glob("*.parquet")):
        earlier = ds.dataset(sorted((previous / "claim_summary").glob("*.parquet")))
        if not {"summary_id", "first_seen"} <= set(earlier.schema.names):
            earlier = None
    return summarise(claims, documents, earlier, run_id)


def _conform(
    table: pa.Table | ds.Dataset, schema: pa.Schema, names: tuple[str, ...]
) -> pa.Table | ds.Dataset:
    """An in-memory table with every column the summary reads: those it lacks (written before
    they existed) as nulls, `template` as false. Datasets conform through `_dataset`."""
    if not isinstance(table, pa.Table):
        return table
    for name in names:
        if name not in table.column_names:
            type_ = schema.field(name).type
            column = (
                pa.array([False] * table.num_rows, type_)
                if name == "template"
                else pa.nulls(table.num_rows, type_)
            )
            table = table.append_column(name, column)
    return table


def _dataset(folder: Path, schema: pa.Schema, columns: tuple[str, ...]) -> ds.Dataset:
    """The table's parts as one dataset, projected to `columns` (older parts conform)."""
    projected = pa.schema([schema.field(name) for name in columns])
    return ds.dataset(sorted(folder.glob("*.parquet")), schema=projected, format="parquet")


def _first_seen_before(previous: pa.Table | ds.Dataset | None) -> dict[str, datetime]:
    if previous is None:
        return {}
    table = (
        previous.to_table(columns=["summary_id", "first_seen"])
        if isinstance(previous, ds.Dataset)
        else previous.select(["summary_id", "first_seen"])
    )
    ids = table.column("summary_id").to_pylist()
    seen = table.column("first_seen").to_pylist()
    return {key: when for key, when in zip(ids, seen, strict=True) if when is not None}


def _finish(rows: pa.Table, earlier: dict[str, datetime], run_id: str) -> pa.Table:
    """Add ids, shares, the carried-over `first_seen` and the run; cast to the schema."""
    ids = [
        summary_id(s, t, e, level)
        for s, t, e, level in zip(
            rows.column("substance").to_pylist(),
            rows.column("target").to_pylist(),
            rows.column("effect").to_pylist(),
            rows.column("level").to_pylist(),
            strict=True,
        )
    ]
    first_seen = [
        min(current, earlier[key]) if key in earlier and current is not None else current
        for key, current in zip(ids, rows.column("first_seen").to_pylist(), strict=True)
    ]
    n_claims = rows.column("n_claims").to_pylist()

    def share(column: str) -> list[float]:
        return [
            count / total if total else 0.0
            for count, total in zip(rows.column(column).to_pylist(), n_claims, strict=True)
        ]

    columns = {name: rows.column(name) for name in rows.column_names}
    columns.update(
        summary_id=pa.array(ids, pa.string()),
        first_seen=pa.array(first_seen, CLAIM_SUMMARY.field("first_seen").type),
        hedged_share=pa.array(share("n_hedged"), pa.float64()),
        negated_share=pa.array(share("n_negated"), pa.float64()),
        asserted_share=pa.array(share("n_asserted"), pa.float64()),
        run_id=pa.array([run_id] * rows.num_rows, pa.string()),
    )
    arrays = [columns[field.name].cast(field.type) for field in CLAIM_SUMMARY]
    return pa.Table.from_arrays(arrays, schema=CLAIM_SUMMARY)
