"""Read a corpus into documents: plain text, Markdown, HTML and JSON Lines, recursively.

Every document gets a stable `doc_id` (a hash of its normalised text, so the same article
has the same id in every run and on every machine) and a `source` (its file path, plus the
record id for JSON Lines). Bad input never stops a corpus: it comes back as an
`IngestError` with a reason a person can act on, next to the documents that did load.
"""

from __future__ import annotations

import fnmatch
import hashlib
import json
import os
import re
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from pipeline.ingest.encodings import UndecodableText, decode
from pipeline.ingest.html import parse_html

FORMATS = {
    ".txt": "txt",
    ".text": "txt",
    ".md": "md",
    ".markdown": "md",
    ".html": "html",
    ".htm": "html",
    ".jsonl": "jsonl",
}
# Corpus folders often carry their own paperwork; it is not an article.
DEFAULT_EXCLUDE = ("README*", "LICENSE*", "LICENCE*", "PROVENANCE*", "CHANGELOG*", "NOTICE*")
DEFAULT_MAX_CHARS = 1_000_000  # spaCy's own default `nlp.max_length`
_BYTES_PER_CHAR = 4  # UTF-8 worst case: a file larger than this cannot be under the limit
_MD_HEADING = re.compile(r"^\s{0,3}(#{1,6})\s+(.*?)\s*#*\s*$")
# A Markdown article's own address, as exports of web pages give it on the line under the
# title (or on the first line): "*Source: https://...*", "URL: <https://...>".
_MD_SOURCE_LINE = re.compile(
    r"^\s*[*_]{0,2}\s*(?:source|url|original(?: url)?|retrieved from)\s*:\s*[*_]{0,2}\s*"
    r"<?(https?://[^\s<>*]+?)>?\s*[*_]{0,2}\s*$",
    re.IGNORECASE,
)
_MD_BLOCK_START = re.compile(r"^\s*([-*+]\s|\d+[.)]\s|>)")
_MD_LINK = re.compile(r"!?\[([^\]]*)\]\([^)]*\)")
_MD_EMPHASIS = re.compile(r"(\*\*|__|(?<!\w)[*_](?=\S)|(?<=\S)[*_](?!\w))")
# Markdown signs beyond a heading: links and strong emphasis (numbered or bulleted lines
# are common in plain text too, so they are no sign).
_MD_SIGNS = re.compile(r"\[[^\]\n]+\]\(\S+\)|\*\*\S[^*\n]*\*\*|__\S[^_\n]*__")
_SURROGATE = re.compile("[\ud800-\udfff]")
_BOM = "\ufeff"


@dataclass(frozen=True)
class JsonlFields:
    """Which keys of a JSON Lines record hold what; the first key present wins."""

    id: tuple[str, ...] = ("id", "news_id", "doc_id", "uid", "file")
    title: tuple[str, ...] = ("title", "headline")
    text: tuple[str, ...] = ("text", "content", "body", "article")
    url: tuple[str, ...] = ("url", "canonical_link", "link")
    date: tuple[str, ...] = ("date", "publish_date", "published", "published_at")
    format: str = "auto"  # how to read the text field: auto, txt, md or html

    def with_overrides(self, **names: str | None) -> JsonlFields:
        """Put explicitly named keys first, e.g. `with_overrides(text="body")`."""
        values = {}
        for key, name in names.items():
            if name is None:
                continue
            values[key] = name if key == "format" else (name,)
        return JsonlFields(**{**self.__dict__, **values})


@dataclass
class Document:
    """One article, its text normalised; char offsets in every table refer to `text`."""

    doc_id: str
    source: str
    format: str
    text: str
    title: str | None = None
    url: str | None = None
    date: datetime | None = None
    record_id: str | None = None
    # Character ranges of heading lines known from markup; None means "detect from shape".
    heading_lines: list[tuple[int, int]] | None = None
    encoding: str | None = None  # how the bytes were decoded: utf-8, windows-1252...
    author: str | None = None
    # What was mended to read it, e.g. "title: 1 lone surrogate replaced by U+FFFD".
    repairs: list[str] = field(default_factory=list)
    n_words: int = field(init=False)

    def __post_init__(self) -> None:
        self.n_words = count_words(self.text)


@dataclass
class IngestError:
    """A source that could not be read, and why."""

    source: str
    error_type: str
    message: str
    stage: str = "ingest"


class BadInput(Exception):
    """Raised for input that is readable but not an article we can process."""

    def __init__(self, error_type: str, message: str):
        super().__init__(message)
        self.error_type = error_type


def count_words(text: str) -> int:
    """Whitespace-separated words: the unit of every words-per-second figure we print."""
    return len(text.split())


def normalise_text(text: str) -> str:
    """Unicode NFC, Unix line ends, no trailing spaces, at most one blank line in a row.

    Byte-order marks (U+FEFF, invisible) are dropped wherever a concatenation left them.
    """
    text = unicodedata.normalize("NFC", text).replace("\r\n", "\n").replace("\r", "\n")
    text = text.replace(_BOM, "")
    text = "\n".join(line.rstrip() for line in text.split("\n"))
    return re.sub(r"\n{3,}", "\n\n", text).strip()


def make_safe(value: str, what: str, repairs: list[str]) -> str:
    """`value` with every lone surrogate replaced by U+FFFD, the repair noted in `repairs`.

    A JSON escape such as `"\\ud83d"` (half an emoji, cut by a truncating scraper) decodes
    to a lone surrogate, which no UTF-8 writer accepts: left in, it fails the Parquet write
    of the whole batch. File names that are not UTF-8 arrive the same way (surrogateescape).
    """
    repaired, count = _SURROGATE.subn("\ufffd", value)
    if count:
        plural = "s" if count > 1 else ""
        repairs.append(f"{what}: {count} lone surrogate{plural} replaced by U+FFFD")
    return repaired


def make_doc_id(normalised_text: str) -> str:
    """Stable id of an article: the first 16 hex digits of the SHA-256 of its text."""
    return hashlib.sha256(normalised_text.encode("utf-8")).hexdigest()[:16]


def list_files(corpus: Path, exclude: tuple[str, ...] = DEFAULT_EXCLUDE) -> list[Path]:
    """Supported files under `corpus` (or `corpus` itself), sorted.

    Hidden files and folders are skipped, and so are names matching an `exclude` glob.
    """
    if corpus.is_file():
        return [corpus]
    if not corpus.is_dir():
        raise FileNotFoundError(f"Corpus not found: {corpus}")
    files = []
    for root, dirs, names in os.walk(corpus):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for name in sorted(names):
            path = Path(root) / name
            if name.startswith(".") or path.suffix.lower() not in FORMATS:
                continue
            if any(fnmatch.fnmatch(name, pattern) for pattern in exclude):
                continue
            files.append(path)
    return files


def iter_documents(
    corpus: Path | str,
    fields: JsonlFields | None = None,
    max_chars: int = DEFAULT_MAX_CHARS,
    exclude: tuple[str, ...] = DEFAULT_EXCLUDE,
) -> Iterator[Document | IngestError]:
    """Yield every document of the corpus, or an error for each source that fails.

    Files are listed first and read lazily, one at a time, so memory stays flat however
    large the corpus is.
    """
    fields = fields or JsonlFields()
    for path in list_files(Path(corpus), exclude):
        yield from read_file(path, fields, max_chars)


def read_file(
    path: Path, fields: JsonlFields | None = None, max_chars: int = DEFAULT_MAX_CHARS
) -> Iterator[Document | IngestError]:
    """Documents from one file: one for text formats, one per line for JSON Lines."""
    fields = fields or JsonlFields()
    path_repairs: list[str] = []
    source = make_safe(path.resolve().as_posix(), "source", path_repairs)
    kind = FORMATS.get(path.suffix.lower(), "txt")
    try:
        if kind == "jsonl":
            yield from _read_jsonl(path, source, fields, max_chars, path_repairs)
            return
        size = path.stat().st_size
        if size > max_chars * _BYTES_PER_CHAR:
            raise BadInput("TooLarge", _too_large(size, max_chars))
        text, encoding = _decode(path.read_bytes(), html=kind == "html")
        document = _build_document(text, source, kind, max_chars, list(path_repairs))
        document.encoding = encoding
        yield document
    except BadInput as error:
        yield IngestError(source, error.error_type, str(error))
    except FileNotFoundError:
        yield IngestError(source, "Vanished", "file vanished before it could be read")
    except OSError as error:
        yield IngestError(source, type(error).__name__, f"cannot read file: {error}")
    except Exception as error:  # one odd file must never stop a corpus
        yield IngestError(source, type(error).__name__, f"cannot read file: {error}")


def _read_jsonl(
    path: Path, source: str, fields: JsonlFields, max_chars: int, path_repairs: list[str]
) -> Iterator[Document | IngestError]:
    seen: set[str] = set()
    with path.open("rb") as handle:
        for line_number, raw in enumerate(handle, start=1):
            if not raw.strip():
                continue
            record_source = f"{source}#line-{line_number}"
            try:
                if len(raw) > max_chars * _BYTES_PER_CHAR:
                    raise BadInput("TooLarge", _too_large(len(raw), max_chars))
                line, encoding = _decode(raw)
                try:
                    record = json.loads(line)
                except json.JSONDecodeError as error:
                    raise BadInput(
                        "MalformedJSON", f"malformed JSON on line {line_number}: {error.msg}"
                    ) from None
                if not isinstance(record, dict):
                    raise BadInput("MalformedJSON", f"line {line_number} is not a JSON object")
                repairs = list(path_repairs)
                record_id = _string(_first(record, fields.id), "id", repairs)
                if record_id is not None:
                    record_source = f"{source}#{record_id}"
                if record_source in seen:
                    raise BadInput(
                        "DuplicateId", f"record id {record_id!r} repeats on line {line_number}"
                    )
                seen.add(record_source)
                text = _first(record, fields.text)
                if not isinstance(text, str):
                    raise BadInput(
                        "MissingText",
                        f"line {line_number} has no text field (looked for "
                        f"{', '.join(fields.text)})",
                    )
                text = make_safe(text, "text", repairs).lstrip(_BOM)
                kind = fields.format if fields.format != "auto" else guess_format(text)
                title = _string(_first(record, fields.title), "title", repairs)
                if kind == "txt":
                    text = with_headline(text, title)
                document = _build_document(text, record_source, kind, max_chars, repairs)
                document.record_id = record_id or f"line-{line_number}"
                document.encoding = encoding
                url = _string(_first(record, fields.url), "url", repairs)
                document.title = document.title or title
                document.url = document.url or url
                date_value = _first(record, fields.date)
                date = parse_date(date_value)
                if date is None and date_value not in (None, ""):
                    repairs.append("date: not a date we can read, left empty")
                document.date = date or document.date
                yield document
            except BadInput as error:
                yield IngestError(record_source, error.error_type, str(error))
            except (RecursionError, ValueError) as error:  # e.g. JSON nested too deep
                yield IngestError(
                    record_source,
                    "MalformedJSON",
                    f"unreadable record on line {line_number}: {type(error).__name__}: {error}",
                )


def with_headline(text: str, title: str | None) -> str:
    """A plain-text record's text with its title as the first line, unless it starts with it.

    News records (FakeHealth) keep the headline apart from the body, and the headline is
    often the article's main claim ("Coffee linked to lower risk of liver cancer"). As its
    own line it reads as a heading (layout: a short line without final punctuation), so
    claims from it carry `sentences.kind` heading. The claim gold reads these records the
    same way: title, newline, text.
    """
    if not title or not title.strip():
        return text
    first = next((line for line in text.splitlines() if line.strip()), "")
    if " ".join(first.split()).casefold().startswith(" ".join(title.split()).casefold()):
        return text
    return f"{title.strip()}\n{text}"


def read_text(text: str, source: str = "<text>", kind: str = "auto") -> Document:
    """A Document from text in memory, read as a file of `kind` would be (txt, md, html;
    "auto" guesses). Raises BadInput for an empty or too large text."""
    kind = guess_format(text) if kind == "auto" else kind
    return _build_document(text, source, kind, DEFAULT_MAX_CHARS, [])


def _build_document(
    raw_text: str, source: str, kind: str, max_chars: int, repairs: list[str]
) -> Document:
    title = url = date = author = None
    heading_lines = None
    if kind == "html":
        article = parse_html(raw_text)
        text, heading_lines = _join_lines(article.lines)
        title, url, date = article.title, article.url, parse_date(article.date)
        author = article.author
    elif kind == "md":
        text, heading_lines = _join_lines(_markdown_lines(raw_text))
        title = next((text[s:e] for s, e in heading_lines), None)
        url = _markdown_url(raw_text)
    else:
        text = normalise_text(raw_text)
    if not text.strip():
        raise BadInput("Empty", "empty document: no text to process")
    if len(text) > max_chars:
        raise BadInput("TooLarge", _too_large(len(text), max_chars, unit="characters"))
    return Document(
        doc_id=make_doc_id(text),
        source=source,
        format=kind,
        text=text,
        title=make_safe(title, "title", repairs) if title else None,
        url=make_safe(url, "url", repairs) if url else None,
        date=date,
        heading_lines=heading_lines,
        author=make_safe(author, "author", repairs) if author else None,
        repairs=repairs,
    )


def _markdown_url(markdown: str) -> str | None:
    """The article's URL when its first line, or the first line under its first heading,
    is a source line (`_MD_SOURCE_LINE`); None otherwise."""
    lines = [line for line in markdown.lstrip("\ufeff").splitlines()[:6] if line.strip()]
    if lines and _MD_HEADING.match(lines[0]):
        lines = lines[1:]
    match = _MD_SOURCE_LINE.match(lines[0]) if lines else None
    return match.group(1) if match else None


def _markdown_lines(markdown: str) -> list[tuple[str, bool]]:
    """Headings and paragraphs of Markdown, as (text, is_heading) lines.

    As in CommonMark, consecutive lines form one paragraph (hard-wrapped text is one
    paragraph, not one sentence a line); a list item or a quote line starts a new one.
    """
    lines: list[tuple[str, bool]] = []
    paragraph: list[str] = []

    def flush() -> None:
        if paragraph:
            lines.append((" ".join(paragraph), False))
            paragraph.clear()

    for raw in markdown.splitlines():
        heading = _MD_HEADING.match(raw)
        if heading:
            flush()
            lines.append((strip_markdown(heading.group(2)), True))
            continue
        if not raw.strip() or set(raw.strip()) <= set("-*_=|: "):
            flush()  # a blank line or a rule ends the paragraph
            continue
        if _MD_BLOCK_START.match(raw):
            flush()
        paragraph.append(strip_markdown(raw).strip())
    flush()
    return lines


def strip_markdown(text: str) -> str:
    """A Markdown line as a reader sees it: links as their text, no emphasis marks."""
    return _MD_EMPHASIS.sub("", _MD_LINK.sub(r"\1", text)).lstrip("> ").rstrip()


def _join_lines(lines: list[tuple[str, bool]]) -> tuple[str, list[tuple[int, int]]]:
    """Join (line, is_heading) pairs with blank lines; return text and heading ranges."""
    parts: list[str] = []
    headings: list[tuple[int, int]] = []
    offset = 0
    for line, is_heading in lines:
        line = normalise_text(line).replace("\n", " ")
        if not line:
            continue
        if parts:
            offset += 2
        if is_heading:
            headings.append((offset, offset + len(line)))
        parts.append(line)
        offset += len(line)
    return "\n\n".join(parts), headings


def _decode(raw: bytes, html: bool = False) -> tuple[str, str]:
    """Text and the encoding it was read with (see `pipeline.ingest.encodings`)."""
    if b"\x00" in raw[:8192] and not raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise BadInput("Binary", "binary file (contains NUL bytes), not text")
    try:
        decoded = decode(raw, html=html)
    except UndecodableText as error:
        raise BadInput("NotUTF8", str(error)) from None
    return decoded.text, decoded.encoding


def guess_format(text: str) -> str:
    """html, md or txt for a text field whose format the record does not say.

    Markdown needs a heading line, or at least two links or strong emphases written the
    Markdown way, so prose with one asterisk is not read as Markdown.
    """
    head = text[:2000].lstrip().lower()
    if head.startswith(("<!doctype html", "<html")) or "<p>" in head:
        return "html"
    sample = text[:5000]
    if re.search(r"^#{1,6} \S", sample, flags=re.MULTILINE):
        return "md"
    if len(_MD_SIGNS.findall(sample)) >= 2:
        return "md"
    return "txt"


def _first(record: dict, keys: tuple[str, ...]) -> object:
    for key in keys:
        if key in record and record[key] is not None:
            return record[key]
    return None


def _string(value: object, what: str, repairs: list[str]) -> str | None:
    """A record's metadata value as safe text; None when missing or blank."""
    if value is None:
        return None
    if isinstance(value, dict | list):
        repairs.append(f"{what}: a JSON {type(value).__name__}, kept as its JSON text")
        value = json.dumps(value, ensure_ascii=False)
    text = make_safe(str(value), what, repairs).strip()
    return text or None


def _too_large(size: int, max_chars: int, unit: str = "bytes") -> str:
    return (
        f"article too large: {size:,} {unit} (limit {max_chars:,} characters; "
        "raise --max-chars to accept it)"
    )


def parse_date(value: object) -> datetime | None:
    """A UTC datetime from an epoch number (seconds or milliseconds), a YYYYMMDD number or
    an ISO-like string; None when unknown."""
    if value is None or value == "":
        return None
    try:
        text = str(value).strip()
        if re.fullmatch(r"(19|20)\d\d(0[1-9]|1[0-2])(0[1-9]|[12]\d|3[01])", text):
            return datetime.strptime(text, "%Y%m%d").replace(tzinfo=UTC)  # 20230101
        if re.fullmatch(r"\d+(\.\d+)?", text):
            seconds = float(text)
            if seconds > 1e11:  # epoch milliseconds (JavaScript's Date.now())
                seconds /= 1000
            return datetime.fromtimestamp(seconds, tz=UTC)
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except (ValueError, OverflowError, OSError):
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
