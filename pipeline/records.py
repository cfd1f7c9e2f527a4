"""Turn processed Docs into table rows (plain dicts matching `pipeline.schemas`)."""

from __future__ import annotations

from datetime import datetime

from spacy.tokens import Doc

from pipeline.ingest import Document


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
        "record_id": document.record_id,
        "title": document.title,
        "url": document.url,
        "date": document.date,
        "text": document.text,
        "n_chars": len(document.text),
        "n_words": document.n_words,
        "n_sentences": n_sentences,
        "pipeline_version": pipeline_version,
        "run_id": run_id,
        "processed_at": processed_at,
    }
