"""Where things live: the project folder and the public corpora (never copied into it)."""

from __future__ import annotations

import os
from pathlib import Path

PROJECT_DIR = Path(__file__).resolve().parent.parent
CORPORA_ENV = "CLAIMS_CORPORA"


def corpora_dir() -> Path:
    """The shared corpora: `$CLAIMS_CORPORA`, else `../shared/corpora` beside the project."""
    configured = os.environ.get(CORPORA_ENV)
    if configured:
        return Path(configured)
    return PROJECT_DIR.parent / "shared" / "corpora"
