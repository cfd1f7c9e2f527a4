"""Build or load the claims pipeline: `pipeline.load()` is the one entry point.

The pipeline is named by a path: a trained pipeline directory (as written by
`nlp.to_disk`, e.g. `models/<name>`) or a `config.cfg`. The default is the first that exists
of `$CLAIMS_MODEL`, the shipped trained pipeline, and the rule-based `base.cfg`, so notebooks,
flows and tests all get the same pipeline with no other step.
"""

from __future__ import annotations

import ast
import functools
import gzip
import hashlib
import importlib.metadata
import os
import sys
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import spacy
from spacy.language import Language
from spacy.util import registry

from pipeline.ingest import Document

# Importing registers our factories and tokenizer when the package is not installed
# (installed, spaCy also finds them through entry points).
from pipeline.nlp import (  # noqa: F401
    abbreviations,
    claims,
    edges,
    entities,
    evidence,
    hedging,
    layout,
    tokenizer,
)
from pipeline.nlp.layout import HEADING_HINTS_KEY
from pipeline.paths import PROJECT_DIR
from pipeline.version import __version__

PACKAGE_DIR = Path(__file__).resolve().parent.parent  # pipeline/: whose code is versioned
BASE_CONFIG = Path(__file__).resolve().parent / "base.cfg"
# Modules that shape the rows besides the pipeline's own components: how an article is
# read (ingest, and through it HTML extraction and decoding) and how a Doc becomes rows.
ROW_MODULES = ("pipeline.ingest", "pipeline.storage.records")
SHIPPED_MODEL = PROJECT_DIR / "models" / "claims_web_sm"
MODEL_ENV = "CLAIMS_MODEL"


@dataclass(frozen=True)
class SpanKeys:
    """The `doc.spans` keys a pipeline's components write their results to.

    They are component config (`entities_key`, `hedges_key` ...); `span_keys(nlp)` reads them,
    so what turns a Doc into rows looks where the pipeline wrote.
    """

    entities: str = "entities"
    hedges: str = "hedge_cues"
    negations: str = "negation_cues"
    attributions: str = "attributions"


DEFAULT_KEYS = SpanKeys()
# (field of SpanKeys, factory of the component that writes it, its config setting)
_KEY_SETTINGS = (
    ("entities", "claims_entities", "spans_key"),
    ("hedges", "claims_hedging", "hedges_key"),
    ("negations", "claims_hedging", "negations_key"),
    ("attributions", "claims_evidence", "attributions_key"),
)


def span_keys(nlp: Language) -> SpanKeys:
    """The `doc.spans` keys of `nlp`, from its components' config (defaults when absent)."""
    factories = {nlp.get_pipe_meta(name).factory: name for name in nlp.pipe_names}
    found = {}
    for field_name, factory, setting in _KEY_SETTINGS:
        if factory in factories:
            value = nlp.get_pipe_config(factories[factory]).get(setting)
            if value:
                found[field_name] = value
    return SpanKeys(**found)


def make_doc(nlp: Language, document: Document):
    """The unprocessed spaCy Doc of a Document, with its heading lines as layout hints."""
    doc = nlp.make_doc(document.text)
    if document.heading_lines is not None:
        doc.user_data[HEADING_HINTS_KEY] = [list(r) for r in document.heading_lines]
    return doc


def default_model_path() -> Path:
    """Where `load()` looks when no path is given."""
    from_env = os.environ.get(MODEL_ENV)
    if from_env:
        return Path(from_env)
    if (SHIPPED_MODEL / "config.cfg").exists():
        return SHIPPED_MODEL
    return BASE_CONFIG


def load(path: str | Path | None = None) -> Language:
    """Return the claims pipeline from a model directory or a config file."""
    target = Path(path) if path is not None else default_model_path()
    if target.is_dir():
        nlp = spacy.load(target)
    elif target.suffix == ".cfg" and target.exists():
        config = spacy.util.load_config(target, interpolate=True)
        nlp = spacy.util.load_model_from_config(config, auto_fill=True, validate=True)
        nlp.initialize()
        nlp.meta["name"] = "claims_rules"
    else:
        raise FileNotFoundError(
            f"No spaCy pipeline at {target}: expected a model directory or a config.cfg"
        )
    nlp.meta["claims_pipeline_version"] = pipeline_version(nlp, target)
    return nlp


def pipeline_version(nlp: Language, source: Path | None = None) -> str:
    """A version string that changes whenever what decides the output changes.

    Derived, not kept by hand: the pipeline's config; every file of its saved data (the
    model folder it was loaded from, or what `nlp.to_disk` writes for a pipeline built from
    a config: weights, word lists, patterns); the source of every module of this package
    that its components, its registered functions and the row writers import, followed
    through their imports; and the versions of the libraries those modules import.
    Stored with every output row, it is what makes a run re-process documents handled by
    an older pipeline.
    """
    fingerprint = hashlib.sha256(nlp.config.to_str().encode())
    fingerprint.update(data_fingerprint(nlp, source).encode())
    roots = [*component_modules(nlp), *ROW_MODULES]
    fingerprint.update(code_fingerprint(roots).encode())
    return f"{__version__}+{nlp.meta.get('name', 'pipeline')}.{fingerprint.hexdigest()[:10]}"


def data_fingerprint(nlp: Language, source: Path | None = None) -> str:
    """SHA-256 over the files of the pipeline's saved data (names and bytes)."""
    if source is not None and source.is_dir():
        return _files_fingerprint(source)
    with tempfile.TemporaryDirectory() as folder:
        nlp.to_disk(folder)
        return _files_fingerprint(Path(folder))


def _files_fingerprint(folder: Path) -> str:
    digest = hashlib.sha256()
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        relative = path.relative_to(folder).as_posix()
        if relative in ("meta.json", "config.cfg"):
            continue  # meta holds figures and timestamps; the config is hashed on its own
        content = path.read_bytes()
        if path.suffix == ".gz":  # the gzip header holds a timestamp: hash what it holds
            content = gzip.decompress(content)
        digest.update(relative.encode() + b"\0" + content + b"\0")
    return digest.hexdigest()


def component_modules(nlp: Language) -> list[str]:
    """Modules defining the pipeline's components and the registered functions its config
    names (`@tokenizers`, `@misc`...)."""
    modules = {type(component).__module__ for _, component in nlp.components}
    for registry_name, function_name in _registered_refs(nlp.config):
        try:
            function = registry.get(registry_name, function_name)
        except Exception:  # a name registered outside Python (entry point not loaded)
            continue
        modules.add(function.__module__)
    return sorted(modules)


def _registered_refs(config: object) -> Iterable[tuple[str, str]]:
    if isinstance(config, dict):
        for key, value in config.items():
            if isinstance(key, str) and key.startswith("@") and isinstance(value, str):
                yield key[1:], value
            else:
                yield from _registered_refs(value)


def code_fingerprint(roots: Iterable[str], package: str = "pipeline") -> str:
    """SHA-256 over the source of `package`'s modules reachable from `roots` by imports,
    plus the installed versions of the outside libraries they import."""
    digest = hashlib.sha256()
    modules, libraries = _import_closure(roots, package)
    for name in sorted(modules):
        digest.update(name.encode() + b"\0" + modules[name] + b"\0")
    for library in sorted(libraries):
        digest.update(f"{library}=={_library_version(library)}".encode() + b"\0")
    return digest.hexdigest()


def _import_closure(roots: Iterable[str], package: str) -> tuple[dict[str, bytes], set[str]]:
    """Source bytes of every `package` module reachable from `roots`, and the top-level
    names of the other libraries they import (standard library left out)."""
    base = _package_dir(package)
    sources: dict[str, bytes] = {}
    libraries: set[str] = set()
    pending = [root for root in roots if root == package or root.startswith(package + ".")]
    libraries.update(r.split(".")[0] for r in roots if r.split(".")[0] != package)
    while pending:
        name = pending.pop()
        if name in sources:
            continue
        path = _module_path(base, package, name)
        if path is None:
            continue
        source = path.read_bytes()
        sources[name] = source
        for imported in _imports(source, name, path.name == "__init__.py"):
            top = imported.split(".")[0]
            if top == package:
                pending.append(imported)
            elif top not in sys.stdlib_module_names and top != "__future__":
                libraries.add(top)
    return sources, libraries


def _package_dir(package: str) -> Path:
    return PACKAGE_DIR if package == "pipeline" else Path(sys.modules[package].__file__).parent


def _module_path(base: Path, package: str, name: str) -> Path | None:
    parts = name.split(".")[1:]
    candidate = base.joinpath(*parts)
    if candidate.with_suffix(".py").is_file():
        return candidate.with_suffix(".py")
    if (candidate / "__init__.py").is_file():
        return candidate / "__init__.py"
    return None


def _imports(source: bytes, module: str, is_package: bool) -> Iterable[str]:
    """Absolute names a module imports; `from a import b` also yields `a.b` (b may be a
    submodule; a name that is not one is skipped by the caller)."""
    own_package = module if is_package else module.rpartition(".")[0]
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                anchor = own_package.split(".")
                anchor = anchor[: len(anchor) - node.level + 1]
                base = ".".join([*anchor, node.module] if node.module else anchor)
            else:
                base = node.module or ""
            yield base
            yield from (f"{base}.{alias.name}" for alias in node.names)


@functools.cache
def _distributions() -> dict[str, list[str]]:
    return importlib.metadata.packages_distributions()


def _library_version(top_level: str) -> str:
    """The installed version of the distribution that provides `top_level`. Most are named
    as they are imported; only the others need the (slow, 1 s) scan of every distribution."""
    try:
        return importlib.metadata.version(top_level)
    except importlib.metadata.PackageNotFoundError:
        pass
    distributions = _distributions().get(top_level, [])
    for distribution in distributions:
        try:
            return importlib.metadata.version(distribution)
        except importlib.metadata.PackageNotFoundError:
            continue
    return "unknown"
