"""Choose the articles of the claim gold, fix their split, and write the texts annotators read.

    python models/scripts/select_gold.py --manifest models/gold/articles.csv   # choose (once)
    python models/scripts/select_gold.py --texts /tmp/annot/texts              # rebuild texts

Choice (issue 18): FakeHealth stories and press releases whose title names a substance (a
DrugBank name or synonym, or a drug-class word), 200-900 words; dosewiki articles from its
three sources. Everything in `../shared/heldout-docs.txt` and every article already in a gold
is left out. The draw is seeded and made from titles and lengths only, before anyone reads a
text, and the split (train / dev / test) is fixed at the same time, by article.

Long dosewiki pages are annotated by section: the manifest's `sections` column lists the
headings whose text is in scope ("" = the whole article). `texts` writes each article as the
pipeline reads it (FakeHealth: title, a newline, the text) cut to those sections, so the texts
never enter the repository: they are rebuilt from `$CLAIMS_CORPORA` on demand.
"""

from __future__ import annotations

import argparse
import csv
import json
import random
import re
from pathlib import Path

from pipeline.evaluation.gold import article_text as gold_article_text
from pipeline.evaluation.gold import section_text
from pipeline.paths import PROJECT_DIR, corpora_dir

SEED = 18
FAKEHEALTH = {
    "story": "fakehealth/HealthStory_content.jsonl",
    "release": "fakehealth/HealthRelease_content.jsonl",
}
DOSEWIKI = "dosewiki_substance_articles/articles.jsonl"
CLASS_WORDS = (
    "vitamin",
    "supplement",
    "drug",
    "drugs",
    "statin",
    "statins",
    "antidepressant",
    "antidepressants",
    "opioid",
    "opioids",
    "probiotic",
    "probiotics",
    "hormone",
    "pill",
    "pills",
    "aspirin",
    "marijuana",
    "cannabis",
    "caffeine",
    "coffee",
    "alcohol",
    "omega-3",
    "fish oil",
    "testosterone",
    "estrogen",
    "antibiotic",
    "antibiotics",
    "painkiller",
    "painkillers",
    "medication",
    "medications",
    "chemotherapy",
    "psychedelic",
    "ketamine",
)
# Sections annotated on long dosewiki pages (the rest is tables, names, prices, references).
SECTIONS = {
    "DRUGBANK": (
        "Description",
        "Background",
        "Indication",
        "Pharmacodynamics",
        "Mechanism of Action",
        "Toxicity",
    ),
    "PSYCHONAUTWIKI": (
        "Pharmacology",
        "Toxicity and harm potential",
        "Dependence and abuse potential",
        "Neurotoxicity",
        "Cognition and well-being",
        "Overdose",
    ),
}
COLUMNS = ("doc", "corpus", "genre", "split", "sections", "words")
GENRES = {
    "story": "news story",
    "release": "press release",
    "WIKIPEDIA": "encyclopedia",
    "PSYCHONAUTWIKI": "encyclopedia",
    "DRUGBANK": "drug page",
}


def _records(path: Path):
    """The JSON records of a JSONL file, one at a time."""
    with open(path, encoding="utf-8") as handle:
        for line in handle:
            yield json.loads(line)


def _heldout() -> set[str]:
    path = PROJECT_DIR.parent / "shared" / "heldout-docs.txt"
    return {
        line.strip()
        for line in path.read_text().splitlines()
        if line.strip() and not line.startswith("#")
    }


def _already_gold() -> set[str]:
    docs = (
        {row["doc"] for row in read_manifest(PROJECT_DIR / "models/gold/articles.csv")}
        if (PROJECT_DIR / "models/gold/articles.csv").exists()
        else set()
    )
    shared = PROJECT_DIR.parent / "shared" / "claim-gold"
    for path in [*shared.glob("*.jsonl"), *(PROJECT_DIR / "models/gold/claims").rglob("*.jsonl")]:
        for line in path.read_text().splitlines():
            if line.strip():
                docs.add(json.loads(line)["doc"])
    return docs


def _substance_names(corpora: Path) -> re.Pattern:
    names = set(CLASS_WORDS)
    with open(corpora / "drugbank_open_vocab/drugbank_vocabulary_clean.csv", encoding="utf-8") as f:
        for row in csv.DictReader(f):
            for name in [row["Common name"], *row["Synonyms"].split(" | ")]:
                name = name.strip().lower()
                if len(name) >= 5 and not name.isdigit():
                    names.add(name)
    alternatives = "|".join(sorted(map(re.escape, names), key=len, reverse=True))
    return re.compile(r"\b(" + alternatives + r")\b")


def choose(
    corpora: Path,
    n_story: int,
    n_release: int,
    n_dosewiki: dict[str, int],
    n_test: dict[str, int],
    seed: int = SEED,
    only: str | None = None,
) -> list[dict]:
    rng = random.Random(seed)
    skip = _heldout() | _already_gold()
    pattern = _substance_names(corpora)
    rows = []
    for kind, relative in FAKEHEALTH.items():
        pool = []
        for r in _records(corpora / relative):
            words = len(r["text"].split())
            if r["news_id"] in skip or not 200 <= words <= 900:
                continue
            if pattern.search((r["title"] or "").lower()):
                pool.append(
                    {
                        "doc": r["news_id"],
                        "corpus": "fakehealth",
                        "genre": GENRES[kind],
                        "sections": "",
                        "words": words,
                    }
                )
        pool.sort(key=lambda row: row["doc"])
        rows += rng.sample(pool, n_story if kind == "story" else n_release)
    by_source: dict[str, list[dict]] = {s: [] for s in n_dosewiki}
    for r in _records(corpora / DOSEWIKI):
        if r["file"] in skip or r["source"] not in by_source:
            continue
        headings = SECTIONS.get(r["source"], ())
        text = section_text(r["text"], headings) if headings else r["text"]
        words = len(text.split())
        if not 250 <= words <= 1500:
            continue
        by_source[r["source"]].append(
            {
                "doc": r["file"],
                "corpus": "dosewiki",
                "genre": GENRES[r["source"]],
                "sections": ";".join(headings),
                "words": words,
            }
        )
    for source, pool in by_source.items():
        pool.sort(key=lambda row: row["doc"])
        rows += rng.sample(pool, n_dosewiki[source])
    # Split by article, stratified by genre: a fixed number to test, a fifth of the rest to dev.
    for genre in sorted({row["genre"] for row in rows}):
        group = [row for row in rows if row["genre"] == genre]
        rng.shuffle(group)
        k = n_test.get(genre, 0)
        for i, row in enumerate(group):
            row["split"] = only or ("test" if i < k else ("dev" if (i - k) % 5 == 0 else "train"))
    return sorted(rows, key=lambda row: (row["split"], row["genre"], row["doc"]))


def read_manifest(path: Path) -> list[dict]:
    with open(path, encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def article_text(row: dict, corpora: Path) -> str:
    """The text of a manifest row as annotators saw it and as the scorer locates quotes in."""
    return gold_article_text(row["doc"], row["sections"], corpora)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--manifest", type=Path, default=PROJECT_DIR / "models/gold/articles.csv")
    parser.add_argument("--choose", action="store_true", help="draw the articles (once)")
    parser.add_argument("--texts", type=Path, help="write each article's text here")
    parser.add_argument(
        "--add-train",
        action="store_true",
        help="a second draw (seed 19), all to train, appended to the manifest",
    )
    args = parser.parse_args()
    corpora = corpora_dir()
    if args.choose:
        if args.manifest.exists():
            raise SystemExit(f"{args.manifest} exists: the choice is made once")
        rows = choose(
            corpora,
            n_story=22,
            n_release=12,
            n_dosewiki={"WIKIPEDIA": 8, "PSYCHONAUTWIKI": 6, "DRUGBANK": 6},
            n_test={"news story": 6, "press release": 4, "encyclopedia": 4, "drug page": 2},
        )
        with open(args.manifest, "w", encoding="utf-8", newline="") as handle:
            writer = csv.DictWriter(handle, fieldnames=COLUMNS)
            writer.writeheader()
            writer.writerows(rows)
        print(f"{len(rows)} articles -> {args.manifest}")
    if args.add_train:
        rows = choose(
            corpora,
            n_story=14,
            n_release=6,
            n_dosewiki={"WIKIPEDIA": 5, "PSYCHONAUTWIKI": 4, "DRUGBANK": 3},
            n_test={},
            seed=SEED + 1,
            only="train",
        )
        with open(args.manifest, "a", encoding="utf-8", newline="") as handle:
            csv.DictWriter(handle, fieldnames=COLUMNS).writerows(rows)
        print(f"{len(rows)} more training articles -> {args.manifest}")
    if args.texts:
        args.texts.mkdir(parents=True, exist_ok=True)
        for row in read_manifest(args.manifest):
            name = row["doc"].removesuffix(".md").replace(" ", "_")
            (args.texts / f"{name}.txt").write_text(article_text(row, corpora), encoding="utf-8")
        print(f"texts -> {args.texts}")


if __name__ == "__main__":
    main()
