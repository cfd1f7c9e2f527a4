"""Table schemas are documented, and docs/tables.md is generated from them."""

from __future__ import annotations

import pytest
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


def test_a_row_that_drifts_from_its_schema_is_refused():
    """The schema is the one definition of a row: builders cannot add or forget a column."""
    from pipeline.storage.schemas import TABLES, columns, to_table

    row = {name: None for name in TABLES["errors"].names}
    assert to_table("errors", [row]).num_rows == 1
    with pytest.raises(ValueError, match=r"missing \['message'\]"):
        to_table("errors", [{k: v for k, v in row.items() if k != "message"}])
    with pytest.raises(ValueError, match=r"unknown \['severity'\]"):
        to_table("errors", [{**row, "severity": "high"}])
    assert columns("claims", "claim_id", "rule") == ("claim_id", "rule")
    with pytest.raises(KeyError, match="evidence"):  # its name before schema version 7
        columns("claims", "claim_id", "evidence")
