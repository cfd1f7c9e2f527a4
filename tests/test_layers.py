"""The package's layers follow the data flow, and no import goes up or round in a loop.

file -> Document (ingest) -> spaCy Doc (nlp) -> rows and Parquet (storage) -> reports ->
runs; review and evaluation read what storage holds. A module may import its own layer and
the layers below it, never one above; `flows/` (Prefect, the CLI) sits on top of them all.
"""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

import pytest

from tests.conftest import PROJECT_DIR

LAYERS = {
    "pipeline.paths": 0,
    "pipeline.version": 0,
    "pipeline.ingest": 1,
    "pipeline.nlp": 2,
    "pipeline.storage": 3,
    "pipeline.reports": 4,
    "pipeline.runs": 5,
    "pipeline.review": 6,
    "pipeline.evaluation": 6,
    "flows": 7,
}


def _modules() -> dict[str, Path]:
    found = {}
    for top in ("pipeline", "flows"):
        for path in sorted((PROJECT_DIR / top).rglob("*.py")):
            parts = list(path.relative_to(PROJECT_DIR).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts = parts[:-1]
            found[".".join(parts)] = path
    return found


MODULES = _modules()


def _group(module: str) -> str | None:
    """The layer package a module belongs to (None for the `pipeline` facade itself)."""
    for prefix in sorted(LAYERS, key=len, reverse=True):
        if module == prefix or module.startswith(prefix + "."):
            return prefix
    return None


def _imports(module: str, path: Path) -> set[str]:
    """Modules of ours that `module` imports anywhere (top level, functions, TYPE_CHECKING)."""
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, node.module] if node.module else anchor)
            names.add(base)
            names.update(f"{base}.{alias.name}" for alias in node.names)
    return {name for name in names if name in MODULES and name != module}


GRAPH = {module: _imports(module, path) for module, path in MODULES.items()}


@pytest.mark.parametrize("module", sorted(MODULES))
def test_every_module_imports_on_its_own(module):
    importlib.import_module(module)


def test_every_module_belongs_to_a_layer():
    assert [m for m in MODULES if m != "pipeline" and _group(m) is None] == []


def test_no_import_goes_up_a_layer_or_sideways_between_packages_of_one_level():
    wrong = []
    for module, imported in GRAPH.items():
        mine = _group(module)
        for name in imported:
            theirs = _group(name)
            if mine is None or theirs is None:
                if theirs is None and mine is not None and mine != "flows":
                    wrong.append(f"{module} imports the package facade {name}")
                continue
            if LAYERS[theirs] > LAYERS[mine] or (LAYERS[theirs] == LAYERS[mine] and theirs != mine):
                wrong.append(f"{module} ({mine}) imports {name} ({theirs})")
    assert wrong == []


def test_no_import_loop():
    state: dict[str, int] = {}  # 1 on the current path, 2 done
    loops = []

    def visit(module: str, path: list[str]) -> None:
        state[module] = 1
        for name in sorted(GRAPH[module]):
            if state.get(name) == 1:
                loops.append(" -> ".join([*path[path.index(name) :], name]))
            elif name not in state:
                visit(name, [*path, name])
        state[module] = 2

    for module in sorted(GRAPH):
        if module not in state:
            visit(module, [module])
    assert loops == []


def test_no_sys_path_patches_in_the_package_scripts_or_benchmarks():
    patched = [
        str(path.relative_to(PROJECT_DIR))
        for folder in ("pipeline", "flows", "models/scripts", "benchmarks")
        for path in (PROJECT_DIR / folder).rglob("*.py")
        if "sys.path.insert" in path.read_text(encoding="utf-8")
    ]
    assert patched == []


# The modules that may open table parts themselves: the snapshot reader (tables, over parts),
# and the writer's own upkeep (store: carry-over and compaction; claim_summary: built from the
# staged parts at commit, before there is a snapshot to read).
PART_READERS = {
    "pipeline/storage/parts.py",
    "pipeline/storage/tables.py",
    "pipeline/storage/store.py",
    "pipeline/storage/claim_summary.py",
}
PARQUET_READS = ("read_parquet", "pq.read_table", "ParquetFile", "parquet_scan", "read_parts(")


def test_every_table_reader_goes_through_the_snapshot_reader():
    readers = sorted(
        f"{path.relative_to(PROJECT_DIR)}: {word}"
        for folder in ("pipeline", "flows")
        for path in (PROJECT_DIR / folder).rglob("*.py")
        if str(path.relative_to(PROJECT_DIR)) not in PART_READERS
        for line in path.read_text(encoding="utf-8").splitlines()
        if not line.lstrip().startswith(("#", '"', "'"))
        for word in PARQUET_READS
        if word in line
    )
    assert readers == []
