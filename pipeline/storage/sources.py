"""Sources as people read them: relative to the corpus a run read.

A source (`documents.source`, `errors.source`, `duplicates.source`) is the absolute path of
the file read, plus `#record` for a JSON Lines record. Pages and reports show it relative to
the run's corpus (`runs.corpus`), which is what an analyst typed.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import PurePosixPath


def shown_source(source: str, corpus: str | None, corpora: Iterable[str] = ()) -> str:
    """`source` as a person reads it: relative to the corpus folder the run read (a
    corpus that is one file: its name), `#record` kept; as stored when outside every corpus.

    `corpus` is the run's (`runs.corpus`), `corpora` every run's, tried when it misses.
    """
    path, hash_, record = source.partition("#")
    file = PurePosixPath(path)
    for root in (corpus, *corpora):
        if not root:
            continue
        base = PurePosixPath(root)
        if file == base:
            return file.name + hash_ + record
        if base in file.parents:
            return file.relative_to(base).as_posix() + hash_ + record
    return source
