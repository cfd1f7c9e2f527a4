"""Convert the shared corpora into spaCy DocBin files for training and evaluation.

    python models/scripts/convert.py [--corpora DIR] [--out models/build/corpus]

Splits are fixed and documented in models/README.md:
- CRAFT (parser, tagger): whole articles, shuffled with seed 13: 70 train, 7 dev, 20 test.
- UD English-EWT (tagger): its own train/dev/test files; dependency labels dropped (UD
  labels are another scheme than the CRAFT/spaCy labels the parser learns).
- GENIA (tagger): train = McClosky's train PMIDs rebuilt from the GENIA treebank XML (POS
  only); dev and test = the UD conversion's dev/test files, POS only.
- BC5CDR (NER), from the PubTator files (real abstracts and spacing): trains on the
  training + development sets except the last 100 development abstracts (early stopping);
  the official test set is evaluation only. NCBI-disease is not used: it marks diseases
  only, so its chemicals would teach the recogniser "not an entity".
Nothing here reads a test file into a training folder.
"""

from __future__ import annotations

import argparse
import random
import re
import sys
import tarfile
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterator
from pathlib import Path

import spacy
from spacy.tokens import Doc, DocBin
from spacy.vocab import Vocab

from pipeline.paths import PROJECT_DIR, corpora_dir

CRAFT_SEED = 13
CRAFT_SPLIT = {"train": 70, "dev": 7, "test": 20}
SENTENCES_PER_DOC = 10
NER_DEV_ABSTRACTS = 100  # BC5CDR development abstracts held back for early stopping
# GENIA treebank XML names some PTB tags differently.
GENIA_TAGS = {
    "PERIOD": ".",
    "COMMA": ",",
    "COLON": ":",
    "LRB": "-LRB-",
    "RRB": "-RRB-",
    "PRPP": "PRP$",
    "WPP": "WP$",
    "LQT": "``",
    "RQT": "''",
}

Sentence = dict  # words, spaces, tags, pos, lemmas, heads (0-based or None), deps


UPOS = {
    "ADJ",
    "ADP",
    "ADV",
    "AUX",
    "CCONJ",
    "DET",
    "INTJ",
    "NOUN",
    "NUM",
    "PART",
    "PRON",
    "PROPN",
    "PUNCT",
    "SCONJ",
    "SYM",
    "VERB",
    "X",
}


def read_conllu(path: Path, keep_deps: bool) -> Iterator[tuple[str | None, Sentence]]:
    """Sentences of a CoNLL-U file with the document id they belong to (when given)."""
    doc_id = None
    rows: list[list[str]] = []
    with path.open(encoding="utf-8") as handle:
        for line in handle:
            line = line.rstrip("\n")
            if line.startswith("# newdoc id"):
                doc_id = line.split("=", 1)[1].strip()
            elif line.startswith("#"):
                continue
            elif not line.strip():
                if rows:
                    yield doc_id, _sentence(rows, keep_deps)
                    rows = []
            else:
                columns = line.split("\t")
                if re.fullmatch(r"\d+", columns[0]):  # skip multiword ranges and empty nodes
                    rows.append(columns)
    if rows:
        yield doc_id, _sentence(rows, keep_deps)


def _sentence(rows: list[list[str]], keep_deps: bool) -> Sentence:
    words = [r[1] for r in rows]
    spaces = ["SpaceAfter=No" not in r[9] for r in rows]
    sentence: Sentence = {
        "words": words,
        "spaces": spaces,
        "tags": [r[4] for r in rows],
        # GENIA's UD v1 files hold PTB tags in the UPOS column: keep real UPOS only.
        "pos": [r[3] for r in rows] if all(r[3] in UPOS for r in rows) else None,
        "lemmas": [r[2] for r in rows],
        "heads": None,
        "deps": None,
    }
    if keep_deps:
        sentence["heads"] = [int(r[6]) - 1 if r[6] != "0" else i for i, r in enumerate(rows)]
        sentence["deps"] = ["ROOT" if r[6] == "0" else r[7] for r in rows]
    return sentence


def to_docs(vocab: Vocab, sentences: list[Sentence], per_doc: int) -> Iterator[Doc]:
    """Group consecutive sentences into docs, so the parser learns sentence boundaries."""
    for start in range(0, len(sentences), per_doc):
        group = sentences[start : start + per_doc]
        words, spaces, tags, lemmas, heads, deps, starts = [], [], [], [], [], [], []
        pos: list[str] = []
        for sentence in group:
            offset = len(words)
            words += sentence["words"]
            spaces += sentence["spaces"]
            spaces[-1] = True
            tags += sentence["tags"]
            pos += sentence.get("pos") or []
            lemmas += sentence["lemmas"]
            starts += [True] + [False] * (len(sentence["words"]) - 1)
            if sentence["heads"] is not None:
                heads += [h + offset for h in sentence["heads"]]
                deps += sentence["deps"]
        has_deps = all(s["heads"] is not None for s in group)
        yield Doc(
            vocab,
            words=words,
            spaces=spaces,
            tags=tags,
            pos=pos if len(pos) == len(words) else None,
            lemmas=lemmas,
            heads=heads if has_deps else None,
            deps=deps if has_deps else None,
            sent_starts=None if has_deps else starts,
        )


def write(docs: Iterator[Doc] | list[Doc], path: Path) -> int:
    path.parent.mkdir(parents=True, exist_ok=True)
    bin_ = DocBin(store_user_data=False)
    count = 0
    for doc in docs:
        bin_.add(doc)
        count += 1
    bin_.to_disk(path)
    return count


def craft_split(corpora: Path) -> dict[str, list[Path]]:
    files = sorted((corpora / "craft" / "conllu").glob("*.conllu"))
    random.Random(CRAFT_SEED).shuffle(files)
    train_end = CRAFT_SPLIT["train"]
    dev_end = train_end + CRAFT_SPLIT["dev"]
    return {"train": files[:train_end], "dev": files[train_end:dev_end], "test": files[dev_end:]}


def convert_craft(vocab: Vocab, corpora: Path, out: Path) -> None:
    for split, files in craft_split(corpora).items():
        docs: list[Doc] = []
        for path in files:
            sentences = [s for _, s in read_conllu(path, keep_deps=True)]
            docs.extend(to_docs(vocab, sentences, SENTENCES_PER_DOC))
        folder = out / ("eval" if split == "test" else "syntax") / split
        count = write(docs, folder / "craft.spacy")
        print(f"craft {split}: {len(files)} articles, {count} docs")
    names = {split: [p.stem for p in files] for split, files in craft_split(corpora).items()}
    (out / "craft_split.txt").write_text(
        "".join(f"{split}: {' '.join(ids)}\n" for split, ids in names.items())
    )


def convert_ewt(vocab: Vocab, corpora: Path, out: Path) -> None:
    folder = corpora / "ud_english_ewt"
    for split in ("train", "dev", "test"):
        sentences = [s for _, s in read_conllu(folder / f"en_ewt-ud-{split}.conllu", False)]
        target = out / ("syntax" if split != "test" else "eval") / split / "ewt.spacy"
        count = write(to_docs(vocab, sentences, SENTENCES_PER_DOC), target)
        print(f"ewt {split}: {len(sentences)} sentences, {count} docs")


def genia_train_sentences(corpora: Path) -> Iterator[Sentence]:
    """POS-tagged sentences of McClosky's GENIA train abstracts, from the treebank XML."""
    folder = corpora / "genia_ud"
    train_ids = {
        line.strip().lstrip("0")
        for line in (folder / "mclosky" / "train.pmids").read_text().splitlines()
        if line.strip()
    }
    held_out = set()
    for split in ("dev", "test", "future_use"):
        held_out |= {
            line.strip().lstrip("0")
            for line in (folder / "mclosky" / f"{split}.pmids").read_text().splitlines()
            if line.strip()
        }
    assert not train_ids & held_out, "GENIA train and held-out abstracts overlap"
    with tarfile.open(folder / "original_data" / "genia_treebank_original.tar.gz") as archive:
        for member in archive:
            pmid = Path(member.name).stem
            if not member.isfile() or pmid not in train_ids:
                continue
            root = ET.parse(archive.extractfile(member)).getroot()
            for sentence in root.iter("sentence"):
                tokens = [(t.text or "", t.get("cat", "")) for t in sentence.iter("tok")]
                tokens = [(w, GENIA_TAGS.get(c, c)) for w, c in tokens if w.strip()]
                if tokens:
                    yield {
                        "words": [w for w, _ in tokens],
                        "spaces": [True] * len(tokens),
                        "tags": [c for _, c in tokens],
                        "pos": None,
                        "lemmas": [""] * len(tokens),
                        "heads": None,
                        "deps": None,
                    }


def split_like_tokenizer(sentence: Sentence, tokenize: Callable[[str], list[str]]) -> Sentence:
    """The sentence with each word split as our tokenizer splits it (one convention).

    GENIA keeps `lithium-induced` one token tagged JJ, CRAFT and our tokenizer split it into
    `lithium - induced`. A split word's hyphen is tagged HYPH (CRAFT's and EWT's tag), its
    last part keeps the word's tag (the head of an English compound comes last), and the
    other parts are left untagged (missing, so the tagger is not taught a guess).
    """
    words, spaces, tags = [], [], []
    for word, space, tag in zip(
        sentence["words"], sentence["spaces"], sentence["tags"], strict=True
    ):
        parts = tokenize(word) if "-" in word and len(word) > 1 else [word]
        if "".join(parts) != word:
            parts = [word]
        for i, part in enumerate(parts):
            words.append(part)
            spaces.append(space if i == len(parts) - 1 else False)
            last = i == len(parts) - 1
            tags.append(tag if last else "HYPH" if part == "-" else "")
    return {**sentence, "words": words, "spaces": spaces, "tags": tags, "lemmas": [""] * len(words)}


def convert_genia(vocab: Vocab, corpora: Path, out: Path) -> None:
    from pipeline.nlp.tokenizer import create_scispacy_tokenizer

    nlp = spacy.blank("en")
    tokenizer = create_scispacy_tokenizer()(nlp)

    def tokenize(word: str) -> list[str]:
        return [t.text for t in tokenizer(word)]

    sentences = [split_like_tokenizer(s, tokenize) for s in genia_train_sentences(corpora)]
    split_words = sum(t == "HYPH" for s in sentences for t in s["tags"])
    print(f"genia train: {split_words} hyphens split off as our tokenizer does (tagged HYPH)")
    count = write(
        to_docs(vocab, sentences, SENTENCES_PER_DOC), out / "syntax" / "train" / "genia.spacy"
    )
    print(f"genia train (treebank XML, POS only): {len(sentences)} sentences, {count} docs")
    for split, target in (("dev", out / "syntax" / "dev"), ("test", out / "eval" / "test")):
        gold = [s for _, s in read_conllu(corpora / "genia_ud" / f"{split}.conllu", False)]
        count = write(to_docs(vocab, gold, SENTENCES_PER_DOC), target / "genia.spacy")
        print(f"genia {split}: {len(gold)} sentences, {count} docs")


def read_pubtator(path: Path) -> Iterator[tuple[str, str, list[tuple[int, int, str]]]]:
    """(pmid, title + abstract, entity char spans) for each document of a PubTator file."""
    pmid, parts, spans = None, {}, []
    for line in [*path.read_text(encoding="utf-8").splitlines(), ""]:
        if not line.strip():
            if pmid is not None:
                yield pmid, f"{parts.get('t', '')} {parts.get('a', '')}", spans
            pmid, parts, spans = None, {}, []
            continue
        if "|" in line[:20] and line.split("|", 2)[1] in {"t", "a"}:
            pmid, kind, text = line.split("|", 2)
            parts[kind] = text
            continue
        fields = line.split("\t")
        if len(fields) >= 5 and fields[4] in {"Chemical", "Disease"}:
            spans.append((int(fields[1]), int(fields[2]), fields[4].upper()))


def pubtator_doc(nlp: spacy.Language, text: str, spans: list[tuple[int, int, str]]) -> Doc:
    """The article tokenized as our pipeline does, split further at every entity boundary,
    so each gold entity is a whole number of reference tokens; overlapping spans keep the
    longest."""
    cuts = sorted({offset for start, end, _ in spans for offset in (start, end)})
    words, spaces = [], []
    for token in nlp.make_doc(text):
        start = token.idx
        inner = [c for c in cuts if token.idx < c < token.idx + len(token)]
        for cut in [*inner, token.idx + len(token)]:
            words.append(text[start:cut])
            spaces.append(False)
            start = cut
        spaces[-1] = bool(token.whitespace_)
    doc = Doc(nlp.vocab, words=words, spaces=spaces)
    chosen, taken = [], set()
    for start, end, label in sorted(spans, key=lambda s: s[0] - s[1]):
        span = doc.char_span(start, end, label=label)
        if span is not None and not taken & set(range(span.start, span.end)):
            chosen.append(span)
            taken |= set(range(span.start, span.end))
    doc.ents = sorted(chosen, key=lambda span: span.start)
    return doc


def convert_ner(vocab: Vocab, corpora: Path, out: Path) -> None:
    """BC5CDR from the PubTator files: the real abstracts with their spacing.

    Trains on TrainingSet + DevelopmentSet except its last NER_DEV_ABSTRACTS abstracts (kept
    for early stopping); the TestSet is only ever evaluated on.
    """
    from pipeline.nlp.tokenizer import create_scispacy_tokenizer

    nlp = spacy.blank("en")
    nlp.tokenizer = create_scispacy_tokenizer()(nlp)
    folder = corpora / "bc5cdr" / "pubtator"
    docs = {}
    for split, name in (("train", "Training"), ("dev", "Development"), ("test", "Test")):
        path = folder / f"CDR_{name}Set.PubTator.txt"
        docs[split] = [pubtator_doc(nlp, text, spans) for _, text, spans in read_pubtator(path)]
        write(docs[split], out / "ner" / split / "bc5cdr.spacy")
        print(f"bc5cdr {split}: {len(docs[split])} abstracts")
    train_full = docs["train"] + docs["dev"][:-NER_DEV_ABSTRACTS]
    write(train_full, out / "ner" / "train_full" / "bc5cdr.spacy")
    write(docs["dev"][-NER_DEV_ABSTRACTS:], out / "ner" / "dev_small" / "bc5cdr.spacy")
    print(f"bc5cdr train+devel: {len(train_full)} abstracts; held back: {NER_DEV_ABSTRACTS}")


CONVERTERS = {
    "craft": convert_craft,
    "ewt": convert_ewt,
    "genia": convert_genia,
    "ner": convert_ner,
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpora", type=Path, default=None)
    parser.add_argument("--out", type=Path, default=PROJECT_DIR / "models" / "build" / "corpus")
    parser.add_argument("--parts", nargs="+", choices=sorted(CONVERTERS), default=list(CONVERTERS))
    args = parser.parse_args(argv)
    corpora = args.corpora or corpora_dir()
    if not corpora.is_dir():
        print(f"corpora not found at {corpora} (set CLAIMS_CORPORA)", file=sys.stderr)
        return 2
    vocab = spacy.blank("en").vocab
    for part in args.parts:
        CONVERTERS[part](vocab, corpora, args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
