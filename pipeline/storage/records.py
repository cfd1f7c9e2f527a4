"""Turn processed Docs into table rows (plain dicts matching `pipeline.storage.schemas`)."""

from __future__ import annotations

import hashlib
from bisect import bisect_right
from datetime import datetime

from spacy.tokens import Doc, Span

from pipeline.ingest import Document, IngestError, make_safe
from pipeline.nlp.entities import curie
from pipeline.nlp.loader import DEFAULT_KEYS, SpanKeys


def sentence_rows(doc: Doc, doc_id: str) -> list[dict]:
    """One row per non-blank sentence, with offsets trimmed to its visible text."""
    rows = []
    for sent in doc.sents:
        text = sent.text
        stripped = text.strip()
        if not any(character.isalnum() for character in stripped):
            continue  # blank, or a lone bullet or separator
        start = sent.start_char + (len(text) - len(text.lstrip()))
        index = len(rows)
        rows.append(
            {
                "sentence_id": f"{doc_id}:{index}",
                "doc_id": doc_id,
                "index": index,
                "paragraph": sent._.paragraph if sent._.paragraph is not None else 0,
                "section": sent._.section,
                "is_heading": bool(sent._.is_heading),
                "kind": sent._.kind,
                "text": stripped,
                "start_char": start,
                "end_char": start + len(stripped),
            }
        )
    return rows


def abbreviation_rows(doc: Doc, doc_id: str) -> list[dict]:
    """One row per (short form, long form) defined in the document."""
    by_form: dict[tuple[str, str], dict] = {}
    for short in sorted(doc._.abbreviations, key=lambda span: span.start_char):
        long = short._.long_form
        key = (short.text, long.text)
        row = by_form.get(key)
        if row is None:
            by_form[key] = {
                "doc_id": doc_id,
                "short_form": short.text,
                "long_form": long.text,
                "occurrences": 1,
                "start_char": short.start_char,
                "end_char": short.end_char,
                "long_start_char": long.start_char,
                "long_end_char": long.end_char,
            }
        else:
            row["occurrences"] += 1
    return list(by_form.values())


def document_row(
    document: Document,
    n_sentences: int,
    *,
    pipeline_version: str,
    run_id: str,
    processed_at: datetime,
) -> dict:
    return {
        "doc_id": document.doc_id,
        "source": document.source,
        "format": document.format,
        "encoding": document.encoding,
        "record_id": document.record_id,
        "title": document.title,
        "author": document.author,
        "url": document.url,
        "date": document.date,
        "text": document.text,
        "n_chars": len(document.text),
        "n_words": document.n_words,
        "n_sentences": n_sentences,
        "pipeline_version": pipeline_version,
        "run_id": run_id,
        "processed_at": processed_at,
        "repairs": list(document.repairs),
    }


def _sentence_ids(sentences: list[dict]) -> tuple[list[int], list[dict]]:
    """Row starts for bisecting a char offset to its sentence row."""
    ordered = sorted(sentences, key=lambda row: row["start_char"])
    return [row["start_char"] for row in ordered], ordered


def _sentence_for(index: tuple[list[int], list[dict]], offset: int) -> dict | None:
    starts, rows = index
    position = bisect_right(starts, offset) - 1
    return rows[position] if position >= 0 else None


def entity_rows(
    doc: Doc, doc_id: str, sentences: list[dict], keys: SpanKeys = DEFAULT_KEYS
) -> list[dict]:
    """One row per entity mention in `doc.spans[keys.entities]`."""
    if keys.entities not in doc.spans:
        return []
    index = _sentence_ids(sentences)
    rows = []
    for span in doc.spans[keys.entities]:
        sentence = _sentence_for(index, span.start_char)
        if sentence is None:
            continue
        refs = span._.db_refs or {}
        rows.append(
            {
                "doc_id": doc_id,
                "sentence_id": sentence["sentence_id"],
                "text": span.text,
                "label": span.label_,
                "norm": span._.norm or span.text.lower(),
                "norm_id": curie(refs),
                "mesh_id": refs.get("MESH"),
                "drugbank_id": refs.get("DRUGBANK"),
                "chebi_id": refs.get("CHEBI"),
                "start_char": span.start_char,
                "end_char": span.end_char,
                "source": span._.entity_source or "unknown",
            }
        )
    return rows


def _visible_start(sentence: Span) -> int:
    """Where a sentence's visible text starts (as `sentence_rows` offsets it)."""
    text = sentence.text
    return sentence.start_char + (len(text) - len(text.lstrip()))


def claim_id(doc_id: str, *spans: Span | None) -> str:
    """Stable across runs: the article and the offsets of what the claim links."""
    parts = [doc_id] + [f"{s.start_char}-{s.end_char}" if s is not None else "-" for s in spans]
    return hashlib.sha256(":".join(parts).encode()).hexdigest()[:16]


def claim_rows(
    doc: Doc, doc_id: str, source: str, sentences: list[dict], pipeline_version: str
) -> list[dict]:
    """One row per claim in `doc._.claims`, with its evidence."""
    if not Doc.has_extension("claims"):
        return []
    index = _sentence_ids(sentences)
    rows = []
    seen: set[str] = set()
    grounded = doc._.db_refs if Doc.has_extension("db_refs") and doc._.db_refs else {}

    def ground(norm: str | None) -> str | None:
        return curie(grounded.get(norm)) if norm else None

    for claim in doc._.claims:
        # the claim's sentence (its substance may be the article's subject, named elsewhere)
        sentence = _sentence_for(index, _visible_start(claim.sentence))
        if sentence is None:
            continue
        target = claim.target.span if claim.target else None
        effect = claim.effect.span if claim.effect else None
        condition = claim.condition
        identifier = claim_id(doc_id, claim.substance.span, target, effect)
        if identifier in seen:
            continue
        seen.add(identifier)
        antecedent = claim.substance.antecedent
        rows.append(
            {
                "claim_id": identifier,
                "doc_id": doc_id,
                "source": source,
                "section": sentence["section"],
                "sentence_id": sentence["sentence_id"],
                "sentence": sentence["text"],
                "sentence_start": sentence["start_char"],
                "sentence_end": sentence["end_char"],
                "substance": claim.substance.span.text,
                "substance_norm": claim.substance.norm,
                "substance_id": ground(claim.substance.norm),
                "substance_antecedent": antecedent.text if antecedent is not None else None,
                "substance_start": claim.substance.span.start_char,
                "substance_end": claim.substance.span.end_char,
                "mechanism": claim.mechanism,
                "target": target.text if target is not None else None,
                "target_norm": claim.target.norm if claim.target else None,
                "target_id": ground(claim.target.norm) if claim.target else None,
                "target_start": target.start_char if target is not None else None,
                "target_end": target.end_char if target is not None else None,
                "effect": effect.text if effect is not None else None,
                "effect_norm": claim.effect.norm if claim.effect else None,
                "effect_id": ground(claim.effect.norm) if claim.effect else None,
                "effect_start": effect.start_char if effect is not None else None,
                "effect_end": effect.end_char if effect is not None else None,
                "polarity": claim.effect.polarity if claim.effect else None,
                "condition": condition.text if condition is not None else None,
                "condition_norm": (condition._.norm or condition.text.lower())
                if condition is not None
                else None,
                "condition_id": ground(condition._.norm) if condition is not None else None,
                "hedged": claim.hedged,
                "negated": claim.negated,
                "certainty": claim.certainty,
                "hedge_cues": [cue.text for cue in claim.hedge_cues],
                "hedge_types": [cue.label_ for cue in claim.hedge_cues],
                "negation_cues": [cue.text for cue in claim.negation_cues],
                "study_design": list(claim.study_design),
                "preliminary": claim.preliminary,
                "attribution": claim.attribution.text if claim.attribution is not None else None,
                "attribution_class": claim.attribution_class,
                "strength": claim.strength,
                "causal_from_observational": claim.causal_from_observational,
                "rule": claim.rule,
                "confidence": claim.confidence,
                "template": sentence["kind"] == "template",
                "pipeline_version": pipeline_version,
            }
        )
    return _one_per_value(rows)


def _one_per_value(rows: list[dict]) -> list[dict]:
    """One row per (sentence, substance, role, value): a sentence that names the substance
    twice, or links it to the same effect by two paths, states the claim once. Of rows with
    the same substance, target and effect names the most confident is kept; a row whose
    target or effect another row of the sentence also states along with more is dropped
    ("X -> - -> pain" beside "X -> opioid receptors -> pain")."""

    def rank(position: int, row: dict) -> tuple[float, int]:  # ties: the earlier row
        return (row["confidence"] if row["confidence"] is not None else -1.0, -position)

    groups: dict[tuple[str, str], list[tuple[int, dict]]] = {}
    for position, row in enumerate(rows):
        key = (row["sentence_id"], row["substance_norm"])
        groups.setdefault(key, []).append((position, row))
    dropped: set[int] = set()
    for group in groups.values():
        for position, row in group:
            values = (row["target_norm"], row["effect_norm"])
            for other_position, other in group:
                others = (other["target_norm"], other["effect_norm"])
                if other is row or not all(
                    v is None or v == o for v, o in zip(values, others, strict=True)
                ):
                    continue
                # the other states this and more, or the same claim more surely
                if others != values or rank(other_position, other) > rank(position, row):
                    dropped.add(position)
                    break
    return [row for position, row in enumerate(rows) if position not in dropped]


def cue_rows(
    doc: Doc, doc_id: str, sentences: list[dict], keys: SpanKeys = DEFAULT_KEYS
) -> list[dict]:
    """One row per hedge or negation cue (`doc.spans[keys.hedges]`, `[keys.negations]`)."""
    index = _sentence_ids(sentences)
    rows = []
    for kind, group in (("hedge", keys.hedges), ("negation", keys.negations)):
        if group not in doc.spans:
            continue
        for cue in doc.spans[group]:
            sentence = _sentence_for(index, cue.start_char)
            if sentence is None:
                continue
            scope = cue._.scope if Span.has_extension("scope") else None
            scope = scope if scope is not None and len(scope) else cue
            identifier = f"{doc_id}:{kind}:{cue.start_char}-{cue.end_char}"
            rows.append(
                {
                    "cue_id": hashlib.sha256(identifier.encode()).hexdigest()[:16],
                    "doc_id": doc_id,
                    "sentence_id": sentence["sentence_id"],
                    "kind": kind,
                    "cue": cue.text,
                    "type": cue.label_ or kind,
                    "cue_start": cue.start_char,
                    "cue_end": cue.end_char,
                    "scope": scope.text,
                    "scope_start": scope.start_char,
                    "scope_end": scope.end_char,
                    "source": cue._.cue_source or "model",
                }
            )
    return rows


def error_row(error: IngestError, run_id: str, occurred_at: datetime) -> dict:
    """An `errors` row; every string made writable, so recording a failure never fails."""
    doc_id = getattr(error, "doc_id", None)
    return {
        "source": _writable(error.source),
        "doc_id": _writable(doc_id) if doc_id is not None else None,
        "stage": _writable(error.stage),
        "error_type": _writable(error.error_type),
        "message": _writable(error.message),
        "run_id": run_id,
        "occurred_at": occurred_at,
    }


def _writable(value: object) -> str:
    """`value` as text any UTF-8 writer accepts (lone surrogates replaced)."""
    return make_safe(str(value), "error", [])
