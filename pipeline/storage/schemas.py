"""Every output table's pyarrow schema, documented column by column.

This module is the single source of truth: the writers cast to these schemas, the loaders
check them, and `docs/tables.md` is generated from them
(`python -m pipeline.storage.schemas > docs/tables.md`; a test keeps the two in step).
Bump `SCHEMA_VERSION` whenever a column is added, removed or changes meaning.
"""

from __future__ import annotations

import sys

import pyarrow as pa

SCHEMA_VERSION = "11"


def _field(name: str, type_: pa.DataType, description: str, nullable: bool = False) -> pa.Field:
    return pa.field(name, type_, nullable=nullable, metadata={"description": description})


def _schema(description: str, key: str, *fields: pa.Field) -> pa.Schema:
    return pa.schema(
        fields,
        metadata={
            "description": description,
            "key": key,
            "claims.schema_version": SCHEMA_VERSION,
        },
    )


_TIMESTAMP = pa.timestamp("us", tz="UTC")

DOCUMENTS = _schema(
    "One row per article. `text` is the normalised article text that every char offset "
    "in every other table refers to.",
    "doc_id",
    _field(
        "doc_id",
        pa.string(),
        "Stable article id: first 16 hex digits of the SHA-256 of "
        "`text`. The same article text has the same id in every run.",
    ),
    _field(
        "source",
        pa.string(),
        "Where the article came from: absolute file path, plus "
        "`#<record id>` (or `#line-<n>`) for JSON Lines records.",
    ),
    _field(
        "format",
        pa.string(),
        "Input format the text was read as: txt, md, html or jsonl "
        "(jsonl records are read as txt, md or html; see `source`).",
    ),
    _field(
        "encoding",
        pa.string(),
        "How the bytes were decoded: utf-8, windows-1252, iso-8859-2... (a byte-order mark, "
        "then the page's declared charset, then UTF-8, then detection). Null for rows "
        "written before schema version 6.",
        True,
    ),
    _field("record_id", pa.string(), "Record id inside a JSON Lines file, else null.", True),
    _field(
        "title",
        pa.string(),
        "Title from the record, the HTML page or the first Markdown "
        "heading; null when the source has none.",
        True,
    ),
    _field("author", pa.string(), "Author from the HTML page's metadata, else null.", True),
    _field("url", pa.string(), "URL from the record or the page's canonical link.", True),
    _field("date", _TIMESTAMP, "Publication date (UTC) when the source gives one.", True),
    _field("text", pa.string(), "Normalised article text (NFC, Unix line ends, trimmed lines)."),
    _field("n_chars", pa.int32(), "Characters in `text`."),
    _field("n_words", pa.int32(), "Whitespace-separated words in `text`."),
    _field("n_sentences", pa.int32(), "Rows this article has in `sentences`."),
    _field(
        "pipeline_version",
        pa.string(),
        "Version of the pipeline that processed the article; a new version re-processes it.",
    ),
    _field("run_id", pa.string(), "The run that processed it (see `runs`)."),
    _field("processed_at", _TIMESTAMP, "When it was processed (UTC)."),
    _field(
        "repairs",
        pa.list_(pa.string()),
        "What was mended to read the article, e.g. `title: 1 lone surrogate replaced by "
        "U+FFFD` or `date: not a date we can read, left empty`; empty when nothing was "
        "(null for rows written before schema version 6).",
        True,
    ),
)

SENTENCES = _schema(
    "One row per sentence, headings included (flagged by `is_heading`).",
    "sentence_id",
    _field("sentence_id", pa.string(), "Stable sentence id: `<doc_id>:<index>`."),
    _field("doc_id", pa.string(), "Article (see `documents`)."),
    _field("index", pa.int32(), "Position of the sentence in the article, from 0."),
    _field("paragraph", pa.int32(), "Index of the paragraph (non-blank line) holding it, from 0."),
    _field(
        "section",
        pa.string(),
        "Text of the heading the sentence falls under; null before "
        "the first heading. A heading's own section is itself.",
        True,
    ),
    _field("is_heading", pa.bool_(), "True when the sentence is a heading line."),
    _field(
        "kind",
        pa.string(),
        "What kind of text it is: prose, heading, list_item, reference (citation, "
        "footnote), navigation (see-also and link lists), category (ATC codes, 'Agents "
        "that ...' lists, identifier lines), table, or template (a sentence a site repeats "
        "across its pages with other names filled in). Claims come from prose, list items "
        "and templates only. Null for rows written before schema version 6.",
        True,
    ),
    _field("text", pa.string(), "Sentence text, without surrounding whitespace."),
    _field("start_char", pa.int32(), "Offset of the first character in `documents.text`."),
    _field("end_char", pa.int32(), "Offset just past the last character in `documents.text`."),
)

ABBREVIATIONS = _schema(
    "One row per abbreviation defined in an article, with its long form.",
    "doc_id, short_form",
    _field("doc_id", pa.string(), "Article (see `documents`)."),
    _field("short_form", pa.string(), "The abbreviation as written, e.g. `MDD`."),
    _field("long_form", pa.string(), "What it stands for, e.g. `major depressive disorder`."),
    _field("occurrences", pa.int32(), "How many times the short form occurs in the article."),
    _field("start_char", pa.int32(), "Offset of the short form's first occurrence."),
    _field("end_char", pa.int32(), "End offset of the short form's first occurrence."),
    _field("long_start_char", pa.int32(), "Offset of the long form in the defining sentence."),
    _field("long_end_char", pa.int32(), "End offset of the long form."),
)

ENTITIES = _schema(
    "One row per entity mention: substances, targets, effects and conditions, with the "
    "normalised name they share across spellings and abbreviations.",
    "doc_id, start_char",
    _field("doc_id", pa.string(), "Article (see `documents`)."),
    _field("sentence_id", pa.string(), "Sentence holding the mention (see `sentences`)."),
    _field("text", pa.string(), "The mention as written."),
    _field(
        "label",
        pa.string(),
        "SUBSTANCE (drug, chemical, plant, supplement, drug class), TARGET (receptor, "
        "neurotransmitter, hormone, transporter, enzyme, brain region or system), EFFECT "
        "(outcome or symptom), CONDITION (disorder).",
    ),
    _field(
        "norm",
        pa.string(),
        "Normalised name, lowercase, shared by every spelling of one concept: the curated name, "
        "else MeSH's heading read in order, else DrugBank's common name, for lexicon terms; "
        "the long form's name for abbreviations; for names only the NER found, the name of a "
        "lexicon term they hold or spell in the singular, else the lowercased text.",
    ),
    _field(
        "norm_id",
        pa.string(),
        "Ontology id of `norm` as a compact URI, to join on: `mesh:D002110` when the concept "
        "has a MeSH heading, else `drugbank:DB00201`, else `chebi:27732`; null when the "
        "lexicon grounds no such name (names only the NER found). The same in "
        "`claims.substance_id`, `target_id`, `effect_id`, `condition_id` and in "
        "`claim_summary`. Schema version 9.",
        True,
    ),
    _field(
        "mesh_id",
        pa.string(),
        "MeSH descriptor id of `norm` (`D002110`), from the MeSH thesaurus or a DrugBank or "
        "curated name MeSH also lists; null when none.",
        True,
    ),
    _field(
        "drugbank_id",
        pa.string(),
        "DrugBank id of `norm` (`DB00201`), from the DrugBank open vocabulary; null when none.",
        True,
    ),
    _field(
        "chebi_id",
        pa.string(),
        "ChEBI id of `norm` (`CHEBI:27732`), for chemical names CRAFT's annotators grounded; "
        "null when none.",
        True,
    ),
    _field("start_char", pa.int32(), "Offset of the first character in `documents.text`."),
    _field("end_char", pa.int32(), "Offset just past the last character."),
    _field(
        "source",
        pa.string(),
        "What found it: lexicon, model (the trained NER), model+lexicon (both), or "
        "abbreviation+<source of its long form>.",
    ),
)

CLAIMS = _schema(
    "One row per (substance, target, effect) claim of a sentence; `target` or `effect` may be "
    "null. A mechanism and the outcome it leads to in one sentence share a row. Each row "
    "carries its evidence: sentence, offsets, the rule that found it and its epistemics.",
    "claim_id",
    _field(
        "claim_id",
        pa.string(),
        "Stable claim id: first 16 hex digits of the SHA-256 of doc_id and the substance, "
        "target and effect offsets. The same text gives the same id in every run, so "
        "reviewers' verdicts can follow it.",
    ),
    _field("doc_id", pa.string(), "Article (see `documents`)."),
    _field("source", pa.string(), "The article's source (as in `documents.source`)."),
    _field("section", pa.string(), "Heading the sentence falls under, else null.", True),
    _field("sentence_id", pa.string(), "Sentence (see `sentences`)."),
    _field("sentence", pa.string(), "Sentence text: the claim's evidence."),
    _field("sentence_start", pa.int32(), "Offset of the sentence in `documents.text`."),
    _field("sentence_end", pa.int32(), "End offset of the sentence."),
    _field(
        "substance",
        pa.string(),
        "The substance as written; for a reference ('its alkaloids', 'the drug') the reference.",
    ),
    _field(
        "substance_norm", pa.string(), "Normalised name of the substance (see `entities.norm`)."
    ),
    _field(
        "substance_id",
        pa.string(),
        "Ontology id of `substance_norm` (see `entities.norm_id`), else null.",
        True,
    ),
    _field(
        "substance_antecedent",
        pa.string(),
        "For a reference, the earlier mention it was resolved to (same paragraph), else null.",
        True,
    ),
    _field("substance_start", pa.int32(), "Offset of `substance` in `documents.text`."),
    _field("substance_end", pa.int32(), "End offset of `substance`."),
    _field(
        "mechanism",
        pa.string(),
        "How the substance acts: the predicate and mechanism nouns linking it to the target "
        "(e.g. 'stimulates release'), or to the effect when there is no target.",
        True,
    ),
    _field("target", pa.string(), "What it acts on, as written.", True),
    _field("target_norm", pa.string(), "Normalised target name.", True),
    _field(
        "target_id",
        pa.string(),
        "Ontology id of `target_norm` (see `entities.norm_id`), else null.",
        True,
    ),
    _field("target_start", pa.int32(), "Offset of `target`.", True),
    _field("target_end", pa.int32(), "End offset of `target`.", True),
    _field("effect", pa.string(), "The outcome, as written.", True),
    _field("effect_norm", pa.string(), "Normalised effect name.", True),
    _field(
        "effect_id",
        pa.string(),
        "Ontology id of `effect_norm` (see `entities.norm_id`), else null.",
        True,
    ),
    _field("effect_start", pa.int32(), "Offset of `effect`.", True),
    _field("effect_end", pa.int32(), "End offset of `effect`.", True),
    _field(
        "polarity",
        pa.string(),
        "Of the effect: benefit, harm or neutral (null without an effect). 'Reduces "
        "symptoms' is a benefit, 'risk of addiction' a harm.",
        True,
    ),
    _field("condition", pa.string(), "Disorder the effect concerns, as written.", True),
    _field("condition_norm", pa.string(), "Normalised condition name.", True),
    _field(
        "condition_id",
        pa.string(),
        "Ontology id of `condition_norm` (see `entities.norm_id`), else null.",
        True,
    ),
    _field(
        "hedged",
        pa.bool_(),
        "True when the scope of a hedge cue covers the claim's predicate, substance, target "
        "or effect (see `hedge_cues` and the `cues` table); a 'may' elsewhere in the "
        "sentence does not count.",
    ),
    _field("negated", pa.bool_(), "True when the scope of a negation cue covers the claim."),
    _field(
        "certainty",
        pa.string(),
        "hedged, negated or asserted. A hedged negation ('may not help') is hedged: it is "
        "not asserted either way; `negated` still says it is a negation.",
    ),
    _field(
        "hedge_cues",
        pa.list_(pa.string()),
        "The hedge cues whose scope covers the claim, as written (may, potentially, "
        "suggests, some studies...).",
    ),
    _field(
        "hedge_types",
        pa.list_(pa.string()),
        "The type of each cue in `hedge_cues`, in the same order: epistemic, doxastic, "
        "investigation, condition or weasel (Szeged Uncertainty scheme).",
    ),
    _field(
        "negation_cues",
        pa.list_(pa.string()),
        "The negation cues whose scope covers the claim, as written.",
    ),
    _field(
        "study_design",
        pa.list_(pa.string()),
        "The study designs the sentence cites, else its paragraph, strongest first: review "
        "(systematic review, meta-analysis), trial, observational (cohort, case-control, "
        "cross-sectional, survey, registry, case report), animal, in vitro, research (no "
        "design named: 'studies show'), anecdote (lay reports), regulatory (a health "
        "authority's warning). Who says it is `attribution`, not a design. Before schema "
        "version 10 the values were evidence kinds ('clinical trial', 'observational "
        "study', 'expert opinion' ...).",
    ),
    _field(
        "preliminary",
        pa.bool_(),
        "True when the evidence is called preliminary, early, pilot or emerging. Null for "
        "rows written before schema version 10.",
        True,
    ),
    _field(
        "attribution",
        pa.string(),
        "Who makes the statement, as written ('the FDA', 'researchers', 'some "
        "individuals'), from the sentence, else its paragraph; null when nobody is named.",
        True,
    ),
    _field(
        "attribution_class",
        pa.string(),
        "What kind of source `attribution` is: expert, researcher, lay, regulator or person; "
        "null when nobody is named (and for rows written before schema version 10).",
        True,
    ),
    _field(
        "strength",
        pa.string(),
        "How strongly the claim is stated, on Yu et al.'s (EMNLP 2019) scheme: none, "
        "correlational ('was linked to'), conditional_causal ('may reduce') or "
        "direct_causal ('reduces'; 'did not reduce' too: negation is `negated`). The "
        "sentence's strength (`Span._.claim_strength`), made conditional_causal for a "
        "claim hedged by a word of doubt (may, could, possibly) in a direct causal sentence "
        "and correlational for a claim whose "
        "predicate is an association. Null for rows written before schema version 10.",
        True,
    ),
    _field(
        "causal_from_observational",
        pa.bool_(),
        "True when `strength` is direct_causal, `certainty` asserted (a negation such as 'does "
        "not prove that X prevents Y' is a disclaimer) and the evidence is observational only: the "
        "designs cited by the sentence or paragraph (by the whole article when those cite "
        "research of no named design, 'the study found') include observational and no "
        "trial, animal or in vitro study. A claim whose sentence and paragraph cite no "
        "research is background and never flagged. The most common exaggeration in health "
        "news. Null for rows written before schema version 10.",
        True,
    ),
    _field(
        "rule",
        pa.string(),
        "How the claim was found. The learned extractor (`claims_edges`, schema version 8): "
        "'learned', then '<' and the rule that linked the same edge if one did, then "
        "'+ref' (the substance is a resolved reference) or '+subject' (the sentence names "
        "no substance; the article's subject is taken); a chain whose target and effect "
        "edges the rules linked differently joins the two with '&'. The rules alone "
        "(`claims_extractor`): "
        "svo, passive, nominal, object, by_means or treatment_for, with +coord, +chain, +ref "
        "when coordination, a clause chain or a reference was followed.",
    ),
    _field(
        "confidence",
        pa.float32(),
        "The learned extractor's probability (0-1) that this edge is a claim, as calibrated "
        "on the claim gold's training articles (a claim with a target and an effect: the "
        "lower of its two edges'); claims below the pipeline's threshold are not written. "
        "Sort by it to review, or raise the bar. Null for the rules' claims and "
        "for rows written before schema version 8.",
        True,
    ),
    _field(
        "template",
        pa.bool_(),
        "True when the sentence is a site template (`sentences.kind` template), e.g. "
        "DrugBank's 'The risk or severity of adverse effects can be increased when ...'. "
        "Kept (a drug-interaction risk is a claim) but flagged. Null for rows written "
        "before schema version 6.",
        True,
    ),
    _field("pipeline_version", pa.string(), "Version of the pipeline that extracted it."),
)

CUES = _schema(
    "One row per hedge or negation cue the detector found, with the words it governs "
    "(the `hedges` table before schema version 7). "
    "Claims refer to these through their offsets: a claim is hedged when a hedge's scope "
    "covers it.",
    "cue_id",
    _field(
        "cue_id",
        pa.string(),
        "Stable id: first 16 hex digits of the SHA-256 of doc_id, kind and the cue offsets.",
    ),
    _field("doc_id", pa.string(), "Article (see `documents`)."),
    _field("sentence_id", pa.string(), "Sentence (see `sentences`)."),
    _field("kind", pa.string(), "hedge or negation."),
    _field("cue", pa.string(), "The cue as written: 'may', 'is believed', 'not', 'some studies'."),
    _field(
        "type",
        pa.string(),
        "For hedges, the Szeged Uncertainty type: epistemic (may, possibly, suggests), "
        "doxastic (believed, thought), investigation (whether, to determine, further "
        "research is needed), condition (if, unless) or weasel (some studies, it is said); "
        "'negation' for negations.",
    ),
    _field("cue_start", pa.int32(), "Offset of the cue in `documents.text`."),
    _field("cue_end", pa.int32(), "End offset of the cue."),
    _field(
        "scope",
        pa.string(),
        "The words the cue governs, as written (BioScope style for hedges, which includes "
        "the cue; *SEM 2012 style for negation, whose scope also takes in the subject).",
    ),
    _field("scope_start", pa.int32(), "Offset of the scope in `documents.text`."),
    _field("scope_end", pa.int32(), "End offset of the scope."),
    _field(
        "source",
        pa.string(),
        "What found the cue: model (the trained detector) or lexicon (the phrase list for "
        "web text, models/lexicon/hedge_cues.jsonl).",
    ),
)

CLAIM_SUMMARY = _schema(
    "One row per normalised (substance, target, effect) across the whole corpus (`level` "
    "claim), plus one per (substance, effect) and per (substance, target) whatever the rest "
    "(`level` effect, target): how many articles and sentences state it, how often hedged or "
    "negated, how strongly, whether articles agree (`contested`), when it was seen, where, "
    "and one example. Filter on `level` before adding counts up: a claim row is also counted "
    "in its effect and target rows. Derived from `claims` and `documents`, recomputed by "
    "every commit of a run (its checkpoints and its end), so it always summarises the "
    "`claims` published with it. What a reader means by 'what does the corpus claim about "
    "kratom?'.",
    "summary_id",
    _field(
        "summary_id",
        pa.string(),
        "Stable id: first 16 hex digits of the SHA-256 of substance, target and effect "
        "(a null one hashed as NUL), so the same claim keeps its id across runs.",
    ),
    _field(
        "level",
        pa.string(),
        "What the row groups: claim (one normalised substance, target and effect), effect "
        "(a substance and an effect, whatever the target; `target` null) or target (a "
        "substance and a target, whatever the effect; `effect` null). Null for rows written "
        "before schema version 10 (all claim rows).",
        True,
    ),
    _field("substance", pa.string(), "Normalised substance (`claims.substance_norm`)."),
    _field(
        "substance_id",
        pa.string(),
        "Ontology id of `substance` (`claims.substance_id`), else null.",
        True,
    ),
    _field(
        "target",
        pa.string(),
        "Normalised target (`claims.target_norm`); null for claims that name none.",
        True,
    ),
    _field(
        "target_id", pa.string(), "Ontology id of `target` (`claims.target_id`), else null.", True
    ),
    _field(
        "effect",
        pa.string(),
        "Normalised effect (`claims.effect_norm`); null for claims that name none.",
        True,
    ),
    _field(
        "effect_id", pa.string(), "Ontology id of `effect` (`claims.effect_id`), else null.", True
    ),
    _field(
        "n_articles",
        pa.int32(),
        "Articles with at least one sentence stating it; a sentence found verbatim in "
        "several articles (a site's boilerplate, a syndicated paragraph) counts as one.",
    ),
    _field(
        "n_sentences",
        pa.int32(),
        "Sentences stating it, a sentence found verbatim in several articles counting once.",
    ),
    _field(
        "n_claims",
        pa.int32(),
        "Rows of `claims` it groups (a sentence stating it twice counts twice); the "
        "denominator of the shares below.",
    ),
    _field(
        "n_template",
        pa.int32(),
        "Of those, rows from site-template sentences (`claims.template`).",
    ),
    _field(
        "n_repeated",
        pa.int32(),
        "Of those, rows whose sentence is found verbatim in more than one article.",
    ),
    _field("n_hedged", pa.int32(), "Of those, rows with `hedged` true."),
    _field("n_negated", pa.int32(), "Of those, rows with `negated` true."),
    _field(
        "n_asserted",
        pa.int32(),
        "Of those, rows with `certainty` asserted (neither hedged nor negated).",
    ),
    _field(
        "n_causal_from_observational",
        pa.int32(),
        "Of those, rows flagged `causal_from_observational` (0 for rows written before "
        "schema version 10).",
        True,
    ),
    _field("hedged_share", pa.float64(), "`n_hedged / n_claims`, from 0 to 1."),
    _field("negated_share", pa.float64(), "`n_negated / n_claims`, from 0 to 1."),
    _field("asserted_share", pa.float64(), "`n_asserted / n_claims`, from 0 to 1."),
    _field(
        "first_seen",
        _TIMESTAMP,
        "When a run first extracted it (UTC): the earliest `documents.processed_at` of its "
        "articles, or the previous `claim_summary.first_seen` when that is earlier, so "
        "re-processing under a new pipeline version does not make an old claim look new.",
    ),
    _field(
        "last_seen",
        _TIMESTAMP,
        "The latest `documents.processed_at` of its articles: when a run last extracted it.",
    ),
    _field(
        "first_published",
        _TIMESTAMP,
        "Earliest publication date (`documents.date`) of its articles; null when none is dated.",
        True,
    ),
    _field(
        "last_published",
        _TIMESTAMP,
        "Latest publication date of its articles; null when none is dated.",
        True,
    ),
    _field(
        "sources",
        pa.list_(pa.string()),
        "The sources of its articles (as in `documents.source`), sorted.",
    ),
    _field(
        "mechanisms",
        pa.list_(pa.string()),
        "Up to five mechanisms (`claims.mechanism`, lowercased) stating it, most frequent "
        "first; empty when no row names one.",
    ),
    _field(
        "study_designs",
        pa.list_(pa.string()),
        "The study designs its sentences cite (`claims.study_design`), most frequent first "
        "(called `evidence` before schema version 7).",
    ),
    _field(
        "strongest_design",
        pa.string(),
        "The strongest study design its sentences cite, in `claims.study_design`'s order "
        "(review, trial, observational, animal, in vitro, research, anecdote, regulatory); "
        "null when none is cited.",
        True,
    ),
    _field(
        "n_sites",
        pa.int32(),
        "Distinct sites stating it: the host of each article's URL (of the archived page for "
        "web.archive.org addresses), an article without a URL counting as its own site. One "
        "outlet's repeats count once.",
        True,
    ),
    _field(
        "articles_benefit_share",
        pa.float64(),
        "Share of its articles (`n_articles`, a repeated sentence counting as one) with an "
        "asserted claim of benefit (polarity benefit, neither hedged nor negated), 0 to 1.",
        True,
    ),
    _field(
        "articles_harm_share",
        pa.float64(),
        "Share of its articles with an asserted claim of harm (polarity harm), 0 to 1.",
        True,
    ),
    _field(
        "articles_no_effect_share",
        pa.float64(),
        "Share of its articles denying it (a negated, unhedged claim: 'did not reduce'), 0 to 1.",
        True,
    ),
    _field(
        "articles_hedged_share",
        pa.float64(),
        "Share of its articles stating it hedged ('may reduce'), 0 to 1.",
        True,
    ),
    _field(
        "articles_causal_share",
        pa.float64(),
        "Share of its articles stating it causally (`claims.strength` direct_causal or "
        "conditional_causal), 0 to 1.",
        True,
    ),
    _field(
        "articles_correlational_share",
        pa.float64(),
        "Share of its articles stating it as an association (`strength` correlational), 0 to 1.",
        True,
    ),
    _field(
        "contested",
        pa.bool_(),
        "True when two different articles disagree: one asserts a benefit and another a harm, "
        "or one asserts it and another denies it (negated). Null for rows written before "
        "schema version 10.",
        True,
    ),
    _field(
        "example_claim_id",
        pa.string(),
        "The claim shown as example (see `claims.claim_id`): the one in the shortest "
        "sentence, as short sentences read best out of context; ties go to the lowest id.",
    ),
    _field("example_sentence", pa.string(), "The example claim's sentence."),
    _field("example_source", pa.string(), "The example claim's source."),
    _field(
        "run_id",
        pa.string(),
        "The run whose commit computed this table (see `runs`; a run still going, or stopped, "
        "is not there yet).",
    ),
)

ERRORS = _schema(
    "One row per source that could not be processed in the latest run that tried it. A "
    "source that later succeeds, or fails again, replaces its old row.",
    "source",
    _field("source", pa.string(), "The failing file or record (as in `documents.source`)."),
    _field("doc_id", pa.string(), "Article id when the text was read before failing.", True),
    _field("stage", pa.string(), "Where it failed: ingest (reading) or nlp (processing)."),
    _field(
        "error_type",
        pa.string(),
        "Short machine-readable kind: Empty, NotUTF8, Binary, "
        "MalformedJSON, MissingText, DuplicateId, TooLarge, Vanished, or an "
        "exception name.",
    ),
    _field("message", pa.string(), "What went wrong, for a person."),
    _field("run_id", pa.string(), "The run that recorded it."),
    _field("occurred_at", _TIMESTAMP, "When (UTC)."),
)

DUPLICATES = _schema(
    "One row per source that was not processed because its text is already in the tables "
    "under another source (an exact duplicate: the same `doc_id`), as of the latest run that "
    "read it. Its claims are those of `kept_source`'s article. A source read again replaces "
    "its row; one that is no longer a duplicate loses it. Schema version 11 on.",
    "source",
    _field("source", pa.string(), "The skipped file or record (as in `documents.source`)."),
    _field(
        "doc_id",
        pa.string(),
        "The article id it shares (see `documents.doc_id`): a hash of the normalised text.",
    ),
    _field(
        "kept_source",
        pa.string(),
        "The source the tables hold the article under (`documents.source`, or the source "
        "processed earlier in the same run).",
    ),
    _field("run_id", pa.string(), "The run that last read it (see `runs`)."),
    _field("seen_at", _TIMESTAMP, "When that run read it (UTC)."),
)

REVIEWS = _schema(
    "One row per verdict a reviewer recorded: the whole append-only history, exported by "
    "`claims review export` from the verdict database (`reviews.sqlite`). A reviewer may "
    "judge a claim again; the latest verdict per reviewer and claim counts (`is_latest`). "
    "The claim as the reviewer saw it is kept, so verdicts survive re-runs.",
    "verdict_id",
    _field(
        "verdict_id",
        pa.int64(),
        "Verdict id: increases with every verdict recorded, so a later verdict has a higher id.",
    ),
    _field(
        "claim_id",
        pa.string(),
        "The claim judged (see `claims.claim_id`, stable across runs).",
    ),
    _field(
        "reviewer",
        pa.string(),
        "Who judged it, as the reviewer typed their name (trimmed, at most 64 characters).",
    ),
    _field("verdict", pa.string(), "correct or incorrect."),
    _field(
        "reasons",
        pa.list_(pa.string()),
        "Why an incorrect claim is wrong, one or more of: not_a_claim, wrong_substance, "
        "wrong_target, wrong_effect, wrong_polarity, hedging_wrong, negation_wrong, other "
        "(in that order); empty for a correct one.",
    ),
    _field("comment", pa.string(), "The reviewer's free-text comment; empty when none."),
    _field("recorded_at", _TIMESTAMP, "When the verdict was recorded (UTC)."),
    _field(
        "is_latest",
        pa.bool_(),
        "True for the reviewer's latest verdict on the claim (highest `verdict_id`): the "
        "one that counts. Earlier ones are superseded.",
    ),
    _field(
        "claim_present",
        pa.bool_(),
        "True when the claim is in the current `claims` table; false when a re-run no "
        "longer extracts it (the verdict is stale).",
    ),
    _field(
        "doc_id",
        pa.string(),
        "Article of the claim (see `documents`). This and the columns after it are the "
        "claim as the reviewer saw it, kept with the verdict so that it still reads after a "
        "re-run changes or drops the claim.",
    ),
    _field("sentence_id", pa.string(), "Sentence of the claim (see `sentences`)."),
    _field("sentence", pa.string(), "Sentence text shown to the reviewer."),
    _field("substance", pa.string(), "The claim's substance, as written."),
    _field("target", pa.string(), "The claim's target, as written; null when it had none.", True),
    _field("effect", pa.string(), "The claim's effect, as written; null when it had none.", True),
    _field(
        "rule",
        pa.string(),
        "The rule that extracted the claim (see `claims.rule`); figures by rule use the "
        "current `claims.rule` instead.",
    ),
    _field(
        "pipeline_version",
        pa.string(),
        "Version of the pipeline that extracted the claim the reviewer saw.",
    ),
)

RUNS = _schema(
    "One row per finished run; the history of the output folder.",
    "run_id",
    _field("run_id", pa.string(), "Run id: start time and a random suffix."),
    _field("flow_run_id", pa.string(), "Prefect flow run id when run through Prefect.", True),
    _field("started_at", _TIMESTAMP, "Start (UTC)."),
    _field("finished_at", _TIMESTAMP, "End (UTC)."),
    _field("corpus", pa.string(), "The corpus path that was read."),
    _field("parameters", pa.string(), "All run parameters as a JSON object."),
    _field("pipeline_version", pa.string(), "Version of the pipeline used."),
    _field("schema_version", pa.string(), "Version of these table schemas."),
    _field("status", pa.string(), "completed, or failed when nothing could be processed."),
    _field("n_seen", pa.int32(), "Sources found (files, and records in JSON Lines files)."),
    _field("n_processed", pa.int32(), "Articles processed in this run."),
    _field(
        "n_skipped",
        pa.int32(),
        "Articles skipped: unchanged since a run with the same "
        "pipeline version, or an exact duplicate of another source.",
    ),
    _field("n_failed", pa.int32(), "Sources that failed (see `errors`)."),
    _field("n_sentences", pa.int32(), "Sentences written in this run."),
    _field("n_words", pa.int64(), "Words in the processed articles."),
    _field("seconds", pa.float64(), "Wall time of the run."),
    _field("words_per_second", pa.float64(), "`n_words / seconds`."),
)

TABLES: dict[str, pa.Schema] = {
    "documents": DOCUMENTS,
    "sentences": SENTENCES,
    "abbreviations": ABBREVIATIONS,
    "entities": ENTITIES,
    "claims": CLAIMS,
    "cues": CUES,
    "claim_summary": CLAIM_SUMMARY,
    "errors": ERRORS,
    "duplicates": DUPLICATES,
    "reviews": REVIEWS,
    "runs": RUNS,
}

# Tables whose rows belong to one article: re-processing an article replaces them.
DOCUMENT_TABLES = ("documents", "sentences", "abbreviations", "entities", "claims", "cues")
# Tables whose rows belong to one source: reading the source again replaces them.
SOURCE_TABLES = ("errors", "duplicates")


def pandas_dtype(field_: pa.Field) -> str:
    """The pandas dtype `pipeline.storage.tables.frames` gives a column, as `str(dtype)` prints it.

    Missing values stay missing and integers stay integers: strings are pandas' `string`
    (pd.NA for null), nullable integers and booleans the masked `Int32`/`boolean` types, lists
    stay Arrow lists (`.list` accessor, `explode`).
    """
    type_ = field_.type
    if pa.types.is_string(type_):
        return "string"
    if pa.types.is_integer(type_):
        bits = type_.bit_width
        return f"Int{bits}" if field_.nullable else f"int{bits}"
    if pa.types.is_floating(type_):
        return f"float{type_.bit_width}"
    if pa.types.is_boolean(type_):
        return "boolean" if field_.nullable else "bool"
    if pa.types.is_timestamp(type_):
        return f"datetime64[{type_.unit}, {type_.tz}]"
    if pa.types.is_list(type_):
        return f"list<item: {type_.value_type}>[pyarrow]"
    raise TypeError(f"no pandas dtype chosen for {field_.name}: {type_}")


def empty_table(name: str) -> pa.Table:
    return TABLES[name].empty_table()


def to_table(name: str, rows: list[dict]) -> pa.Table:
    """Rows as a table of the named schema; a missing, unknown or mistyped column is an error.

    The schema is the one definition of a row: a builder that adds or forgets a key fails
    here, at its first row, instead of writing a null or dropping the value.
    """
    schema = TABLES[name]
    expected = set(schema.names)
    for row in rows[:1]:
        if set(row) != expected:
            missing, unknown = sorted(expected - set(row)), sorted(set(row) - expected)
            raise ValueError(
                f"a `{name}` row does not match its schema: missing {missing}, unknown {unknown}"
            )
    return pa.Table.from_pylist(rows, schema=schema)


def columns(table: str, *names: str) -> tuple[str, ...]:
    """Column names of `table` a reader needs, checked against its schema at import time, so
    a reader never spells a column the schema no longer has."""
    unknown = [name for name in names if name not in TABLES[table].names]
    if unknown:
        raise KeyError(f"`{table}` has no column {', '.join(unknown)}")
    return names


def markdown() -> str:
    """The column reference in `docs/tables.md`, generated from the schemas above."""
    lines = [
        "# Output tables",
        "",
        "<!-- Generated by `python -m pipeline.storage.schemas > docs/tables.md`; edit "
        "pipeline/storage/schemas.py instead. -->",
        "",
        f"Schema version {SCHEMA_VERSION}. Each table is a folder of Parquet files under the "
        "output folder (default `outputs/`):",
        "",
        "```python",
        "from pipeline.storage import tables",
        "",
        'frames = tables.frames("outputs")  # {table name: DataFrame}, dtypes as below',
        'con = tables.duckdb("outputs")  # one DuckDB view per table',
        'con.sql("select substance, n_articles from claim_summary limit 10")',
        "```",
        "",
        "Both read one published snapshot (never a mix of two runs) and refuse tables written "
        "under another schema version, saying how to rebuild them. Plain readers work too: "
        '`pd.read_parquet("outputs/claims")`, '
        "`duckdb.sql(\"select * from 'outputs/claims/*.parquet'\")`.",
        "",
        "Character offsets are Python string offsets into `documents.text`.",
    ]
    for name, schema in TABLES.items():
        meta = schema.metadata
        lines += [
            "",
            f"## `{name}`",
            "",
            meta[b"description"].decode(),
            "",
            f"Key: `{meta[b'key'].decode()}`.",
            "",
            "| column | type | pandas dtype | null | description |",
            "|---|---|---|---|---|",
        ]
        for field_ in schema:
            description = field_.metadata[b"description"].decode()
            nullable = "yes" if field_.nullable else "no"
            dtype = pandas_dtype(field_)
            lines.append(
                f"| `{field_.name}` | {field_.type} | {dtype} | {nullable} | {description} |"
            )
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.stdout.write(markdown())
