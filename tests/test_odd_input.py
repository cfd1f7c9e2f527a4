"""Odd real-world input loses nothing: broken metadata, hidden or split HTML, legacy
encodings, BOMs and Markdown in JSON Lines, non-prose lines (issue 16).

Each handed input of the issue is a test with its right value; the variants beside it are
our own instances of the same kind.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pytest
from test_ingest import _read

from pipeline.ingest import Document
from pipeline.runs import batches
from pipeline.runs.runner import (
    BatchJob,
    RunOptions,
    isolate_failed_batch,
    process_batch,
    run_corpus,
)


def _table(out: Path, name: str) -> pd.DataFrame:
    return pd.read_parquet(out / name)


def _jsonl(path: Path, *lines: str) -> Path:
    """Write raw JSON lines (escapes such as \\ud83d kept as written)."""
    path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    return path


# -- 1. one broken metadata field -------------------------------------------------------

CLEAN = '{"id": "m3", "title": "Fine record", "text": "Peppermint oil may ease symptoms of irritable bowel syndrome."}'  # noqa: E501


def test_lone_surrogates_in_title_and_url_lose_nothing(tmp_path):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    _jsonl(
        corpus / "a.jsonl",
        '{"id": "m1", "title": "Ginger and nausea \\ud83d", "text": "Ginger may reduce nausea in pregnancy."}',  # noqa: E501
        '{"id": "m2", "url": "https://example.org/x\\udc80", "text": "Zinc may shorten colds in adults."}',  # noqa: E501
        CLEAN,
    )
    summary = run_corpus(corpus, tmp_path / "out")
    assert (summary.processed, summary.failed, summary.status) == (3, 0, "completed")
    documents = _table(tmp_path / "out", "documents").set_index("record_id")
    assert documents.loc["m1", "title"] == "Ginger and nausea \ufffd"
    assert list(documents.loc["m1", "repairs"]) == ["title: 1 lone surrogate replaced by U+FFFD"]
    assert documents.loc["m2", "url"] == "https://example.org/x\ufffd"
    assert list(documents.loc["m2", "repairs"]) == ["url: 1 lone surrogate replaced by U+FFFD"]
    assert documents.loc["m3", "title"] == "Fine record"
    assert list(documents.loc["m3", "repairs"]) == []
    assert len(_table(tmp_path / "out", "errors")) == 0


@pytest.mark.parametrize(
    ("record", "record_id", "repairs"),
    [
        (
            '{"id": "m1\\ud83d", "text": "Ginger may reduce nausea."}',
            "m1\ufffd",
            ["id: 1 lone surrogate replaced by U+FFFD"],
        ),
        (
            '{"id": "m1", "date": "2020-01-01\\udc80", "text": "Ginger may reduce nausea."}',
            "m1",
            ["date: not a date we can read, left empty"],
        ),
        (
            '{"id": "m1", "text": "Ginger may reduce nausea \\ud83d in pregnancy."}',
            "m1",
            ["text: 1 lone surrogate replaced by U+FFFD"],
        ),
        (
            '{"id": "m1", "title": {"main": "Ginger \\udc80"}, "text": "Ginger eases nausea."}',
            "m1",
            [
                "title: a JSON dict, kept as its JSON text",
                "title: 1 lone surrogate replaced by U+FFFD",
            ],
        ),
        ('{"id": 17, "author": "\\ud800", "text": "Ginger may reduce nausea."}', "17", []),
    ],
    ids=["id", "date", "text", "title-object", "numeric-id"],
)
def test_each_kind_of_broken_field_costs_only_that_field(tmp_path, record, record_id, repairs):
    """An escape in an id or date used to crash the run and write no tables at all."""
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    _jsonl(corpus / "a.jsonl", record, CLEAN)
    summary = run_corpus(corpus, tmp_path / "out")
    assert (summary.processed, summary.failed) == (2, 0)
    documents = _table(tmp_path / "out", "documents").set_index("record_id")
    assert list(documents.loc[record_id, "repairs"]) == repairs
    assert list(documents.loc["m3", "repairs"]) == []


def test_a_file_name_that_is_not_utf8_is_read_and_recorded(tmp_path):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    name = os.fsdecode(b"caf\xe9.txt")  # a Latin-1 file name: a surrogate escape in Python
    (corpus / name).write_text("Coffee was linked to a lower risk of liver cancer.\n")
    (corpus / "fine.txt").write_text("Tea may lower blood pressure.\n")
    summary = run_corpus(corpus, tmp_path / "out")
    assert (summary.processed, summary.failed) == (2, 0)
    sources = sorted(_table(tmp_path / "out", "documents")["source"].map(lambda s: Path(s).name))
    assert sources == ["caf\ufffd.txt", "fine.txt"]


def _documents(n: int) -> list[Document]:
    texts = [f"Article {i}: turmeric may reduce joint pain in study {i}." for i in range(n)]
    return [
        Document(doc_id=f"d{i:02d}", source=f"/c/{i}.txt", format="txt", text=t)
        for i, t in enumerate(texts)
    ]


def test_a_batch_of_32_with_one_broken_article_keeps_the_other_31(monkeypatch):
    """An article whose rows no writer accepts costs that article only."""
    original = batches.document_row

    def broken_for_one(document, *args, **kwargs):
        row = original(document, *args, **kwargs)
        if document.doc_id == "d17":
            row["n_words"] = "not a number"  # fails the cast to the documents schema
        return row

    monkeypatch.setattr(batches, "document_row", broken_for_one)
    result = process_batch(BatchJob(documents=_documents(32), run_id="r"))
    assert len(result.processed_sources) == 31
    assert [(e.source, e.stage) for e in result.errors] == [("/c/17.txt", "nlp")]
    assert "d17" not in result.tables["documents"].column("doc_id").to_pylist()


def test_a_batch_that_fails_whole_is_retried_one_article_at_a_time():
    """A worker that dies on one article (here: raises for any batch holding it)."""

    def fragile(job: BatchJob):
        if any(d.doc_id == "d05" for d in job.documents):
            raise MemoryError("worker killed")
        return process_batch(job)

    job = BatchJob(documents=_documents(32), run_id="r")
    result = isolate_failed_batch(job, MemoryError("worker killed"), fragile)
    assert len(result.processed_sources) == 31
    assert [(e.source, e.error_type) for e in result.errors] == [("/c/5.txt", "MemoryError")]
    assert result.tables["documents"].num_rows == 31


def test_error_rows_are_always_writable(tmp_path, monkeypatch):
    """An error whose message carries a lone surrogate is still recorded."""
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "a.txt").write_text("Garlic may lower cholesterol.\n")

    def explode(job):
        raise ValueError("bad \udc80 byte")

    monkeypatch.setattr(batches, "process_batch", explode)
    summary = run_corpus(corpus, tmp_path / "out")
    assert summary.failed == 1
    errors = _table(tmp_path / "out", "errors")
    assert list(errors["message"].str.contains("\ufffd")) == [True]


# -- 2-3. HTML: hidden content, split stories, teasers ----------------------------------

STORY = (
    "<p>Creatine may improve muscle strength in older adults, a review of trials found.</p>"
    "<p>The benefit was largest with resistance training over twelve weeks.</p>"
)


def _page(body: str, head: str = "<title>Health news</title>") -> str:
    return f"<!doctype html><html><head>{head}</head><body>{body}</body></html>"


@pytest.mark.parametrize(
    "hidden",
    [
        "<p hidden>Colloidal silver cures infections.</p>",
        '<div style="display:none">Bleach drops cure autism.</div>',
        '<div style="DISPLAY: none;">Bleach drops cure autism.</div>',
        '<p style="visibility: hidden">Colloidal silver cures infections.</p>',
        '<div aria-hidden="true"><p>Bleach drops cure autism.</p></div>',
        "<p>Creatine is popular. <span hidden>Colloidal silver cures infections.</span></p>",
        '<p style="display : none">Colloidal silver cures infections.</p>',
        '<p style="Display:None">Bleach drops cure autism.</p>',
        '<p style="DISPLAY : NONE !important">Bleach drops cure autism.</p>',
        '<p aria-hidden="TRUE">Colloidal silver cures infections.</p>',
    ],
)
def test_hidden_html_is_not_article_text(tmp_path, hidden):
    page = _page(
        f"<article><h1>Creatine</h1>{STORY}{hidden}<p>Talk to a doctor first.</p></article>"
    )
    (tmp_path / "page.html").write_text(page)
    (doc,), _ = _read(tmp_path)
    assert "Creatine may improve muscle strength" in doc.text
    assert "Talk to a doctor first." in doc.text
    assert "Colloidal" not in doc.text and "Bleach" not in doc.text


def test_a_story_split_over_three_articles_is_kept_whole(tmp_path):
    parts = {
        "Muscle strength": "Creatine may improve muscle strength in older adults who lift.",
        "Memory": "Some small studies suggest creatine might support memory after poor sleep.",
        "Kidney safety": "Creatine does not appear to harm the kidneys of healthy adults.",
    }
    body = (
        "<nav><a href='/'>Home</a><a href='/news'>News</a></nav><main>"
        + "".join(
            f"<article><h2>{title}</h2><p>{text}</p><p>More research on {title.lower()} is under "
            "way at several universities, the authors said.</p></article>"
            for title, text in parts.items()
        )
        + "</main><footer>Copyright 2026 Health News</footer>"
    )
    (tmp_path / "page.html").write_text(_page(body))
    (doc,), _ = _read(tmp_path)
    for text in parts.values():
        assert text in doc.text
    assert "Home" not in doc.text and "Copyright" not in doc.text


@pytest.mark.parametrize("where", ["before", "after"])
def test_a_story_beside_teaser_cards_keeps_the_story_and_drops_the_teasers(tmp_path, where):
    cards = "".join(
        f"<article class='card'><h3><a href='/s{i}'>{title}</a></h3><p>{teaser}</p></article>"
        for i, (title, teaser) in enumerate(
            [
                ("Melatonin and jet lag", "Does it really work?"),
                ("Ashwagandha craze", "What the evidence says."),
            ]
        )
    )
    story = f"<div class='story-body'><h1>Creatine for older adults</h1>{STORY}</div>"
    body = cards + story if where == "before" else story + cards
    (tmp_path / "page.html").write_text(_page(body))
    (doc,), _ = _read(tmp_path)
    assert "Creatine may improve muscle strength in older adults" in doc.text
    assert "Melatonin" not in doc.text and "Ashwagandha" not in doc.text


def test_html_metadata_title_author_date_and_canonical_url(tmp_path):
    head = (
        "<title>Creatine study | Health News</title>"
        '<meta property="og:title" content="Creatine may help older adults">'
        '<meta name="author" content="Jane Roe">'
        '<meta property="article:published_time" content="2024-05-02T08:00:00Z">'
        '<link rel="canonical" href="https://news.example/creatine">'
    )
    (tmp_path / "page.html").write_text(_page(f"<article>{STORY}</article>", head))
    (doc,), _ = _read(tmp_path)
    assert doc.title == "Creatine may help older adults"
    assert doc.author == "Jane Roe"
    assert doc.url == "https://news.example/creatine"
    assert doc.date.isoformat() == "2024-05-02T08:00:00+00:00"


# -- 4. encodings -----------------------------------------------------------------------

QUOTE = "\u201cLavender oil may improve sleep quality,\u201d said the nurse \u2013 twice."


@pytest.mark.parametrize(
    ("name", "raw", "encoding", "expected"),
    [
        (
            "declared-1252.html",
            _page(f"<article><p>{QUOTE}</p></article>", '<meta charset="windows-1252">').encode(
                "cp1252"
            ),
            "windows-1252",
            QUOTE,
        ),
        (
            "http-equiv-latin1.html",
            _page(
                "<article><p>Dr. M\u00fcller said ni\u00f1os and caf\u00e9 owners took it.</p>"
                "</article>",
                '<meta http-equiv="Content-Type" content="text/html; charset=iso-8859-1">',
            ).encode("latin-1"),
            "windows-1252",  # the label as browsers read it (WHATWG Encoding Standard)
            "Dr. M\u00fcller said ni\u00f1os and caf\u00e9 owners took it.",
        ),
        (
            "undeclared-1252.html",
            _page(f"<article><p>{QUOTE}</p></article>").encode("cp1252"),
            "windows-1252",
            QUOTE,
        ),
        ("legacy.txt", f"{QUOTE}\n".encode("cp1252"), "windows-1252", QUOTE),
        (
            "latin1.txt",
            "Caf\u00e9 au lait and cr\u00e8me br\u00fbl\u00e9e are rich.\n".encode("latin-1"),
            "windows-1252",
            "Caf\u00e9 au lait and cr\u00e8me br\u00fbl\u00e9e are rich.",
        ),
        ("bom.txt", f"\ufeff{QUOTE}\n".encode(), "utf-8", QUOTE),
        ("utf16.txt", f"\ufeff{QUOTE}\n".encode("utf-16-le"), "utf-16-le", QUOTE),
        (
            "cyrillic.txt",
            "Витамин D полезен для костей и зубов.".encode("cp1251"),
            "windows-1251",
            "Витамин D",
        ),
    ],
)
def test_declared_and_legacy_encodings_are_read(tmp_path, name, raw, encoding, expected):
    (tmp_path / name).write_bytes(raw)
    (doc,), errors = _read(tmp_path)
    assert errors == []
    assert expected in doc.text
    assert "\ufeff" not in doc.text
    assert doc.encoding == encoding


def test_a_page_declared_utf8_with_a_few_bad_bytes_stays_utf8(tmp_path):
    page = _page(
        "<article><p>Salt raises blood \xff\xfe pressure in most adults.</p></article>",
        '<meta charset="utf-8">',
    )
    (tmp_path / "page.html").write_bytes(page.encode("latin-1"))
    (doc,), _ = _read(tmp_path)
    assert doc.encoding == "utf-8"
    assert "Salt raises blood \ufffd\ufffd pressure" in doc.text


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (20230101, "2023-01-01T00:00:00+00:00"),
        ("20230101", "2023-01-01T00:00:00+00:00"),
        (1700000000, "2023-11-14T22:13:20+00:00"),
        (1700000000000, "2023-11-14T22:13:20+00:00"),
        ("2024-03-01T10:00:00Z", "2024-03-01T10:00:00+00:00"),
        ("yesterday", None),
    ],
)
def test_dates_in_their_common_shapes(value, expected):
    from pipeline.ingest import parse_date

    parsed = parse_date(value)
    assert (parsed.isoformat() if parsed else None) == expected


def test_undecodable_bytes_stay_an_error(tmp_path):
    (tmp_path / "noise.txt").write_bytes(bytes(range(128, 256)) * 4)
    docs, (error,) = _read(tmp_path)
    assert docs == [] and error.error_type == "NotUTF8"


def test_the_encoding_is_recorded_in_documents(tmp_path):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "a.txt").write_bytes(f"{QUOTE}\n".encode("cp1252"))
    (corpus / "b.txt").write_text("Tea may lower blood pressure.\n")
    run_corpus(corpus, tmp_path / "out")
    documents = _table(tmp_path / "out", "documents")
    by_name = dict(
        zip(documents["source"].map(lambda s: Path(s).name), documents["encoding"], strict=True)
    )
    assert by_name == {"a.txt": "windows-1252", "b.txt": "utf-8"}


# -- 5. BOM and Markdown inside a JSON Lines text field ----------------------------------


def test_bom_and_markdown_in_a_jsonl_text_field(tmp_path):
    _jsonl(
        tmp_path / "a.jsonl",
        json.dumps(
            {
                "id": "v",
                "text": "\ufeff# Valerian and sleep\n\nValerian may help you "
                "fall asleep.\n\n## Safety\n\nIt is **generally** well tolerated.",
            }
        ),
    )
    (doc,), _ = _read(tmp_path)
    assert doc.format == "md"
    assert doc.text.split("\n\n") == [
        "Valerian and sleep",
        "Valerian may help you fall asleep.",
        "Safety",
        "It is generally well tolerated.",
    ]
    assert [doc.text[s:e] for s, e in doc.heading_lines] == ["Valerian and sleep", "Safety"]
    assert doc.title == "Valerian and sleep"


def test_markdown_without_headings_is_recognised_and_plain_lists_are_not(tmp_path):
    _jsonl(
        tmp_path / "a.jsonl",
        json.dumps({"id": "md", "text": "See [the trial](https://x.org/t) and **key** points."}),
        json.dumps({"id": "txt", "text": "Two findings:\n1) Zinc helps.\n2) Iron does not."}),
    )
    docs, _ = _read(tmp_path)
    by_id = {d.record_id: d for d in docs}
    assert (by_id["md"].format, by_id["md"].text) == ("md", "See the trial and key points.")
    assert by_id["txt"].format == "txt"


def test_jsonl_format_forces_markdown(tmp_path):
    _jsonl(tmp_path / "a.jsonl", json.dumps({"id": "m", "text": "Zinc *may* help colds."}))
    from pipeline.ingest import JsonlFields

    (doc,), _ = _read(tmp_path, fields=JsonlFields(format="md"))
    assert (doc.format, doc.text) == ("md", "Zinc may help colds.")


# -- non-prose lines and templates --------------------------------------------------------

DRUG_PAGE = """# Examplamine

Examplamine may reduce anxiety in adults.

## Drug Interactions

The risk or severity of adverse effects can be increased when Examplamine is combined \
with Alprazolam.

- Examplamine may cause drowsiness.

## Drug Categories

Agents that produce hypertension

ATC code: N06AX99

| Dose | Effect |

## References

1. ↑ Smith J, Jones K. Examplamine and anxiety. J Psych. 2019;12(3):45-50. doi:10.1000/xyz123
"""


def test_sentence_kinds_and_claims_only_from_prose_list_items_and_templates(tmp_path):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "examplamine.md").write_text(DRUG_PAGE)
    run_corpus(corpus, tmp_path / "out")
    sentences = _table(tmp_path / "out", "sentences")
    kinds = dict(zip(sentences["text"], sentences["kind"], strict=True))
    assert kinds["Examplamine may reduce anxiety in adults."] == "prose"
    assert kinds["Drug Interactions"] == "heading"
    assert kinds["Agents that produce hypertension"] == "category"
    assert kinds["ATC code: N06AX99"] == "category"
    assert kinds["Examplamine may cause drowsiness."] == "list_item"
    template = next(t for t in kinds if t.startswith("The risk or severity"))
    assert kinds[template] == "template"
    assert {kinds[t] for t in kinds if "Smith J" in t or "2019" in t} == {"reference"}
    claims = _table(tmp_path / "out", "claims")
    kind_of = dict(zip(sentences["sentence_id"], sentences["kind"], strict=True))
    claim_kinds = set(claims["sentence_id"].map(kind_of))
    assert claim_kinds <= {"prose", "list_item", "template"}
    assert "template" in claim_kinds  # a drug-interaction risk is a claim, kept
    assert (claims["template"] == claims["sentence_id"].map(kind_of).eq("template")).all()


def test_a_sentence_repeated_verbatim_across_articles_counts_once(tmp_path):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    boiler = "Kratom may cause liver injury in some users."
    for i in range(4):
        (corpus / f"site{i}.md").write_text(f"# Page {i}\n\nA page about topic {i}.\n\n{boiler}\n")
    (corpus / "news.txt").write_text("Kratom may cause liver injury, doctors warned.\n")
    run_corpus(corpus, tmp_path / "out")
    summary = _table(tmp_path / "out", "claim_summary")
    summary = summary[summary["level"] == "claim"]
    row = summary[(summary["substance"] == "kratom") & (summary["effect"] == "liver injury")]
    assert len(row) == 1
    row = row.iloc[0]
    assert (row["n_articles"], row["n_sentences"], row["n_claims"], row["n_repeated"]) == (
        2,
        2,
        5,
        4,
    )


# -- summary of a re-run -----------------------------------------------------------------


def test_errors_of_unchanged_sources_are_known_on_a_rerun(tmp_path):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "empty.txt").write_text("  \n")
    (corpus / "a.txt").write_text("Garlic may lower cholesterol.\n")
    first = run_corpus(corpus, tmp_path / "out")
    assert (first.failed, first.known_failed) == (1, 0)
    (corpus / "b.txt").write_text("")
    second = run_corpus(corpus, tmp_path / "out", RunOptions())
    assert (second.failed, second.known_failed) == (2, 1)


def test_schema_keeps_the_new_columns():
    from pipeline.storage.schemas import CLAIMS, DOCUMENTS, SENTENCES

    assert DOCUMENTS.field("encoding").type == pa.string()
    assert DOCUMENTS.field("repairs").type == pa.list_(pa.string())
    assert SENTENCES.field("kind").type == pa.string()
    assert CLAIMS.field("template").type == pa.bool_()


# -- a pipeline version that cannot go stale -------------------------------------------


def _package(root: Path, files: dict[str, str]) -> None:
    for name, source in files.items():
        path = root / "fakepkg" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(source)


def test_code_fingerprint_follows_imports_and_ignores_unimported_modules(tmp_path, monkeypatch):
    import sys
    import types

    from pipeline.nlp.loader import code_fingerprint

    _package(
        tmp_path,
        {
            "__init__.py": "",
            "component.py": "from fakepkg import words\nimport spacy\n",
            "words.py": "WORDS = ['may']\n",
            "report.py": "X = 1\n",
        },
    )
    package = types.ModuleType("fakepkg")
    package.__file__ = str(tmp_path / "fakepkg" / "__init__.py")
    monkeypatch.setitem(sys.modules, "fakepkg", package)
    before = code_fingerprint(["fakepkg.component"], package="fakepkg")
    (tmp_path / "fakepkg" / "report.py").write_text("X = 2\n")  # not imported: no change
    assert code_fingerprint(["fakepkg.component"], package="fakepkg") == before
    (tmp_path / "fakepkg" / "words.py").write_text("WORDS = ['may', 'might']\n")
    changed = code_fingerprint(["fakepkg.component"], package="fakepkg")
    assert changed != before
    # A new module, imported relatively from an imported one, joins the version.
    (tmp_path / "fakepkg" / "words.py").write_text("from .extra import MORE\nWORDS = ['may']\n")
    (tmp_path / "fakepkg" / "extra.py").write_text("MORE = []\n")
    with_module = code_fingerprint(["fakepkg.component"], package="fakepkg")
    (tmp_path / "fakepkg" / "extra.py").write_text("MORE = ['could']\n")
    assert code_fingerprint(["fakepkg.component"], package="fakepkg") != with_module


def test_pipeline_version_changes_with_a_saved_word_list(tmp_path):
    from pipeline.nlp.loader import BASE_CONFIG, load

    nlp = load(BASE_CONFIG)
    nlp.to_disk(tmp_path / "model")
    first = load(tmp_path / "model").meta["claims_pipeline_version"]
    assert load(tmp_path / "model").meta["claims_pipeline_version"] == first  # stable
    patterns = tmp_path / "model" / "claims_layout" / "line_kinds.json"
    data = json.loads(patterns.read_text())
    data["sections"]["reference"].append("Quellen")
    patterns.write_text(json.dumps(data))
    assert load(tmp_path / "model").meta["claims_pipeline_version"] != first


def test_the_shipped_pipeline_version_covers_every_module_it_imports(nlp):
    from pipeline.nlp.loader import ROW_MODULES, _import_closure, component_modules

    modules, libraries = _import_closure([*component_modules(nlp), *ROW_MODULES], "pipeline")
    assert {
        "pipeline.nlp.layout",
        "pipeline.nlp.claims",
        "pipeline.nlp.evidence",  # imported by claims.py: a hand-kept list once missed such
        "pipeline.ingest",
        "pipeline.ingest.html",
        "pipeline.ingest.encodings",
        "pipeline.storage.records",
    } <= set(modules)
    assert {"spacy", "trafilatura", "charset_normalizer"} <= libraries
