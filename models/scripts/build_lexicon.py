"""Build the entity lexicon from DrugBank open vocabulary, MeSH and our curated list.

    python models/scripts/build_lexicon.py [--corpora DIR] [--out models/build/lexicon.jsonl]

One JSON line per term: {"term", "label", "norm", "source", "exact"}. Labels follow the claims
schema: SUBSTANCE, TARGET, EFFECT, CONDITION. Where sources disagree on a term, the curated list
wins, then DrugBank (a drug is a substance), then MeSH by tree branch (see `MESH_BRANCHES`).
`exact` terms (short all-capital abbreviations such as "ALL") match case-sensitively so they
do not fire on ordinary words. Licences: DrugBank open vocabulary is CC0, MeSH is NLM public data.
"""

from __future__ import annotations

import argparse
import csv
import json
import re
from collections import Counter
from pathlib import Path

from pipeline.paths import PROJECT_DIR, corpora_dir

CURATED = PROJECT_DIR / "models" / "lexicon" / "curated.jsonl"
STOPLIST = PROJECT_DIR / "models" / "lexicon" / "stoplist.txt"

# MeSH tree prefixes -> label, most specific first; the first that matches a descriptor's
# tree numbers decides. Proteins and anatomy are what substances act on (targets); diseases
# are conditions; signs, symptoms and emotions are effects; other chemicals are substances.
MESH_BRANCHES: tuple[tuple[str, str], ...] = (
    ("D12.776.543.750", "TARGET"),  # receptors, cell surface
    ("D12.776.826", "TARGET"),  # receptors, cytoplasmic and nuclear
    ("D12.776.157.530", "TARGET"),  # membrane transport proteins
    ("D12.776.631", "TARGET"),  # nerve tissue proteins
    ("D23.529", "TARGET"),  # intercellular signalling peptides and proteins
    ("D06.472.699", "TARGET"),  # peptide hormones
    ("D08.811", "TARGET"),  # enzymes
    ("A08", "TARGET"),  # nervous system
    ("G06.591", "TARGET"),  # microbiome
    ("C23", "EFFECT"),  # pathological conditions, signs and symptoms
    ("F01.470", "EFFECT"),  # emotions
    ("F01.752.355", "EFFECT"),  # empathy
    ("F02.830.816", "EFFECT"),  # sensation (pain)
    ("F03", "CONDITION"),  # mental disorders
    ("C", "CONDITION"),  # diseases
    ("D27.505.954", "SUBSTANCE"),  # therapeutic uses (drug classes)
    ("D27.505.519", "SUBSTANCE"),  # mechanisms of action (reuptake inhibitors)
    ("D27.505.696", "SUBSTANCE"),  # physiological effects of drugs
    ("D12", None),  # other proteins and peptides: too generic
    ("D08", None),  # other enzymes and coenzymes
    ("D", "SUBSTANCE"),  # chemicals and drugs
    ("B01.875.800.575", "SUBSTANCE"),  # land plants (kratom, cannabis)
    ("J02.500", "SUBSTANCE"),  # food (probiotics, coffee)
)
MESH_SKIP_TAGS = {"LAB", "HIST"}  # lab numbers, historical names
MAX_WORDS = 6
_PARENTHETICAL = re.compile(r"\s*\([^)]*\)\s*$")
_NUMBERY = re.compile(r"\d.*\d.*\d|[\[\]{}]")


def clean_term(term: str) -> str | None:
    """A matchable surface form, or None for codes, formulas and long systematic names."""
    term = _PARENTHETICAL.sub("", term.strip())
    if len(term) < 3 or len(term.split()) > MAX_WORDS or _NUMBERY.search(term):
        return None
    if "," in term and not re.match(r"^\d,\d", term):
        return None  # inverted MeSH forms: "Receptors, Opioid"
    return term


def is_exact(term: str) -> bool:
    """Short all-capital forms match case-sensitively ("ALL", "MS" are also words)."""
    return term.isupper() and len(term) <= 4


def mesh_label(tree_numbers: list[str]) -> str | None:
    for prefix, label in MESH_BRANCHES:
        if any(number == prefix or number.startswith(prefix + ".") for number in tree_numbers):
            return label
        if len(prefix) == 1 and any(number.startswith(prefix) for number in tree_numbers):
            return label
    return None


def mesh_entries(mesh_dir: Path) -> list[dict]:
    trees: dict[str, list[str]] = {}
    with open(mesh_dir / "data_mesh_trees.tsv", encoding="utf-8") as handle:
        for row in csv.DictReader(handle, delimiter="\t"):
            trees.setdefault(row["DescriptorUI"], []).append(row["tree_location"])
    entries = []
    with open(mesh_dir / "data_mesh_thesaurus.tsv", encoding="utf-8") as handle:
        for row in csv.DictReader(handle, delimiter="\t", quoting=csv.QUOTE_NONE):
            label = mesh_label(trees.get(row["DescriptorUI"], []))
            if label is None or row["LexicalTag"] in MESH_SKIP_TAGS:
                continue
            term = clean_term(row["TermName"])
            if term is None:
                continue
            norm = row["DescriptorName"].lower()
            entries.append(
                {
                    "term": term,
                    "label": label,
                    "norm": norm,
                    "source": f"mesh:{row['DescriptorUI']}",
                }
            )
    return entries


def drugbank_entries(drugbank_csv: Path) -> list[dict]:
    entries = []
    with open(drugbank_csv, encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            norm = row["Common name"].strip().lower()
            names = [row["Common name"], *row["Synonyms"].split(" | ")]
            for name in names:
                term = clean_term(name)
                if term:
                    entries.append(
                        {
                            "term": term,
                            "label": "SUBSTANCE",
                            "norm": norm,
                            "source": f"drugbank:{row['DrugBank ID']}",
                        }
                    )
    return entries


def curated_entries(path: Path = CURATED) -> list[dict]:
    entries = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if line.strip() and not line.startswith("//"):
            entry = json.loads(line)
            for term in entry["terms"]:
                entries.append(
                    {
                        "term": term,
                        "label": entry["label"],
                        "norm": entry["norm"],
                        "source": f"curated:{number}",
                    }
                )
    return entries


def merge(*groups: list[dict], stoplist: set[str]) -> list[dict]:
    """One entry per lowercased term; earlier groups win."""
    merged: dict[str, dict] = {}
    for group in groups:
        for entry in group:
            key = entry["term"].lower()
            if key in stoplist or key in merged:
                continue
            merged[key] = {**entry, "exact": is_exact(entry["term"])}
    return sorted(merged.values(), key=lambda entry: entry["term"].lower())


def build(corpora: Path) -> list[dict]:
    stoplist = {
        line.strip().lower()
        for line in STOPLIST.read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.startswith("#")
    }
    drugbank = corpora / "drugbank_open_vocab" / "drugbank_vocabulary_clean.csv"
    return merge(
        curated_entries(),
        drugbank_entries(drugbank),
        mesh_entries(corpora / "mesh_jaytimm"),
        stoplist=stoplist,
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpora", type=Path, default=None)
    parser.add_argument("--out", type=Path, default=PROJECT_DIR / "models/build/lexicon.jsonl")
    args = parser.parse_args(argv)
    entries = build(args.corpora or corpora_dir())
    args.out.parent.mkdir(parents=True, exist_ok=True)
    with open(args.out, "w", encoding="utf-8") as handle:
        for entry in entries:
            handle.write(json.dumps(entry, ensure_ascii=False) + "\n")
    counts = Counter(entry["label"] for entry in entries)
    print(
        f"{len(entries):,} terms -> {args.out}: "
        + ", ".join(f"{k} {v:,}" for k, v in sorted(counts.items()))
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
