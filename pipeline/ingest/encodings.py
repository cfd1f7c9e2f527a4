"""Bytes to text: byte-order mark, the page's declared charset, UTF-8, then detection.

Real corpora hold Windows-1252 news pages, Latin-1 text files and UTF-8 with a BOM next to
plain UTF-8. The order follows the HTML standard's encoding sniffing: a BOM wins, then a
charset the page declares (`<meta charset>`, `http-equiv`), then UTF-8 if the bytes are
valid UTF-8, and only then statistical detection (charset-normalizer). Input that no
encoding reads cleanly stays an error (`NotUTF8`), never silently garbled text.
"""

from __future__ import annotations

import codecs
import re
from dataclasses import dataclass

from charset_normalizer import from_bytes

_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32-le"),
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)
# <meta charset="x">, <meta http-equiv="Content-Type" content="text/html; charset=x">, and
# an XML declaration's encoding, within the first bytes of the page as the standard says.
_DECLARED = re.compile(
    rb"""<meta[^>]+charset\s*=\s*["']?\s*([a-zA-Z0-9_.:-]+)|<\?xml[^>]+encoding\s*=\s*["']([a-zA-Z0-9_.:-]+)""",
    re.IGNORECASE,
)
_SNIFF_BYTES = 4096
# The WHATWG Encoding Standard maps these labels to windows-1252, as every browser does:
# pages labelled Latin-1 routinely carry curly quotes in the 0x80-0x9F range.
_WINDOWS_1252_LABELS = {"iso-8859-1", "iso8859-1", "latin1", "latin-1", "ascii", "us-ascii"}
# A detected result with more replacement or control characters than this is not text.
_MAX_JUNK_SHARE = 0.01
_CHAOS_TIE = 0.01  # detector readings this close in "chaos" are equally plausible


class UndecodableText(ValueError):
    """Bytes that no encoding reads as text (the caller records them as `NotUTF8`)."""


@dataclass(frozen=True)
class Decoded:
    """Text read from bytes, and how: `encoding` is its name as the web spells it (`utf-8`,
    `windows-1252`...); `declared` tells whether the source named it (BOM or charset)."""

    text: str
    encoding: str
    declared: bool


def declared_charset(raw: bytes) -> str | None:
    """The charset an HTML page declares in its first 4 KiB, as a Python codec name."""
    match = _DECLARED.search(raw[:_SNIFF_BYTES])
    if match is None:
        return None
    label = (match.group(1) or match.group(2)).decode("ascii", "replace").strip().lower()
    if label in _WINDOWS_1252_LABELS:
        return "cp1252"
    try:
        return codecs.lookup(label).name
    except LookupError:
        return None


def decode(raw: bytes, *, html: bool = False) -> Decoded:
    """Decode `raw`: BOM, then (for HTML) the declared charset, then UTF-8, then detection.

    Raises UndecodableText with the first bad byte when nothing reads it as text.
    """
    for bom, encoding in _BOMS:
        if raw.startswith(bom):
            return Decoded(raw[len(bom) :].decode(encoding, "replace"), _name(encoding), True)
    if html:
        encoding = declared_charset(raw)
        if encoding == "utf-8":  # declared UTF-8 with a few bad bytes: still UTF-8
            return Decoded(raw.decode("utf-8", "replace"), "utf-8", True)
        if encoding is not None and not encoding.startswith("utf-16"):
            try:
                return Decoded(raw.decode(encoding), _name(encoding), True)
            except UnicodeDecodeError:
                pass  # a wrong declaration: fall through to UTF-8 and detection
    try:
        return Decoded(raw.decode("utf-8"), "utf-8", False)
    except UnicodeDecodeError as error:
        first_bad = error.start
    detected = _detect(raw)
    if detected is not None:
        return detected
    raise UndecodableText(
        f"not valid UTF-8 and no other encoding reads it: byte 0x{raw[first_bad]:02x} at "
        f"position {first_bad}"
    )


def _detect(raw: bytes) -> Decoded | None:
    """charset-normalizer's reading, preferring windows-1252 among equally plausible ones.

    On short Western text every single-byte code page reads without "chaos", and the
    detector's first pick among them is arbitrary (cp1250 for French, cp1006 for "Café").
    Browsers fall back to windows-1252 for undeclared pages in English locales; so do we
    whenever the detector finds it as plausible as its best guess.
    """
    matches = [match for match in from_bytes(raw) if match.encoding]
    if not matches:
        return None
    least_chaos = min(match.chaos for match in matches)
    plausible = [match for match in matches if match.chaos <= least_chaos + _CHAOS_TIE]
    for match in plausible:
        if "cp1252" in match.could_be_from_charset:  # reads the same as windows-1252
            text, encoding = raw.decode("cp1252", "replace"), "windows-1252"
            break
    else:
        text, encoding = str(plausible[0]), _name(plausible[0].encoding)
    if _junk_share(text) > _MAX_JUNK_SHARE:
        return None
    return Decoded(text, encoding, False)


def _name(encoding: str) -> str:
    """An encoding's name as the web spells it: `utf-8`, `windows-1252`, `iso-8859-2`."""
    name = codecs.lookup(encoding).name
    if re.fullmatch(r"cp125\d", name):
        return f"windows-{name[2:]}"
    if name.startswith("iso8859-"):
        return f"iso-8859-{name[8:]}"
    return name


def _junk_share(text: str) -> float:
    if not text:
        return 1.0
    junk = sum(
        1
        for character in text
        if character == "\ufffd" or (ord(character) < 32 and character not in "\t\n\r\f")
    )
    return junk / len(text)
