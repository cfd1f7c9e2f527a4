"""HTML page to article: its text blocks as lines (headings marked) and its metadata.

Main-content extraction is trafilatura's (Apache-2.0; Barbaresi, ACL 2021 demos), the
field's standard: it keeps a story split over several `<article>` or `<section>` elements
whole, and drops navigation, teasers, share bars, comments, cookie banners and footers.
Before it runs, content a reader never sees is removed: elements with the `hidden`
attribute, `aria-hidden="true"`, or an inline `display:none` / `visibility:hidden` style
(a hidden "Colloidal silver cures infections." must not become a claim).

Metadata comes from the page's own declarations first (Open Graph, `<link
rel="canonical">`, `article:published_time`, `<time datetime>`), then from trafilatura's
metadata extraction (headline, author; JSON-LD). The date is only ever a declared one.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import trafilatura
from lxml import etree
from lxml.html import HtmlElement
from trafilatura.settings import use_config

# CSS is case-insensitive and allows spaces around the colon: compare the style attribute
# lowercased with its spaces removed (translate drops the trailing space it has no pair for).
_STYLE = "translate(@style, 'ABCDEFGHIJKLMNOPQRSTUVWXYZ \t', 'abcdefghijklmnopqrstuvwxyz')"
_HIDDEN = (
    "//*[@hidden"
    " or translate(@aria-hidden, 'TRUE', 'true') = 'true'"
    f" or contains({_STYLE}, 'display:none')"
    f" or contains({_STYLE}, 'visibility:hidden')]"
)
_SPACE = re.compile(r"\s+")
# An <article> is a teaser card when shorter than this and than this share of the story.
_CARD_MAX_CHARS = 400
_CARD_MAX_SHARE = 0.25
# Elements of trafilatura's XML output that hold a line of text each.
_LINE_ELEMENTS = {"p", "item", "head", "quote", "code"}
# trafilatura's settings: a short page is still an article (its default, 250 characters,
# reads a brief story as one blob of the whole page), and no alarm-signal timeout (signals
# only work in the main thread; batches run in worker threads).
_CONFIG = use_config()
_CONFIG.set("DEFAULT", "MIN_EXTRACTED_SIZE", "1")
_CONFIG.set("DEFAULT", "EXTRACTION_TIMEOUT", "0")
_CONFIG.set("DEFAULT", "EXTENSIVE_DATE_SEARCH", "off")


@dataclass
class HtmlArticle:
    """What a page holds: `lines` are (text, is_heading) in reading order."""

    lines: list[tuple[str, bool]]
    title: str | None
    url: str | None
    date: str | None
    author: str | None = None


def parse_html(page: str) -> HtmlArticle:
    """Extract the readable article of an HTML page (its text and metadata).

    An empty or unparsable page gives an article with no lines (the caller records it as
    an empty document).
    """
    tree = trafilatura.load_html(page)
    if tree is None:
        return HtmlArticle(lines=[], title=None, url=None, date=None)
    _drop_hidden(tree)
    _drop_teaser_cards(tree)
    declared = _declared_metadata(tree)
    found = trafilatura.extract_metadata(tree, extensive=False)
    title = declared["title"] or (found.title if found is not None else None)
    author = found.author if found is not None else None
    url = declared["url"] or (found.url if found is not None else None)
    date = declared["date"]  # never a date guessed from the text ("last edited ...")
    return HtmlArticle(
        lines=_main_lines(tree), title=_clean(title), url=url, date=date, author=_clean(author)
    )


def _drop_hidden(tree: HtmlElement) -> None:
    for node in tree.xpath(_HIDDEN):
        if node.getparent() is not None:
            node.drop_tree()


def _drop_teaser_cards(tree: HtmlElement) -> None:
    """Drop `<article>` cards (a headline and a line of teaser) beside a real story.

    A page with several `<article>` elements holds either one story split in parts (parts
    of similar length: all kept, read as sections of one story) or a story among "related"
    cards, each a fraction of the story's length (dropped). trafilatura reads the first
    `<article>` it finds, so a card placed before the story would replace it, and a story
    in three parts would lose two.
    """
    articles = tree.xpath("//article")
    if len(articles) < 2:
        return
    # The story's length: the longest <article>, or the longest block holding none (a
    # story in a <div> beside the cards).
    blocks = tree.xpath(
        "//div[not(.//article) and not(ancestor::article)] | //section"
        "[not(.//article) and not(ancestor::article)]"
    )
    story = max(len(_text_of(node)) for node in articles + blocks)
    for node in articles:
        length = len(_text_of(node))
        is_card = length < _CARD_MAX_CHARS and length < _CARD_MAX_SHARE * story
        if is_card and node.getparent() is not None:
            node.drop_tree()
    remaining = tree.xpath("//article")
    if len(remaining) > 1:  # parts of one story: one container, read whole
        for node in remaining:
            node.tag = "section"


def _text_of(node: HtmlElement) -> str:
    return _SPACE.sub(" ", node.text_content()).strip()


def _declared_metadata(tree: HtmlElement) -> dict[str, str | None]:
    """Title, canonical URL and publication time exactly as the page declares them."""
    return {
        "title": _first(
            tree,
            "//meta[@property='og:title']/@content",
            "//meta[@name='twitter:title']/@content",
            "//h1",
            "//title",
        ),
        "url": _first(
            tree, "//link[@rel='canonical']/@href", "//meta[@property='og:url']/@content"
        ),
        "date": _first(
            tree,
            "//meta[@property='article:published_time']/@content",
            "//meta[@name='date']/@content",
            "//meta[@name='pubdate']/@content",
            "//meta[@itemprop='datePublished']/@content",
            "//time[@datetime]/@datetime",
        ),
    }


def _first(tree: HtmlElement, *paths: str) -> str | None:
    for path in paths:
        for value in tree.xpath(path):
            text = value if isinstance(value, str) else value.text_content()
            text = _clean(text)
            if text:
                return text
    return None


def _main_lines(tree: HtmlElement) -> list[tuple[str, bool]]:
    """The main content's blocks, from trafilatura's XML output, as (text, is_heading)."""
    xml = trafilatura.extract(
        tree,
        output_format="xml",
        include_comments=False,
        include_tables=False,
        include_images=False,
        include_links=False,
        include_formatting=False,
        deduplicate=False,
        favor_recall=True,
        config=_CONFIG,
    )
    if not xml:
        return []
    root = etree.fromstring(xml.encode("utf-8"))
    main = root.find("main")
    lines: list[tuple[str, bool]] = []
    for element in (main if main is not None else root).iter(*_LINE_ELEMENTS):
        if any(child.tag in _LINE_ELEMENTS for child in element):
            continue  # a container (a list item holding paragraphs): its children are lines
        for line_break in element.iter("lb"):
            line_break.tail = " " + (line_break.tail or "")
        text = _clean("".join(element.itertext()))
        if text:
            lines.append((text, element.tag == "head"))
    return lines


def _clean(text: str | None) -> str | None:
    if text is None:
        return None
    text = _SPACE.sub(" ", text).strip()
    return text or None
