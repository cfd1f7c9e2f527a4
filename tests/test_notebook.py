"""`notebooks/explore_claims.ipynb` runs top to bottom in a real kernel, as a reader runs it."""

from __future__ import annotations

import re

import nbformat
import pytest
from conftest import PROJECT_DIR
from nbclient import NotebookClient

NOTEBOOK = PROJECT_DIR / "notebooks" / "explore_claims.ipynb"

pytestmark = pytest.mark.slow


def _outputs(notebook, kind: str) -> list:
    return [
        output
        for cell in notebook.cells
        if cell.cell_type == "code"
        for output in cell.get("outputs", [])
        if kind in output.get("data", {}) or output.get("output_type") == kind
    ]


def test_the_notebook_runs_the_sample_corpus_and_answers_with_plots(tmp_path, monkeypatch):
    tables_dir = tmp_path / "tables"
    monkeypatch.setenv("CLAIMS_TABLES", str(tables_dir))  # the kernel inherits it
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    for cell in notebook.cells:  # run from a clean state, not the stored outputs
        if cell.cell_type == "code":
            cell.outputs = []
    client = NotebookClient(
        notebook,
        timeout=300,
        kernel_name="python3",
        resources={"metadata": {"path": str(NOTEBOOK.parent)}},
    )
    client.execute()  # raises CellExecutionError, with the cell's traceback, on any error

    printed = "".join(output["text"] for output in _outputs(notebook, "stream"))
    assert "ran the pipeline on corpus/: 2 articles" in printed
    assert re.search(r"2 articles, [\d,]+ sentences, [\d,]+ claims", printed)
    assert "Of all claims:" in printed and "hedged" in printed
    assert len(_outputs(notebook, "image/png")) == 3  # one figure per question
    tables_shown = "".join(o["data"]["text/html"] for o in _outputs(notebook, "text/html"))
    assert "mdma" in tables_shown and "example_sentence" in tables_shown
    assert (tables_dir / "claim_summary").is_dir()


def test_the_notebook_is_valid_and_reads_tables_through_the_loader():
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    nbformat.validate(notebook)
    source = "\n".join(cell.source for cell in notebook.cells if cell.cell_type == "code")
    assert "tables.frames(TABLES)" in source and "tables.duckdb(TABLES)" in source
