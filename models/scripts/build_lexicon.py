"""Build the entity lexicon from DrugBank open vocabulary, MeSH and our curated list.

    python models/scripts/build_lexicon.py [--corpora DIR] [--out models/build/lexicon.jsonl]

Also writes `person_names.txt` beside `--out`: first and last names (US Census 1990, from the
`names` package, MIT) that no lexicon term spells, one a line. The entity component drops a
name only the NER found when it is written like a person's name and is one of these
("Katherine", "Cohen"), so people quoted in news are not read as substances.

One JSON line per term: {"term", "label", "norm", "source", "exact", "db_refs"}. Labels follow
the claims schema: SUBSTANCE, TARGET, EFFECT, CONDITION. Where sources disagree on a term, the
curated list wins, then DrugBank (a drug is a substance), then MeSH by tree branch (see
`MESH_BRANCHES`). `exact` terms (short all-capital abbreviations such as "ALL") match
case-sensitively so they do not fire on ordinary words.

Grounding (`ground`): a name that DrugBank and MeSH both list links the two records; a curated
entry links to the records its names are in; a name and its plural ("benzodiazepine",
"benzodiazepines") link. Linked records are one concept: their terms share one normalised
name and one `db_refs` ({"MESH": "D002110", "DRUGBANK": "DB00201", "CHEBI": "CHEBI:27732"},
INDRA's convention). ChEBI ids come from the chemical names CRAFT's annotators grounded.

Licences: DrugBank open vocabulary is CC0, MeSH is NLM public data, CRAFT is CC BY 3.0.
"""

from __future__ import annotations

import argparse
import csv
import json
import re
from collections import Counter, defaultdict
from pathlib import Path

from pipeline.paths import PROJECT_DIR, corpora_dir

CURATED = PROJECT_DIR / "models" / "lexicon" / "curated.jsonl"
STOPLIST = PROJECT_DIR / "models" / "lexicon" / "stoplist.txt"
PERSON_NAMES = "person_names.txt"

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
    """Short forms written with capitals match case-sensitively: "ALL" and "MS" are also
    words, and so is "SAMe" (S-adenosylmethionine) read as "same"."""
    capitals = sum(character.isupper() for character in term)
    return (term.isupper() and len(term) <= 4) or (len(term) <= 5 and capitals >= 2)


def mesh_label(tree_numbers: list[str]) -> str | None:
    for prefix, label in MESH_BRANCHES:
        if any(number == prefix or number.startswith(prefix + ".") for number in tree_numbers):
            return label
        if len(prefix) == 1 and any(number.startswith(prefix) for number in tree_numbers):
            return label
    return None


def uninvert(name: str) -> str:
    """MeSH's inverted headings read in order: "Receptors, Opioid" -> "Opioid Receptors".
    Chemical names ("1,2-Dihydroxybenzene", "Vitamin B 12, ...") are left as they are."""
    parts = name.split(", ")
    chemical = any(part[:1].isdigit() or re.search(r"[()\[\]]|-$", part) for part in parts)
    if len(parts) > 1 and not chemical:
        return " ".join(reversed(parts))
    return name


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
            norm = uninvert(row["DescriptorName"]).lower()
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
                        "db_refs": entry.get("db_refs", {}),
                    }
                )
    return entries


def chebi_names(knowtator_dir: Path) -> dict[str, str]:
    """ChEBI preferred name (lowercase) -> ChEBI id, from CRAFT's chemical annotations."""
    names: dict[str, str] = {}
    pattern = re.compile(r'<mentionClass id="(CHEBI:\d+)">([^<]+)</mentionClass>')
    for path in sorted(knowtator_dir.glob("*.xml")):
        for chebi_id, name in pattern.findall(path.read_text(encoding="utf-8")):
            names.setdefault(name.strip().lower(), chebi_id)
    return names


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


class _Concepts:
    """Union-find over record ids ("drugbank:DB00201", "mesh:D002110", "curated:19")."""

    def __init__(self) -> None:
        self.parent: dict[str, str] = {}

    def find(self, node: str) -> str:
        self.parent.setdefault(node, node)
        while self.parent[node] != node:
            self.parent[node] = self.parent[self.parent[node]]
            node = self.parent[node]
        return node

    def union(self, a: str, b: str) -> None:
        self.parent[self.find(a)] = self.find(b)


def _singular(name: str) -> str | None:
    """ "benzodiazepines" -> "benzodiazepine"; None when the name is no plural we fold."""
    if len(name) > 5 and name.endswith("s") and not name.endswith(("ss", "us", "is")):
        return name[:-1]
    return None


def ground(
    curated: list[dict], drugbank: list[dict], mesh: list[dict], chebi: dict[str, str]
) -> tuple[dict[str, str], dict[str, dict[str, str]]]:
    """Link the sources' records into concepts.

    Returns (record id -> the concept's normalised name, normalised name -> db_refs). The
    name is the curated one when a curated entry is in the concept, else `_concept_name`.
    DrugBank and MeSH records link through DrugBank's own name only: its synonyms list
    salts, extracts and relatives ("Leek" lists "onion").
    """
    concepts = _Concepts()
    names: dict[str, dict[str, set[str]]] = defaultdict(lambda: defaultdict(set))
    norm_of: dict[str, str] = {}
    for entry in (*curated, *drugbank, *mesh):
        record = entry["source"]
        concepts.find(record)
        norm_of.setdefault(record, entry["norm"])
        kind = record.split(":")[0]
        if kind == "curated" and is_exact(entry["term"]):
            continue  # "CBD", "DAT": a short capital form names other things elsewhere
        names[entry["term"].lower()][kind].add(record)
    for name, by_kind in names.items():
        unique = [next(iter(ids)) for ids in by_kind.values() if len(ids) == 1]
        if "curated" in by_kind:  # our own synonyms are trusted to link
            for record in unique:
                concepts.union(record, next(iter(by_kind["curated"])))
        elif len(by_kind.get("drugbank", ())) == 1 and len(by_kind.get("mesh", ())) == 1:
            drug, heading = next(iter(by_kind["drugbank"])), next(iter(by_kind["mesh"]))
            if norm_of[drug] == name:  # DrugBank's own name for it; a synonym proves little
                concepts.union(drug, heading)  # ("Magnesium gluconate" lists "magnesium")
    by_norm: dict[str, list[str]] = defaultdict(list)
    for record, norm in norm_of.items():
        by_norm[norm].append(record)
    for norm, records in by_norm.items():
        for record in records[1:]:
            concepts.union(record, records[0])  # one name, one concept
        singular = _singular(norm)
        if singular in by_norm:
            concepts.union(records[0], by_norm[singular][0])
    members: dict[str, list[str]] = defaultdict(list)
    for record in norm_of:
        members[concepts.find(record)].append(record)
    canonical: dict[str, str] = {}
    refs: dict[str, dict[str, str]] = {}
    for records in members.values():
        curated_names = [norm_of[r] for r in records if r.startswith("curated:")]
        if curated_names:
            name = curated_names[0]
            for record in records:  # each curated entry keeps its own name
                canonical[record] = norm_of[record] if record.startswith("curated:") else name
        else:
            name = _concept_name(records, norm_of)
            for record in records:
                canonical[record] = name
        for record in records:
            refs.setdefault(canonical[record], _db_refs(records, canonical[record], norm_of, chebi))
    for entry in curated:  # ids a curated entry states win over the ones found by name
        refs[canonical[entry["source"]]] = {
            **refs.get(canonical[entry["source"]], {}),
            **entry.get("db_refs", {}),
        }
    return canonical, refs


def _concept_name(records: list[str], norm_of: dict[str, str]) -> str:
    """A concept's name: MeSH's heading, the standard name ("aspirin", "onions", "insulin"),
    unless long and systematic; else DrugBank's common name; a qualifier after a comma
    ("Dextrose, unspecified form") is dropped when there is no other."""
    headings = [norm_of[r] for r in records if r.startswith("mesh:") and "," not in norm_of[r]]
    headings = [n for n in headings if len(n) <= 40]
    if headings:
        return min(headings, key=lambda n: (len(n), n))
    plain = [norm_of[r] for r in records if "," not in norm_of[r]]
    if plain:
        return min(plain, key=lambda n: (len(n), n))
    return min(norm_of[r].split(",")[0] for r in records)


def _db_refs(
    records: list[str], name: str, norm_of: dict[str, str], chebi: dict[str, str]
) -> dict[str, str]:
    """One id per namespace: the record named like the concept first, else the first."""

    def closest(kind: str) -> str | None:
        ids = sorted(r for r in records if r.startswith(kind + ":"))
        if not ids:
            return None
        named = [r for r in ids if norm_of[r] in (name, _singular(name))]
        return (named or ids)[0].split(":", 1)[1]

    refs = {"MESH": closest("mesh"), "DRUGBANK": closest("drugbank")}
    names = [name, *sorted({norm_of[r] for r in records})]
    refs["CHEBI"] = next((chebi[n] for n in names if n in chebi), None)
    return {key: value for key, value in refs.items() if value}


def build(corpora: Path) -> list[dict]:
    stoplist = {
        line.strip().lower()
        for line in STOPLIST.read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.startswith("#")
    }
    curated = curated_entries()
    drugbank = drugbank_entries(corpora / "drugbank_open_vocab" / "drugbank_vocabulary_clean.csv")
    mesh = mesh_entries(corpora / "mesh_jaytimm")
    craft = corpora / "craft" / "chebi_knowtator"
    chebi = chebi_names(craft) if craft.is_dir() else {}
    canonical, refs = ground(curated, drugbank, mesh, chebi)
    entries = merge(curated, drugbank, mesh, stoplist=stoplist)
    named = _own_names(drugbank, mesh)
    for entry in entries:
        own = named.get(entry["term"].lower())
        if not entry["source"].startswith("curated:") and own and own != entry["source"]:
            entry["source"] = own  # "insulin" is MeSH's Insulin, not a synonym of a DrugBank
            # record ("Insulin human"); the label stays the one the merge chose
        entry["norm"] = canonical.get(entry["source"], entry["norm"])
        entry["db_refs"] = refs.get(entry["norm"], {})
    return entries


def _own_names(*groups: list[dict]) -> dict[str, str]:
    """Lowercased name -> the record whose own name it is (DrugBank's common name, else
    MeSH's heading); names two records of one source claim are left out."""
    owners: dict[str, set[str]] = defaultdict(set)
    for group in groups:
        for entry in group:
            if entry["term"].lower() == entry["norm"]:
                owners[entry["norm"]].add(entry["source"])
    chosen = {}
    for name, found in owners.items():
        drugs = [r for r in found if r.startswith("drugbank:")]
        if len(found) == 1 or len(drugs) == 1:  # a drug's own DrugBank record first
            chosen[name] = drugs[0] if drugs else next(iter(found))
    return chosen


def person_names(lexicon_terms: set[str]) -> list[str]:
    """Census first and last names, lowercased, minus the lexicon's terms ("rice", "coffee")."""
    import names  # the `train` extra: only building the model needs it

    found: set[str] = set()
    for path in names.FILES.values():
        with open(path, encoding="utf-8") as handle:
            for line in handle:
                name = line.split(" ", 1)[0].strip().lower()
                if len(name) > 1:
                    found.add(name)
    return sorted(found - lexicon_terms)


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
    people = person_names({entry["term"].lower() for entry in entries})
    (args.out.parent / PERSON_NAMES).write_text("\n".join(people) + "\n", encoding="utf-8")
    counts = Counter(entry["label"] for entry in entries)
    norms = {entry["norm"]: bool(entry["db_refs"]) for entry in entries}
    print(
        f"{len(entries):,} terms -> {args.out}: "
        + ", ".join(f"{k} {v:,}" for k, v in sorted(counts.items()))
        + f"; {sum(norms.values()):,} of {len(norms):,} names grounded"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
