"""Score HTML main-content extractors on tests/data/html_pages (24 pages written for this).

For each page, `expected.json` lists sentences the article text must contain and strings
(hidden text, teasers, navigation, banners, footers) it must not. Prints, per extractor,
the missed sentences, the leaked strings, and the pages read entirely right.

    python benchmarks/html_extraction.py [--show]
"""

from __future__ import annotations

import argparse
import html as html_module
import importlib.util
import json
import re
from collections.abc import Callable
from pathlib import Path

FIXTURE = Path(__file__).resolve().parent.parent / "tests" / "data" / "html_pages"
_SPACE = re.compile(r"\s+")


def ours(page: str) -> str:
    from pipeline.ingest.html import parse_html

    return "\n".join(text for text, _ in parse_html(page).lines)


def trafilatura_default(page: str) -> str:
    import trafilatura

    return trafilatura.extract(page, include_comments=False, include_tables=False) or ""


def readability(page: str) -> str:
    from lxml.html import fromstring
    from readability import Document

    summary = Document(page).summary(html_partial=True)
    return fromstring(summary).text_content() if summary.strip() else ""


EXTRACTORS: dict[str, Callable[[str], str]] = {
    "pipeline.ingest.html (trafilatura + hidden/teaser clean-up)": ours,
    "trafilatura alone (defaults)": trafilatura_default,
    "readability-lxml": readability,  # pip install readability-lxml to compare (not a dependency)
}


def _norm(text: str) -> str:
    return _SPACE.sub(" ", html_module.unescape(text)).strip()


def score(extract: Callable[[str], str], show: bool = False) -> tuple[int, int, int, int, int]:
    expected = json.loads((FIXTURE / "expected.json").read_text(encoding="utf-8"))
    missed = leaked = perfect = needed = forbidden = 0
    from pipeline.ingest.encodings import decode

    for name, spec in sorted(expected.items()):
        page = decode((FIXTURE / name).read_bytes(), html=True).text
        try:
            text = _norm(extract(page))
        except Exception as error:  # an extractor that fails reads nothing
            text = ""
            print(f"  {name}: {type(error).__name__}: {error}")
        miss = [s for s in spec["must_contain"] if _norm(s) not in text]
        leak = [s for s in spec["must_not_contain"] if _norm(s) in text]
        needed += len(spec["must_contain"])
        forbidden += len(spec["must_not_contain"])
        missed += len(miss)
        leaked += len(leak)
        perfect += not miss and not leak
        if show and (miss or leak):
            print(f"  {name}: missed {miss[:3]} leaked {leak[:3]}")
    return missed, needed, leaked, forbidden, perfect


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--show", action="store_true", help="list each page's misses and leaks")
    args = parser.parse_args()
    pages = len(json.loads((FIXTURE / "expected.json").read_text(encoding="utf-8")))
    print(f"| extractor | sentences missed | strings leaked | pages right (of {pages}) |")
    print("|---|---|---|---|")
    for label, extract in EXTRACTORS.items():
        if label.startswith("readability") and importlib.util.find_spec("readability") is None:
            print(f"| {label} | not installed | | |")
            continue
        if args.show:
            print(label)
        missed, needed, leaked, forbidden, perfect = score(extract, args.show)
        print(f"| {label} | {missed} of {needed} | {leaked} of {forbidden} | {perfect} |")


if __name__ == "__main__":
    main()
