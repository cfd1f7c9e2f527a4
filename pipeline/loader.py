"""Build or load the claims pipeline: `pipeline.load()` is the one entry point.

The pipeline is named by a path: a trained pipeline directory (as written by
`nlp.to_disk`, e.g. `models/<name>`) or a `config.cfg`. The default is the first that exists
of `$CLAIMS_MODEL`, the shipped trained pipeline, and the rule-based `base.cfg`, so notebooks,
flows and tests all get the same pipeline with no other step.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import spacy
from spacy.language import Language

# Importing registers our factories and tokenizer when the package is not installed
# (installed, spaCy also finds them through entry points).
from pipeline import abbreviations, claims, entities, hedging, layout, tokenizer  # noqa: F401
from pipeline.paths import PROJECT_DIR
from pipeline.version import __version__

PACKAGE_DIR = Path(__file__).resolve().parent
BASE_CONFIG = PACKAGE_DIR / "base.cfg"
# Code whose behaviour lands in the tables: part of the pipeline version.
RULE_MODULES = (
    "tokenizer.py",
    "layout.py",
    "abbreviations.py",
    "lexicon.py",
    "entities.py",
    "hedging.py",
    "evidence.py",
    "claims.py",
    "records.py",
)
SHIPPED_MODEL = PROJECT_DIR / "models" / "claims_web_sm"
MODEL_ENV = "CLAIMS_MODEL"


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
    nlp.meta["claims_pipeline_version"] = pipeline_version(nlp)
    return nlp


def pipeline_version(nlp: Language) -> str:
    """A version string that changes when the code, the model or its config changes.

    Stored with every output row, it is what makes a run re-process documents handled
    by an older pipeline.
    """
    fingerprint = hashlib.sha256(nlp.config.to_str().encode())
    for module in RULE_MODULES:  # rule changes change the output as much as new weights
        fingerprint.update((PACKAGE_DIR / module).read_bytes())
    fingerprint.update(str(nlp.meta.get("version", "")).encode())
    fingerprint.update(str(nlp.meta.get("claims_model_checksum", "")).encode())
    return f"{__version__}+{nlp.meta.get('name', 'pipeline')}.{fingerprint.hexdigest()[:10]}"
