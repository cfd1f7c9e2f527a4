"""The claim gold's articles: which exist, their split and genre, and their text as annotated.

The gold files hold labels and short quotes only; texts are rebuilt from where they live:
seed articles in `corpus/`, FakeHealth and dosewiki records in the corpora folder
(`$CLAIMS_CORPORA`, default `../shared/corpora`). FakeHealth texts are the record's title, a
newline, then its text (as the shared claim gold reads them); long dosewiki pages were
annotated by section, so their text is the manifest's sections only.

    articles = gold_articles(["dev"])          # [GoldArticle(doc, split, genre, text), ...]
    edges = gold_edges(["dev"])                # [GoldEdge, ...] of those articles

Splits: `train`, `dev`, `test` (`models/gold/claims/<split>/`, manifest
`models/gold/articles.csv`), and `shared` (the 20 articles of `../shared/claim-gold`, used for
training). Raises FileNotFoundError naming what is missing (a corpus, an article) so a figure
never silently covers fewer articles than its gold.
"""

from __future__ import annotations

import csv
import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from pipeline.evaluation.evaluate import GoldEdge, genre_of, load_gold
from pipeline.paths import PROJECT_DIR, corpora_dir

GOLD_DIR = PROJECT_DIR / "models" / "gold"
MANIFEST = GOLD_DIR / "articles.csv"
SHARED_GOLD = PROJECT_DIR.parent / "shared" / "claim-gold" / "claims-20-articles.jsonl"
SPLITS = ("train", "dev", "test", "shared")
FAKEHEALTH = ("fakehealth/HealthStory_content.jsonl", "fakehealth/HealthRelease_content.jsonl")
DOSEWIKI = "dosewiki_substance_articles/articles.jsonl"


@dataclass(frozen=True)
class GoldArticle:
    """One gold article: its gold name, split, genre and the text its annotators read."""

    doc: str
    split: str
    genre: str
    text: str


def _records(path: Path) -> Iterator[dict]:
    with open(path, encoding="utf-8") as handle:
        for line in handle:
            yield json.loads(line)


def section_text(text: str, headings: tuple[str, ...]) -> str:
    """The parts of a markdown page under `headings` (each to the next heading of its level or
    higher), in page order, headings kept."""
    keep, level = [], None
    for line in text.split("\n"):
        m = re.match(r"^(#+) (.*)$", line)
        if m:
            depth = len(m.group(1))
            if level is not None and depth <= level:
                level = None
            if level is None and m.group(2).strip() in headings:
                level = depth
        if level is not None:
            keep.append(line)
    return "\n".join(keep).strip()


@lru_cache(maxsize=4)
def _corpus_texts(corpora: Path) -> dict[str, tuple[str, str]]:
    """record id -> (kind, text as read: FakeHealth title + newline + text; dosewiki text)."""
    found: dict[str, tuple[str, str]] = {}
    for relative in FAKEHEALTH:
        path = corpora / relative
        if path.exists():
            for r in _records(path):
                found[r["news_id"]] = ("fakehealth", f"{r['title']}\n{r['text']}")
    path = corpora / DOSEWIKI
    if path.exists():
        for r in _records(path):
            found[r["file"]] = ("dosewiki", r["text"])
    return found


def article_text(doc: str, sections: str = "", corpora: Path | None = None) -> str:
    """The text of gold article `doc` as its annotators read it (`sections`: ';'-joined)."""
    seed = PROJECT_DIR / "corpus" / f"{doc}.txt"
    if seed.exists():
        return seed.read_text(encoding="utf-8")
    texts = _corpus_texts(corpora or corpora_dir())
    if doc not in texts:
        raise FileNotFoundError(
            f"gold article {doc!r} not in corpus/ or {corpora or corpora_dir()}"
        )
    _, text = texts[doc]
    headings = tuple(h for h in sections.split(";") if h)
    return section_text(text, headings) if headings else text


def manifest(path: Path = MANIFEST) -> list[dict]:
    """The manifest rows: doc, corpus, genre, split, sections, words."""
    with open(path, encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def sections_of() -> dict[str, str]:
    """doc -> the sections annotated (';'-joined headings, "" = the whole article)."""
    return {row["doc"]: row["sections"] for row in manifest()}


def gold_paths(splits: Iterable[str]) -> list[Path]:
    """The gold files of the splits (`shared`: the shared claim gold's one file)."""
    paths = []
    for split in splits:
        if split not in SPLITS:
            raise ValueError(f"unknown split {split!r}: one of {', '.join(SPLITS)}")
        if split == "shared":
            if not SHARED_GOLD.exists():
                raise FileNotFoundError(f"{SHARED_GOLD} is missing")
            paths.append(SHARED_GOLD)
        else:
            paths.append(GOLD_DIR / "claims" / split)
    return paths


def gold_edges(splits: Iterable[str]) -> list[GoldEdge]:
    """Every gold edge of the splits."""
    return load_gold(gold_paths(splits))


def gold_articles(splits: Iterable[str], corpora: Path | None = None) -> list[GoldArticle]:
    """The articles of the splits with their texts, sorted by split then name."""
    splits = list(splits)
    sections = sections_of()
    articles = []
    for split in splits:
        docs = sorted({edge.doc for edge in gold_edges([split])})
        if split != "shared":
            # articles whose annotators found no claim have an empty file: still gold
            folder = GOLD_DIR / "claims" / split
            listed = {row["doc"] for row in manifest() if row["split"] == split}
            stems = {path.stem for path in folder.glob("*.jsonl")}
            docs = sorted(
                set(docs) | {d for d in listed if d.removesuffix(".md").replace(" ", "_") in stems}
            )
        for doc in docs:
            text = article_text(doc, sections.get(doc, ""), corpora)
            articles.append(GoldArticle(doc, split, genre_of(doc), text))
    return articles
