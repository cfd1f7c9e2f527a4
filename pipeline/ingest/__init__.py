"""Layer 1, ingest: files and records to `Document`s (text, metadata, encoding, repairs).

Reading (`reader`), HTML main-content extraction (`html`) and decoding (`encodings`).
Imports nothing else of the package.
"""

from pipeline.ingest.reader import (
    DEFAULT_EXCLUDE,
    DEFAULT_MAX_CHARS,
    FORMATS,
    BadInput,
    Document,
    IngestError,
    JsonlFields,
    count_words,
    guess_format,
    iter_documents,
    list_files,
    make_doc_id,
    make_safe,
    normalise_text,
    parse_date,
    read_file,
    read_text,
    strip_markdown,
)

__all__ = [
    "DEFAULT_EXCLUDE",
    "DEFAULT_MAX_CHARS",
    "FORMATS",
    "BadInput",
    "Document",
    "IngestError",
    "JsonlFields",
    "count_words",
    "guess_format",
    "iter_documents",
    "list_files",
    "make_doc_id",
    "make_safe",
    "normalise_text",
    "parse_date",
    "read_file",
    "read_text",
    "strip_markdown",
]
