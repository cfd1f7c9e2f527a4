"""Self-check of the HTML extraction fixture (run from the repository root).

    python3 tests/data/html_pages/check_fixture.py

For every page listed in expected.json: the file exists, decodes with its declared
encoding, every must_contain sentence is in the page text (tags stripped naively,
entities unescaped, whitespace collapsed) and every must_not_contain string is in the
raw page, so each negative test really has something to leak. Exits 1 on any failure.
"""

from __future__ import annotations

import html
import json
import re
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
ENCODINGS = {"utf-8", "windows-1252", "iso-8859-1"}
FIELDS = ("kind", "title", "url", "date", "encoding", "must_contain", "must_not_contain")
# Inline tags vanish without a trace ("<em>may</em> help" -> "may help"); any other tag
# becomes a space, so text from neighbouring blocks never runs together.
INLINE = re.compile(
    r"</?(?:a|abbr|b|cite|code|em|font|i|mark|q|small|span|strong|sub|sup|time|u)\b[^>]*>", re.I
)


def page_text(raw: str) -> str:
    text = re.sub(r"<!--.*?-->", " ", raw, flags=re.S)
    text = INLINE.sub("", text)
    text = re.sub(r"<[^>]*>", " ", text)
    text = html.unescape(text)
    return re.sub(r"\s+", " ", text).strip()


def check_page(name: str, entry: dict) -> list[str]:
    problems = []
    missing_fields = [f for f in FIELDS if f not in entry]
    if missing_fields:
        return [f"missing fields {missing_fields}"]
    path = HERE / name
    if not path.is_file():
        return ["file does not exist"]
    encoding = entry["encoding"]
    if encoding not in ENCODINGS:
        return [f"unknown encoding {encoding!r}"]
    data = path.read_bytes()
    try:
        raw = data.decode(encoding)
    except UnicodeDecodeError as error:
        return [f"does not decode as {encoding}: {error}"]
    if encoding != "utf-8":
        try:
            data.decode("utf-8")
            problems.append(f"declared {encoding} but the bytes are valid UTF-8 (no real encoding test)")
        except UnicodeDecodeError:
            pass
    text = page_text(raw)
    unescaped_raw = html.unescape(raw)

    must = entry["must_contain"]
    must_not = entry["must_not_contain"]
    if not 6 <= len(must) <= 12:
        problems.append(f"{len(must)} must_contain sentences, expected 6 to 12")
    if not must_not:
        problems.append("no must_not_contain strings")
    for sentence in must:
        if sentence not in text:
            problems.append(f"must_contain not in page text: {sentence!r}")
    for string in must_not:
        if string not in raw and string not in unescaped_raw:
            problems.append(f"must_not_contain not in raw page: {string!r}")
        for sentence in must:
            if string in sentence:
                problems.append(f"must_not_contain {string!r} is part of must_contain {sentence!r}")
    if entry["title"] and html.escape(entry["title"], quote=False) not in raw and entry["title"] not in unescaped_raw:
        problems.append(f"title not in page: {entry['title']!r}")
    for field in ("url", "date"):
        if entry[field] is not None and entry[field] not in raw:
            problems.append(f"{field} not in page: {entry[field]!r}")
    return problems


def main() -> int:
    expected = json.loads((HERE / "expected.json").read_text(encoding="utf-8"))
    failures = 0
    for name, entry in expected.items():
        problems = check_page(name, entry)
        status = "ok" if not problems else "FAIL"
        print(
            f"{status:4} {name}  [{entry.get('encoding')}] "
            f"{len(entry.get('must_contain', []))} must_contain, "
            f"{len(entry.get('must_not_contain', []))} must_not_contain"
        )
        for problem in problems:
            print(f"       - {problem}")
        failures += bool(problems)
    unlisted = sorted(p.name for p in HERE.glob("*.html") if p.name not in expected)
    for name in unlisted:
        print(f"FAIL {name}  not listed in expected.json")
    failures += len(unlisted)
    print(f"\n{len(expected)} pages checked, {failures} with problems")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
