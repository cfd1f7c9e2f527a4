"""Reading every supported format, and every kind of bad input, into documents or errors."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from conftest import KRATOM, MDMA, SAMPLE_CORPUS

from pipeline.ingest import (
    Document,
    IngestError,
    JsonlFields,
    iter_documents,
    make_doc_id,
    normalise_text,
    read_text,
)
from pipeline.ingest.reader import with_headline


def _read(corpus: Path, **kwargs) -> tuple[list[Document], list[IngestError]]:
    items = list(iter_documents(corpus, **kwargs))
    return (
        [i for i in items if isinstance(i, Document)],
        [i for i in items if isinstance(i, IngestError)],
    )


def test_sample_corpus_loads_with_stable_ids():
    docs, errors = _read(SAMPLE_CORPUS)
    assert errors == []
    assert sorted(Path(d.source).name for d in docs) == [KRATOM, MDMA]
    again, _ = _read(SAMPLE_CORPUS)
    assert [d.doc_id for d in docs] == [d.doc_id for d in again]
    for doc in docs:
        assert doc.doc_id == make_doc_id(doc.text)
        assert doc.heading_lines is None  # plain text: headings come from line shape


def test_doc_id_ignores_line_endings_and_trailing_spaces(tmp_path):
    (tmp_path / "unix.txt").write_text("Kratom is a plant.\nIt has alkaloids.\n")
    (tmp_path / "windows.txt").write_bytes(b"Kratom is a plant.  \r\nIt has alkaloids.\r\n")
    docs, _ = _read(tmp_path)
    assert len({d.doc_id for d in docs}) == 1
    assert normalise_text("a \r\n\r\n\r\n\r\nb ") == "a\n\nb"


def test_markdown_headings_and_links(tmp_path):
    (tmp_path / "psilocybin.md").write_text(
        "# Psilocybin\n\nPsilocybin is a [prodrug](https://x.org) of **psilocin**.\n\n"
        "## Pharmacology\n\nPsilocin binds the 5-HT2A receptor.\n"
    )
    (doc,), errors = _read(tmp_path)
    assert errors == []
    assert doc.title == "Psilocybin"
    assert [doc.text[s:e] for s, e in doc.heading_lines] == ["Psilocybin", "Pharmacology"]
    assert "prodrug of psilocin." in doc.text
    assert "https" not in doc.text


@pytest.mark.parametrize(
    ("markdown", "url"),
    [
        (
            "# 2C-B\n*Source: https://psychonautwiki.org/wiki/2C-B*\n\nBody.",
            "https://psychonautwiki.org/wiki/2C-B",
        ),
        ("# T\n\nSource: <https://example.org/a>\n\nBody.", "https://example.org/a"),
        ("URL: https://example.org/a_b\n\nBody.", "https://example.org/a_b"),
        ("# T\n_Original URL: http://example.org/x?y=1_\n\nBody.", "http://example.org/x?y=1"),
        ("# T\n\nBody first. Source: https://example.org/x\n", None),  # not a source line
        ("# T\n\nBody.\n\nSource: https://example.org/x\n", None),  # not under the title
        ("# T\n*Source: PsychonautWiki*\n\nBody.", None),  # no address
        ("# T\n*Source: javascript:alert(1)*\n\nBody.", None),
    ],
)
def test_markdown_source_line_gives_the_url(markdown, url):
    document = read_text(markdown, kind="md")
    assert document.url == url
    assert "Body" in document.text


def test_html_article_without_navigation_or_scripts(tmp_path):
    (tmp_path / "page.html").write_text(
        """<html><head><title>Kratom news</title>
        <link rel="canonical" href="https://news.example/kratom">
        <meta property="article:published_time" content="2024-03-01T10:00:00Z">
        <script>alert('tracker')</script><style>p {color: red}</style></head>
        <body><nav><a href="/">Home</a><a href="/health">Health</a></nav>
        <article><h2>Safety</h2><p>The FDA has <em>warned</em> about kratom.</p>
        <ul><li>Kratom may cause dependence.</li></ul></article>
        <footer>Copyright</footer></body></html>"""
    )
    (doc,), _ = _read(tmp_path)
    assert doc.text == (
        "Safety\n\nThe FDA has warned about kratom.\n\nKratom may cause dependence."
    )
    assert [doc.text[s:e] for s, e in doc.heading_lines] == ["Safety"]
    assert (doc.title, doc.url) == ("Kratom news", "https://news.example/kratom")
    assert doc.date == datetime(2024, 3, 1, 10, tzinfo=UTC)


def test_jsonl_with_fakehealth_fields(tmp_path):
    records = [
        {
            "news_id": "story_1",
            "title": "Coffee study",
            "text": "Coffee may help.",
            "url": "https://a.example",
            "publish_date": 1546059600.0,
        },
        {"news_id": "story_2", "title": "Tea", "text": "Tea is a drink.", "publish_date": None},
    ]
    (tmp_path / "stories.jsonl").write_text("\n".join(json.dumps(r) for r in records) + "\n")
    docs, errors = _read(tmp_path)
    assert errors == []
    first, second = docs
    assert first.source.endswith("stories.jsonl#story_1")
    assert (first.record_id, first.title, first.url) == (
        "story_1",
        "Coffee study",
        "https://a.example",
    )
    assert first.date == datetime(2018, 12, 29, 5, tzinfo=UTC)
    assert second.date is None


def test_jsonl_field_names_are_configurable(tmp_path):
    (tmp_path / "a.jsonl").write_text(
        json.dumps({"key": "k1", "body": "Body text.", "text": "Not this."}) + "\n"
    )
    fields = JsonlFields().with_overrides(id="key", text="body")
    (doc,), _ = _read(tmp_path, fields=fields)
    assert (doc.record_id, doc.text) == ("k1", "Body text.")


def test_jsonl_markdown_text_is_detected(tmp_path):
    text = "# Kratom\n*Source: wiki*\n\n## Effects\n\nKratom is a stimulant."
    (tmp_path / "a.jsonl").write_text(json.dumps({"file": "Kratom.md", "text": text}) + "\n")
    (doc,), _ = _read(tmp_path)
    assert doc.format == "md"
    assert [doc.text[s:e] for s, e in doc.heading_lines] == ["Kratom", "Effects"]


def test_corpus_paperwork_is_not_an_article(tmp_path):
    (tmp_path / "README.md").write_text("# About this corpus\n")
    (tmp_path / "PROVENANCE.txt").write_text("copied from somewhere\n")
    (tmp_path / "article.txt").write_text("Kratom is a plant.\n")
    (tmp_path / "image.png").write_bytes(b"\x89PNG")
    docs, errors = _read(tmp_path)
    assert [Path(d.source).name for d in docs] == ["article.txt"]
    assert errors == []


def test_bad_inputs_become_errors_and_the_rest_loads(tmp_path):
    (tmp_path / "good.txt").write_text("MDMA stimulates the release of serotonin.\n")
    (tmp_path / "empty.txt").write_text("  \n\n")
    (tmp_path / "latin1.txt").write_bytes("Caf\xe9 au lait.".encode("latin-1"))
    (tmp_path / "garbage.txt").write_bytes(bytes(range(128, 256)) * 3)  # no encoding reads it
    (tmp_path / "binary.txt").write_bytes(b"\x00\x01\x02binary\x00")
    (tmp_path / "huge.txt").write_text("word " * 4_200_000)  # 21 MB
    (tmp_path / "lines.jsonl").write_text(
        '{"id": "ok", "text": "Fine."}\n{"id": "broken", "text": \n'
        '["not", "an", "object"]\n{"id": "notext", "title": "x"}\n'
        '{"id": "ok", "text": "Same id again."}\n'
    )
    docs, errors = _read(tmp_path)
    assert sorted(Path(d.source).name for d in docs) == [
        "good.txt",
        "latin1.txt",
        "lines.jsonl#ok",
    ]
    latin1 = next(d for d in docs if d.source.endswith("latin1.txt"))
    assert (latin1.text, latin1.encoding) == ("Café au lait.", "windows-1252")
    by_name = {Path(e.source).name: e for e in errors}
    assert by_name["empty.txt"].error_type == "Empty"
    assert by_name["garbage.txt"].error_type == "NotUTF8"
    assert "0x80 at position 0" in by_name["garbage.txt"].message
    assert by_name["binary.txt"].error_type == "Binary"
    assert by_name["huge.txt"].error_type == "TooLarge"
    assert "--max-chars" in by_name["huge.txt"].message
    assert by_name["lines.jsonl#line-2"].error_type == "MalformedJSON"
    assert by_name["lines.jsonl#line-3"].error_type == "MalformedJSON"
    assert by_name["lines.jsonl#notext"].error_type == "MissingText"
    assert by_name["lines.jsonl#ok"].error_type == "DuplicateId"


def test_file_vanishing_mid_run_is_an_error(tmp_path):
    for name in ("a.txt", "b.txt", "c.txt"):
        (tmp_path / name).write_text(f"Article {name}.\n")
    items = iter_documents(tmp_path)
    first = next(items)  # the files are listed; now one disappears before it is read
    (tmp_path / "b.txt").unlink()
    rest = list(items)
    assert isinstance(first, Document)
    vanished = [i for i in rest if isinstance(i, IngestError)]
    assert [(Path(e.source).name, e.error_type) for e in vanished] == [("b.txt", "Vanished")]
    assert [Path(d.source).name for d in rest if isinstance(d, Document)] == ["c.txt"]


def test_markdown_wrapped_lines_form_one_paragraph(tmp_path):
    (tmp_path / "a.md").write_text(
        "# **Safety** and [risks](http://x.org)\n\nKratom is a plant that\nacts on opioid "
        "receptors.\n- first item\n- second item\n"
    )
    (doc,), _ = _read(tmp_path)
    assert doc.text.split("\n\n") == [
        "Safety and risks",
        "Kratom is a plant that acts on opioid receptors.",
        "- first item",
        "- second item",
    ]


def test_html_reads_the_longest_article_and_keeps_its_header(tmp_path):
    (tmp_path / "page.html").write_text(
        "<html><body><article><h3>Related</h3><p>Short card.</p></article>"
        "<article><header><h1>MDMA and depression</h1></header>"
        "<p>MDMA stimulates the release of serotonin from presynaptic neurons.</p>"
        "<footer>Share this</footer></article></body></html>"
    )
    (doc,), _ = _read(tmp_path)
    assert doc.text == (
        "MDMA and depression\n\nMDMA stimulates the release of serotonin from presynaptic neurons."
    )


def test_a_records_title_becomes_its_first_line_unless_the_text_starts_with_it(tmp_path):
    """News records keep the headline apart; it is the article's first (heading) line, as
    the claim gold reads FakeHealth, and is not repeated when the text already opens with it."""
    corpus = tmp_path / "news.jsonl"
    corpus.write_text(
        '{"id": "a", "title": "Coffee linked to lower liver cancer risk", "text": "Adults were '
        'followed."}\n{"id": "b", "title": "Aspirin study", "text": "ASPIRIN  study\\n\\nIt '
        'helped."}\n{"id": "c", "text": "No title here."}\n',
        encoding="utf-8",
    )
    docs, _ = _read(corpus)
    texts = [document.text for document in docs]
    assert texts == [
        "Coffee linked to lower liver cancer risk\nAdults were followed.",
        "ASPIRIN  study\n\nIt helped.",
        "No title here.",
    ]
    assert with_headline("Body.", "  ") == "Body."
