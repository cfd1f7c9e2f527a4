"""Readers for the public hedge and negation corpora, and their document split.

The detector in `pipeline.nlp.hedging` learns from and is measured on these, so both sides read
them the same way: Szeged Uncertainty (typed cues, biomedical and Wikipedia), BioScope
abstracts (speculation and negation cues with scopes) and *SEM 2012 CD-SCO (negation cues
and scopes, official train/dev/test). Offsets are characters in the sentence text; *SEM comes
pre-tokenised, so its sentences keep their words and are rebuilt with single spaces.

Szeged and BioScope have no official split: `split_of` assigns documents to train, dev and
test with a fixed seed, per corpus, so the figures of `claims evaluate hedges` are on
documents the detector never saw.
"""

from __future__ import annotations

import random
import xml.etree.ElementTree as ET
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from pipeline.paths import corpora_dir

SPLIT_SEED = 2010  # CoNLL-2010, the shared task these corpora come from
SPLIT_FRACTIONS = {"train": 0.75, "dev": 0.10, "test": 0.15}

# Szeged types -> the type names of our cue spans.
SZEGED_TYPES = {
    "speculation_modal_probable_": "epistemic",
    "speculation_hypo_doxastic _": "doxastic",
    "speculation_hypo_investigation _": "investigation",
    "speculation_hypo_condition _": "condition",
}
# corpus name -> (folder, file, domain)
XML_CORPORA = {
    "szeged_bio": ("szeged_uncertainty", ("bio_hbc.xml", "bio_fly.xml"), "biomedical"),
    "szeged_wiki": ("szeged_uncertainty", ("wiki.xml",), "wikipedia"),
    "bioscope": ("bioscope", ("abstracts.xml",), "biomedical"),
}
STARSEM_FILES = {
    "train": ("training/SEM-2012-SharedTask-CD-SCO-training-09032012.txt",),
    "dev": ("dev/SEM-2012-SharedTask-CD-SCO-dev-09032012.txt",),
    "test": (
        "test-gold/SEM-2012-SharedTask-CD-SCO-test-cardboard-GOLD.txt",
        "test-gold/SEM-2012-SharedTask-CD-SCO-test-circle-GOLD.txt",
    ),
}

Offsets = tuple[tuple[int, int], ...]


@dataclass(frozen=True)
class GoldCue:
    """One annotated cue: kind "hedge" or "negation", its type, where it is and what it governs."""

    kind: str
    # epistemic / doxastic / investigation / condition; "speculation" (BioScope); "negation"
    type: str
    spans: Offsets  # one or more parts ("either ... or"); a part may be an affix ("un" in unable)
    scope: Offsets | None  # None when the corpus annotates no scopes (Szeged)


@dataclass(frozen=True)
class GoldSentence:
    corpus: str
    domain: str
    doc_id: str
    sentence_id: str
    text: str
    cues: tuple[GoldCue, ...]
    words: tuple[str, ...] | None = None  # the corpus's own tokens, when it has them


class CorpusMissing(FileNotFoundError):
    """A corpus folder is not where the path setting says."""


def _require(path: Path) -> Path:
    if not path.exists():
        raise CorpusMissing(f"{path} not found (set CLAIMS_CORPORA to the shared corpora folder)")
    return path


# -- Szeged Uncertainty and BioScope (XML) --------------------------------------------------


def read_xml_corpus(corpus: str, root: Path | None = None) -> list[GoldSentence]:
    """All sentences of one XML corpus (`szeged_bio`, `szeged_wiki` or `bioscope`)."""
    folder, files, domain = XML_CORPORA[corpus]
    base = (root or corpora_dir()) / folder
    sentences: list[GoldSentence] = []
    for name in files:
        tree = ET.parse(_require(base / name))
        for number, document in enumerate(tree.iter("Document")):
            doc_id_element = document.find("DocID")
            doc_id = (doc_id_element.text or "").strip() if doc_id_element is not None else ""
            doc_id = f"{name}:{doc_id or number}"
            for element in document.iter():
                if element.tag in ("Sentence", "sentence"):
                    text, cues = _read_sentence(element)
                    sentences.append(
                        GoldSentence(
                            corpus=corpus,
                            domain=domain,
                            doc_id=doc_id,
                            sentence_id=f"{doc_id}:{element.get('id')}",
                            text=text,
                            cues=tuple(cues),
                        )
                    )
    return sentences


def _read_sentence(element: ET.Element) -> tuple[str, list[GoldCue]]:
    """Flatten a sentence's mixed content, recording cue parts and scope offsets."""
    parts: list[str] = []
    scopes: dict[str, tuple[int, int]] = {}
    bioscope_cues: dict[tuple[str, str], list[tuple[int, int]]] = {}
    szeged_cues: list[GoldCue] = []

    def length() -> int:
        return sum(len(p) for p in parts)

    def walk(node: ET.Element) -> None:
        start = length()
        parts.append(node.text or "")
        for child in node:
            walk(child)
            parts.append(child.tail or "")
        end = length()
        if node.tag == "xcope":
            scopes[node.get("id", "")] = (start, end)
        elif node.tag == "cue":  # BioScope: cue parts sharing a scope form one cue
            key = (node.get("ref", ""), node.get("type", ""))
            bioscope_cues.setdefault(key, []).append((start, start + len(node.text or "")))
        elif node.tag == "ccue":
            cue_type = SZEGED_TYPES.get(node.get("type", ""), "epistemic")
            szeged_cues.append(GoldCue("hedge", cue_type, ((start, end),), None))

    walk(element)
    text = "".join(parts)
    cues = list(szeged_cues)
    for (ref, kind), spans in bioscope_cues.items():
        negation = kind == "negation"
        cues.append(
            GoldCue(
                kind="negation" if negation else "hedge",
                type="negation" if negation else "speculation",
                spans=tuple(sorted(spans)),
                scope=(scopes[ref],) if ref in scopes else None,
            )
        )
    return text, _strip_cues(text, cues)


def _strip_cues(text: str, cues: list[GoldCue]) -> list[GoldCue]:
    """Cue offsets without surrounding spaces ("indicating " -> "indicating")."""
    stripped = []
    for cue in cues:
        spans = []
        for start, end in cue.spans:
            while start < end and text[start].isspace():
                start += 1
            while end > start and text[end - 1].isspace():
                end -= 1
            if end > start:
                spans.append((start, end))
        if spans:
            stripped.append(GoldCue(cue.kind, cue.type, tuple(spans), cue.scope))
    return stripped


# -- *SEM 2012 CD-SCO (CoNLL) -----------------------------------------------------------------


def read_starsem(split: str, root: Path | None = None) -> list[GoldSentence]:
    """*SEM 2012 sentences of the official `split` (train, dev, test) with negation cues."""
    base = (root or corpora_dir()) / "starsem2012_cdsco" / "corpus"
    sentences: list[GoldSentence] = []
    for name in STARSEM_FILES[split]:
        with _require(base / name).open(encoding="utf-8") as handle:
            block: list[list[str]] = []
            for line in handle:
                line = line.rstrip("\n")
                if line.strip():
                    block.append(line.split("\t"))
                elif block:
                    sentences.append(_starsem_sentence(block, split))
                    block = []
            if block:
                sentences.append(_starsem_sentence(block, split))
    return sentences


def _starsem_sentence(rows: list[list[str]], split: str) -> GoldSentence:
    words = tuple(row[3] for row in rows)
    starts, position = [], 0
    for word in words:
        starts.append(position)
        position += len(word) + 1
    text = " ".join(words)
    cues: list[GoldCue] = []
    extra = rows[0][7:]
    if extra and extra[0] != "***":
        for negation in range(len(extra) // 3):
            cue_column, scope_column = 7 + 3 * negation, 8 + 3 * negation
            cue_spans, scope_spans = [], []
            for index, row in enumerate(rows):
                for column, target in ((cue_column, cue_spans), (scope_column, scope_spans)):
                    part = row[column]
                    if part != "_":
                        offset = words[index].lower().find(part.lower())
                        offset = max(offset, 0)
                        start = starts[index] + offset
                        target.append((start, start + len(part)))
            if cue_spans:
                cues.append(GoldCue("negation", "negation", tuple(cue_spans), tuple(scope_spans)))
    chapter, number = rows[0][0], rows[0][1]
    return GoldSentence(
        corpus="starsem",
        domain="fiction",
        doc_id=f"{split}:{chapter}",
        sentence_id=f"{split}:{chapter}:{number}",
        text=text,
        cues=tuple(cues),
        words=words,
    )


# -- the split ---------------------------------------------------------------------------------


def split_of(
    sentences: Iterable[GoldSentence], seed: int = SPLIT_SEED
) -> dict[tuple[str, str], str]:
    """(corpus, doc_id) -> "train" / "dev" / "test", by document with a fixed seed.

    The Szeged biomedical part re-annotates the BioScope abstracts, so a document is split
    together with every document that shares a sentence with it: the same abstract never sits
    in train under one corpus and in test under the other. Groups are shuffled per domain.
    """
    sentences = list(sentences)
    parent: dict[tuple[str, str], tuple[str, str]] = {}

    def find(key: tuple[str, str]) -> tuple[str, str]:
        while parent[key] != key:
            parent[key] = parent[parent[key]]
            key = parent[key]
        return key

    first_with_text: dict[str, tuple[str, str]] = {}
    domain_of: dict[tuple[str, str], str] = {}
    for sentence in sentences:
        key = (sentence.corpus, sentence.doc_id)
        parent.setdefault(key, key)
        domain_of[key] = sentence.domain
        if len(sentence.text) >= 40:  # titles like "Abstract" link nothing
            other = first_with_text.setdefault(sentence.text, key)
            parent[find(key)] = find(other)
    groups: dict[tuple[str, str], list[tuple[str, str]]] = {}
    for key in parent:
        groups.setdefault(find(key), []).append(key)
    assignment: dict[tuple[str, str], str] = {}
    for domain in sorted(set(domain_of.values())):
        ordered = sorted(
            sorted(members) for members in groups.values() if domain_of[members[0]] == domain
        )
        random.Random(f"{seed}:{domain}").shuffle(ordered)
        train_end = round(len(ordered) * SPLIT_FRACTIONS["train"])
        dev_end = train_end + round(len(ordered) * SPLIT_FRACTIONS["dev"])
        for index, members in enumerate(ordered):
            split = "train" if index < train_end else "dev" if index < dev_end else "test"
            for key in members:
                assignment[key] = split
    return assignment


def load_split(
    split: str,
    corpora: Iterable[str] = ("szeged_bio", "szeged_wiki", "bioscope", "starsem"),
    root: Path | None = None,
) -> list[GoldSentence]:
    """The sentences of one split of the named corpora (*SEM uses its official split).

    The split is always computed over all three XML corpora, so it does not depend on which
    of them a caller asks for.
    """
    corpora = list(corpora)
    xml = {name: read_xml_corpus(name, root) for name in XML_CORPORA}
    assignment = split_of(s for sentences in xml.values() for s in sentences)
    chosen: list[GoldSentence] = []
    for corpus in corpora:
        if corpus == "starsem":
            chosen.extend(read_starsem(split, root))
        else:
            chosen.extend(s for s in xml[corpus] if assignment[(corpus, s.doc_id)] == split)
    return chosen
