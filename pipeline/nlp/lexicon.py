"""A term lexicon matched over tokens: the lookup half of entity recognition.

Terms are tokenised once, when the lexicon is built, with the pipeline's own tokenizer, so a
match is a dictionary lookup per token and loading 100k terms takes well under a second
(a spaCy PhraseMatcher would re-tokenise every term on each load). Matching is on lowercased
token text, except `exact` terms (short all-capital abbreviations), which must match as written.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from spacy.tokens import Doc

from pipeline.nlp import gzjson

LABELS = ("SUBSTANCE", "TARGET", "EFFECT", "CONDITION")


@dataclass(frozen=True, slots=True)
class Term:
    """One surface form and what it names."""

    tokens: tuple[str, ...]
    label: str
    norm: str
    source: str
    exact: bool = False


class Lexicon:
    """Longest-match lookup of pre-tokenised terms."""

    def __init__(self, terms: Iterable[Term] = ()) -> None:
        self.terms: list[Term] = []
        self._index: dict[str, list[tuple[tuple[str, ...], Term]]] = {}
        self._sorted = True
        for term in terms:
            self.add(term)

    def __len__(self) -> int:
        return len(self.terms)

    def add(self, term: Term) -> None:
        key = tuple(token.lower() for token in term.tokens)
        if not key:
            return
        self.terms.append(term)
        self._index.setdefault(key[0], []).append((key, term))
        self._sorted = False

    def lookup(self, words: tuple[str, ...]) -> Term | None:
        """The term spelled by `words` (compared lowercased), else None."""
        key = tuple(word.lower() for word in words)
        for candidate, term in self._index.get(key[0], ()) if key else ():
            if candidate == key and (not term.exact or term.tokens == words):
                return term
        return None

    def matches(self, doc: Doc) -> Iterator[tuple[int, int, Term]]:
        """Non-overlapping (start, end, term) matches, longest first, left to right."""
        if not self._sorted:  # longest candidates first, once after loading
            for candidates in self._index.values():
                candidates.sort(key=lambda candidate: -len(candidate[0]))
            self._sorted = True
        lowers = [token.lower_ for token in doc]
        i = 0
        while i < len(doc):
            found = None
            for key, term in self._index.get(lowers[i], ()):
                end = i + len(key)
                if end > len(doc) or tuple(lowers[i:end]) != key:
                    continue
                if term.exact and tuple(token.text for token in doc[i:end]) != term.tokens:
                    continue
                found = (i, end, term)
                break
            if found:
                yield found
                i = found[1]
            else:
                i += 1

    def to_disk(self, path: Path) -> None:
        gzjson.write_lines(
            path,
            ([list(t.tokens), t.label, t.norm, t.source, int(t.exact)] for t in self.terms),
        )

    @classmethod
    def from_disk(cls, path: Path) -> Lexicon:
        """What `to_disk` wrote; `add` inlined, as loading 100k terms is part of load time.

        Equal strings and token tuples are stored once (a label, a norm shared by synonyms,
        a lowercase term's own tokens as its key): every worker process holds the lexicon,
        and this halves its 120 MB.
        """
        lexicon = cls()
        terms, index = lexicon.terms, lexicon._index
        shared: dict = {}
        one = shared.setdefault
        for tokens, label, norm, source, exact in gzjson.read_lines(path):
            if not tokens:
                continue
            words = tuple([one(token, token) for token in tokens])
            key = tuple([one(lower, lower) for lower in (token.lower() for token in words)])
            key = words if key == words else one(key, key)
            term = Term(one(words, words), one(label, label), one(norm, norm), one(source, source))
            if exact:
                term = Term(term.tokens, term.label, term.norm, term.source, True)
            terms.append(term)
            index.setdefault(key[0], []).append((key, term))
        lexicon._sorted = False
        return lexicon


def read_entries(path: Path) -> Iterator[dict]:
    """Entries as written by models/scripts/build_lexicon.py (one JSON object a line)."""
    with open(path, encoding="utf-8") as handle:
        for line in handle:
            if line.strip():
                yield json.loads(line)


def build_lexicon(entries: Iterable[dict], tokenize: Callable[[str], Doc]) -> Lexicon:
    """Tokenise every entry's term with the pipeline tokenizer."""
    lexicon = Lexicon()
    for entry in entries:
        if entry["label"] not in LABELS:
            raise ValueError(f"Unknown label {entry['label']!r} for term {entry['term']!r}")
        tokens = tuple(token.text for token in tokenize(entry["term"]) if not token.is_space)
        lexicon.add(
            Term(tokens, entry["label"], entry["norm"], entry["source"], bool(entry.get("exact")))
        )
    return lexicon
