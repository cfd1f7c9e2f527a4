"""Table schemas are documented, and docs/tables.md is generated from them."""

from __future__ import annotations

from conftest import PROJECT_DIR

from pipeline.storage.schemas import TABLES, markdown


def test_every_column_is_documented():
    for name, schema in TABLES.items():
        assert schema.metadata[b"description"], name
        for field in schema:
            assert field.metadata and field.metadata[b"description"].strip(), (name, field.name)


def test_docs_match_the_schemas():
    docs = (PROJECT_DIR / "docs" / "tables.md").read_text()
    assert docs == markdown(), "regenerate with: make docs"
