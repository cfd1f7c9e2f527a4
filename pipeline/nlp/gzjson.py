"""Gzip-compressed JSON for component data saved by `to_disk`.

The gzip header holds a timestamp; writing it as 0 makes the same data give the same bytes,
so re-saving a model leaves the files of unchanged components unchanged in git.
"""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any


def write_json(path: Path, data: Any) -> None:
    """Write `data` as compact JSON, gzip-compressed with a zero timestamp."""
    text = json.dumps(data, separators=(",", ":"), ensure_ascii=False)
    Path(path).write_bytes(gzip.compress(text.encode("utf-8"), mtime=0))


def read_json(path: Path) -> Any:
    """Read what `write_json` wrote. Raises OSError / ValueError on a broken file."""
    return json.loads(gzip.decompress(Path(path).read_bytes()).decode("utf-8"))


def write_lines(path: Path, rows: Iterable[Any]) -> None:
    """Write one JSON value per line (JSON Lines), gzip-compressed with a zero timestamp."""
    text = "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows)
    Path(path).write_bytes(gzip.compress(text.encode("utf-8"), mtime=0))


def read_lines(path: Path) -> Iterator[Any]:
    """The values `write_lines` wrote, in order.

    Decoded as one JSON array (a value written by `json.dumps` holds no raw newline), which
    is several times faster than a `json.loads` per line for the lexicon's 100k rows.
    """
    text = gzip.decompress(Path(path).read_bytes()).decode("utf-8")
    lines = [line for line in text.split("\n") if line]
    return iter(json.loads("[" + ",".join(lines) + "]"))
