"""HTML article to text: the article's blocks as lines, headings marked, chrome dropped.

Navigation, headers, footers, scripts and forms are removed; when the page has an
`<article>` or `<main>` element only that is read. Every block element (paragraph, list
item, heading...) becomes one line, so the layout component sees the same shape as in a
plain-text article.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from selectolax.lexbor import LexborHTMLParser as HTMLParser
from selectolax.lexbor import LexborNode as Node

# Never article text, wherever it sits.
_DROP = (
    "script, style, noscript, template, nav, aside, form, iframe, svg, button, select, "
    "[role=navigation], [role=contentinfo], [aria-hidden=true]"
)
# Page chrome when outside the article; an article's own <header> holds its title.
_PAGE_CHROME = "header, footer, [role=banner]"
_HEADINGS = {"h1", "h2", "h3", "h4", "h5", "h6"}
_BLOCKS = _HEADINGS | {
    "p",
    "div",
    "section",
    "article",
    "main",
    "li",
    "ul",
    "ol",
    "blockquote",
    "pre",
    "table",
    "tr",
    "td",
    "th",
    "dl",
    "dt",
    "dd",
    "figure",
    "figcaption",
    "br",
    "hr",
    "address",
    "details",
    "summary",
}
_SPACE = re.compile(r"\s+")


@dataclass
class HtmlArticle:
    lines: list[tuple[str, bool]]  # (text, is_heading)
    title: str | None
    url: str | None
    date: str | None


def _meta(tree: HTMLParser, *selectors: str) -> str | None:
    for selector in selectors:
        node = tree.css_first(selector)
        if node is None:
            continue
        value = node.attributes.get("content") or node.attributes.get("href")
        value = value or node.attributes.get("datetime") or node.text(strip=True)
        if value:
            return value.strip()
    return None


def _article_root(tree: HTMLParser) -> Node | None:
    """The element holding the article: the longest <article>, else <main>, else the body.

    Pages often carry "related story" cards as small <article>s around the real one.
    """
    articles = tree.css("article")
    if articles:
        return max(articles, key=lambda node: len(node.text(strip=True)))
    root = tree.css_first("main") or tree.body or tree.root
    if root is not None:
        for node in root.css(_PAGE_CHROME):
            node.decompose()
    return root


def parse_html(html: str) -> HtmlArticle:
    """Extract the readable article from an HTML page."""
    tree = HTMLParser(html)
    title = _meta(tree, 'meta[property="og:title"]', "title", "h1")
    url = _meta(tree, 'link[rel="canonical"]', 'meta[property="og:url"]')
    date = _meta(
        tree,
        'meta[property="article:published_time"]',
        'meta[name="date"]',
        'meta[name="pubdate"]',
        "time[datetime]",
    )
    for node in tree.css(_DROP):
        node.decompose()
    root = _article_root(tree)
    if root is not None:
        for node in root.css("footer"):
            node.decompose()
    lines: list[tuple[str, bool]] = []
    buffer: list[str] = []

    def flush(is_heading: bool = False) -> None:
        text = _SPACE.sub(" ", "".join(buffer)).strip()
        buffer.clear()
        if text:
            lines.append((text, is_heading))

    def walk(node: Node) -> None:
        for child in node.iter(include_text=True):
            tag = child.tag
            if tag == "-text":
                buffer.append(child.text_content or "")
            elif tag in _HEADINGS:
                flush()
                buffer.append(child.text(separator=" ") or "")
                flush(is_heading=True)
            elif tag in _BLOCKS:
                flush()
                walk(child)
                flush()
            elif tag not in {"-comment", "-doctype"}:
                walk(child)

    if root is not None:
        walk(root)
    flush()
    return HtmlArticle(lines=lines, title=title, url=url, date=date)
