"""Learned claim edges: candidates from the rules and the parse, decided by a linear model.

The rules of `pipeline.nlp.claims` were written against two articles; on unseen text they
find a fraction of the claims. Here they only propose and describe. For every sentence a
claim may come from, every (substance, span, role) is a candidate:

- substances: the substance mentions of the sentence, references resolved the way the rules
  resolve them ("it", "the drug", "its alkaloids"), and, when the sentence names none, the
  article's subject (the substance of its title, else its most mentioned one);
- spans: the rules' target and effect slots, the pipeline's TARGET / EFFECT / CONDITION
  entities, noun chunks (alone and with an "of" phrase), outcome verb phrases ("relieves
  pain"), and short list items ("- drowsiness");
- roles: target and effect, each.

A logistic model (`EdgeModel`, trained by `models/scripts/train_claims.py` on the claim gold)
scores each candidate from its features: the dependency path between substance and span and
the trigger lemmas on it, distance and order, the span's head and entity label, the sentence
kind, whether the rules linked the same edge and by which rule, and the hedge and negation
scopes over it. Candidates scoring at least `threshold` become claims; of overlapping spans
of one substance and role only the longest is kept. Each claim keeps its probability
(`Claim.confidence`) so reviewers can sort by it and analysts can raise the threshold.

Hedged and negated come from the cue scopes exactly as for the rules; polarity from the
rules' slot, else from the span's words.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from spacy.language import Language
from spacy.tokens import Doc, Span, Token

from pipeline.nlp import gzjson
from pipeline.nlp.claims import (
    EFFECT_HEADS,
    EXTRACTOR_CONFIG,
    MECHANISM_NOUNS,
    OUTCOME_VERBS,
    TARGET_HEADS,
    Claim,
    ClaimExtractor,
    Mention,
    Slot,
    _covering,
    _link,
    _mechanism,
    _mentions,
    _phrase,
    _polarity,
    _slots,
    governing_negations,
)
from pipeline.nlp.entities import normalise_name
from pipeline.nlp.hedging import LinearModel

ROLES = ("target", "effect")
WEIGHTS_FILE = "edges.json.gz"
MAX_SPAN_TOKENS = 12
MAX_PATH = 12  # dependency arcs between substance and span beyond which no candidate is made
_ROLE = "\x00"  # stands for the role in features computed once for both roles


@dataclass
class Candidate:
    """One (substance, span, role) that may be a claim edge, with what the model sees."""

    sentence: Span
    mention: Mention
    span: Span
    role: str
    sources: set[str]
    slot: Slot | None = None
    kind: str = "prose"  # the sentence's kind (`Span._.kind`), read once per sentence
    rule: str | None = None
    rule_claims: tuple[int, ...] = ()  # the rules' claims holding this edge (chains)
    outcome: Span | None = None  # the span's first effect or condition entity
    named_target: Span | None = None  # the span's first target entity ("serotonin")
    implicit: bool = False
    subject_ref: bool = False  # a reference resolved to the article's subject, not the paragraph
    subject: Mention | None = None  # the article's subject
    n_mentions: int = 1  # substance mentions in the sentence
    path: list[Token] = field(default_factory=list)  # substance up to the top, down to span
    top: int = 0  # index in `path` of the top (the predicate linking the two)
    features: list[str] = field(default_factory=list)
    probability: float = 0.0

    @property
    def names(self) -> set[str]:
        """What the candidate's substance is called: as written, normalised, antecedent."""
        names = {self.mention.span.text, self.mention.norm}
        if self.mention.antecedent is not None:
            names.add(self.mention.antecedent.text)
        return {n for n in names if n}


# -- the article's subject ----------------------------------------------------------------------


def article_subject(doc: Doc, entities: list[Span]) -> Mention | None:
    """The substance an article is about: its title's (first line) else its most mentioned."""
    substances = [e for e in entities if e.label_ == "SUBSTANCE" and e.text.strip()]
    if not substances:
        return None
    first_line_end = doc.text.find("\n")
    in_title = [e for e in substances if first_line_end < 0 or e.start_char < first_line_end]
    if in_title:
        chosen = in_title[0]
    else:
        counts = Counter(e._.norm or normalise_name(e.text) for e in substances)
        norm = counts.most_common(1)[0][0]
        chosen = next(e for e in substances if (e._.norm or normalise_name(e.text)) == norm)
    return Mention(chosen, chosen._.norm or normalise_name(chosen.text), chosen)


# -- spans ----------------------------------------------------------------------------------------


def _spans(
    sentence: Span, entities: list[Span], slots: list[Slot], chunks: list[Span], kind: str
) -> dict[tuple, dict]:
    """Candidate spans of a sentence: (start, end) -> {"span", "sources", "slot"}."""
    found: dict[tuple, dict] = {}
    doc = sentence.doc

    def add(span: Span, source: str, slot: Slot | None = None) -> None:
        while len(span) and (span[0].is_punct or span[0].is_space or span[0].pos_ == "DET"):
            span = doc[span.start + 1 : span.end]
        while len(span) and (span[-1].is_punct or span[-1].is_space):
            span = doc[span.start : span.end - 1]
        if not len(span) or len(span) > MAX_SPAN_TOKENS:
            return
        entry = found.setdefault(
            (span.start, span.end), {"span": span, "sources": set(), "labels": set()}
        )
        entry["sources"].add(source)
        if slot is not None:
            entry.setdefault("slot", slot)

    for slot in slots:
        add(slot.span, "slot", slot)
    for entity in entities:
        if entity.label_ in {"TARGET", "EFFECT", "CONDITION"}:
            add(entity, "entity")
    for chunk in chunks:
        if chunk.root.pos_ == "PRON":
            continue
        add(chunk, "chunk")
        add(_phrase(chunk.root, with_of=True), "chunk_of")
    for token in sentence:
        if token.pos_ == "VERB" and token.lemma_.lower() in OUTCOME_VERBS:
            objects = [c for c in token.children if c.dep_ in {"dobj", "attr", "acomp"}]
            for obj in objects:
                add(doc[token.i : _end_without_conjuncts(obj)], "verb")
    if kind == "list_item" and len(sentence) <= 8:
        add(sentence, "item")
    for entry in found.values():
        span = entry["span"]
        entry["labels"] = {e.label_ for e in entities if e.start < span.end and span.start < e.end}
        inside = [
            e
            for e in entities
            if e.label_ in {"EFFECT", "CONDITION"} and span.start <= e.start and e.end <= span.end
        ]
        # the first one: an outcome's complements follow it ("seizures in people with epilepsy")
        entry["outcome"] = min(inside, key=lambda e: e.start, default=None)
        targets = [
            e
            for e in entities
            if e.label_ == "TARGET" and span.start <= e.start and e.end <= span.end
        ]
        entry["named_target"] = min(targets, key=lambda e: e.start, default=None)
    return found


def _end_without_conjuncts(token: Token) -> int:
    """The end of a token's phrase before its coordinated items ("pain" of "pain and
    anxiety"): coordinated items are separate edges."""
    end = token.i + 1
    for child in token.rights:
        if child.dep_ in {"conj", "cc"} or (child.dep_ == "punct" and child.text == ","):
            break
        end = child.right_edge.i + 1
    return end


# -- dependency paths -----------------------------------------------------------------------------


def dependency_path(a: Token, b: Token) -> tuple[list[Token], list[Token]]:
    """(tokens from a up to the lowest common ancestor, tokens from there down to b)."""
    ancestors_a = [a, *a.ancestors]
    positions = {t.i: n for n, t in enumerate(ancestors_a)}
    down = []
    node = b
    while node.i not in positions:
        down.append(node)
        if node.head == node:
            return ancestors_a, down[::-1]  # different sentences: no common ancestor
        node = node.head
    up = ancestors_a[: positions[node.i] + 1]
    return up, down[::-1]


def _bucket(n: int) -> str:
    return str(n) if n < 4 else "4-6" if n < 7 else "7+"


def features(
    candidate: Candidate,
    hedges: list[Span],
    negations: list[Span],
    entity_labels: Iterable[str] = (),
) -> list[str]:
    """What the model sees of a candidate: strings, each a binary feature, role-conjoined.

    `entity_labels` are the labels of the pipeline's entities (SUBSTANCE, TARGET, EFFECT,
    CONDITION) that overlap the span."""
    r = candidate.role
    span, mention, sentence = candidate.span, candidate.mention, candidate.sentence
    root = span.root
    anchor = mention.anchor
    found = [f"bias:{r}", f"rule:{r}:{candidate.rule or 'none'}"]
    found += [f"src:{r}:{source}" for source in sorted(candidate.sources)]
    if candidate.slot is not None:
        found.append(f"slot:{r}:{candidate.slot.role}")
    labels = {t.ent_type_ for t in span if t.ent_type_}
    found += [f"ner:{r}:{label}" for label in sorted(labels)]
    found += [f"ent:{r}:{label}" for label in sorted(entity_labels)]
    if root.dep_ == "pobj":
        found.append(f"prep:{r}:{root.head.lower_}:{root.head.head.lemma_.lower()}")
        found.append(f"prep:{r}:{root.head.lower_}")
    found.append(f"gov:{r}:{root.head.lemma_.lower()}")
    for token in span:
        if token.pos_ in {"NOUN", "PROPN", "ADJ", "VERB"} and token != root:
            found.append(f"w:{r}:{token.lemma_.lower()}")
    if candidate.subject is not None:
        same = candidate.subject.norm == mention.norm
        found.append(f"subject:{r}:{'same' if same else 'other'}")
    found.append(f"mentions:{r}:{_bucket(candidate.n_mentions)}")
    first = span[0]
    if first.tag_.startswith("VB"):
        found.append(f"verb_first:{r}:{first.lemma_.lower()}")
    lemma = root.lemma_.lower()
    found += [f"head:{r}:{lemma}", f"headpos:{r}:{root.pos_}", f"headdep:{r}:{root.dep_}"]
    found += [f"head_src:{r}:{lemma}:{source}" for source in sorted(candidate.sources)]
    if lemma in TARGET_HEADS:
        found.append(f"target_head:{r}")
    if lemma in EFFECT_HEADS:
        found.append(f"effect_head:{r}")
    found.append(f"len:{r}:{_bucket(len(span))}")
    mention_kind = (
        "implicit"
        if candidate.implicit
        else "subject_ref"
        if candidate.subject_ref
        else "ref"
        if mention.antecedent is not None
        else "named"
    )
    found.append(f"mention:{r}:{mention_kind}")
    found.append(f"kind:{r}:{candidate.kind}")
    if sentence.start == 0:
        found.append(f"first_sentence:{r}")
    if candidate.implicit:
        up, down = [], [root]
        found.append(f"implicit_head:{r}:{lemma}")
        found.append(f"implicit_kind:{r}:{candidate.kind}")
        verb = next((a for a in root.ancestors if a.pos_ == "VERB"), None)
        if verb is not None:
            found.append(f"implicit_verb:{r}:{verb.lemma_.lower()}")
    else:
        up, down = dependency_path(anchor, root)
        labels_up = [t.dep_ for t in up[:-1]]
        labels_down = [t.dep_ for t in down]
        path = "/".join(labels_up) + "^" + "/".join(labels_down)
        length = len(labels_up) + len(labels_down)
        found.append(f"pathlen:{r}:{_bucket(length)}")
        if length <= 5:
            found.append(f"path:{r}:{path}")
        found.append(f"up:{r}:{'/'.join(labels_up[:2])}")
        found.append(f"down:{r}:{'/'.join(labels_down[-2:])}")
        top = up[-1] if up else root
        found.append(f"top:{r}:{top.lemma_.lower()}")
        found.append(f"toppos:{r}:{top.pos_}")
        for token in (*up[1:], *down[:-1]):
            if token.pos_ in {"VERB", "NOUN", "ADJ", "ADP"} and token.i not in range(
                span.start, span.end
            ):
                found.append(f"trig:{r}:{token.lemma_.lower()}")
        distance = (
            span.start - mention.span.end
            if span.start >= mention.span.end
            else (mention.span.start - span.end)
        )
        found.append(f"dist:{r}:{_bucket(max(0, distance) // 2)}")
        found.append(f"order:{r}:{'after' if span.start >= mention.span.end else 'before'}")
        candidate.path = [*up, *down]
        candidate.top = max(0, len(up) - 1)
        # a coordinated item shares the path of the first one ("drowsiness and tachycardia")
        first = root
        while first.dep_ == "conj" and first.head != first:
            first = first.head
        if first is not root:
            up_first, down_first = dependency_path(anchor, first)
            conj_path = (
                "/".join(t.dep_ for t in up_first[:-1]) + "^" + "/".join(t.dep_ for t in down_first)
            )
            found.append(f"conj:{r}")
            if len(up_first) + len(down_first) <= 6:
                found.append(f"conjpath:{r}:{conj_path}")
            top_first = up_first[-1] if up_first else first
            found.append(f"conjtop:{r}:{top_first.lemma_.lower()}")
    for token in span:
        if token.ent_type_ == "CHEMICAL" or token.pos_ == "PRON":
            found.append(f"span_has:{r}:{token.ent_type_ or 'PRON'}")
            break
    covered = {t.i for t in candidate.path} | {t.i for t in span} | {t.i for t in mention.span}
    if _covering(hedges, covered):
        found.append(f"hedged:{r}")
    if _covering(negations, covered):
        found.append(f"negated:{r}")
    return found


# -- candidates ----------------------------------------------------------------------------------


def candidates(
    doc: Doc,
    entities: list[Span],
    hedges: list[Span],
    negations: list[Span],
    claim_kinds: frozenset[str],
) -> list[Candidate]:
    """Every candidate edge of the document's claim sentences, with its features."""
    subject = article_subject(doc, entities)
    found: list[Candidate] = []
    recent: list[Mention] = []
    rule_claims = 0
    paragraph = None
    # the document's noun chunks, once (a sentence's `noun_chunks` walks the whole document)
    chunks: dict[int, list[Span]] = {}
    for chunk in doc.noun_chunks:
        chunks.setdefault(chunk.sent.start, []).append(chunk)
    for sentence in doc.sents:
        if sentence._.paragraph != paragraph:
            paragraph, recent = sentence._.paragraph, []
        in_sentence = [e for e in entities if sentence.start <= e.start < sentence.end]
        # "it", "the drug": the paragraph's substance in subject position, else the article's
        # subject (see claims._salient)
        mentions = _mentions(sentence, in_sentence, recent, subject)
        by_subject = {
            id(m)
            for m in mentions
            if subject is not None
            and m.antecedent is not None
            and m.antecedent == subject.span
            and m.span != subject.span
        }
        recent.extend(m for m in mentions if m.antecedent is None)
        kind = sentence._.kind
        if kind not in claim_kinds:
            continue
        slots = _slots(sentence, in_sentence, mentions)
        linked: dict[tuple, tuple[str, tuple[int, ...]]] = {}
        for claim in _link(sentence, mentions, slots, hedges, negations):
            rule_claims += 1
            for role, slot in (("target", claim.target), ("effect", claim.effect)):
                if slot is not None:
                    key = (claim.substance.span.start, slot.span.start, slot.span.end, role)
                    rule, ids = linked.get(key, (claim.rule, ()))
                    linked[key] = (rule, (*ids, rule_claims))
        spans = _spans(sentence, in_sentence, slots, chunks.get(sentence.start, []), kind)
        implicit = False
        if not mentions and subject is not None:
            mentions, implicit = [subject], True
        sentence_hedges = [h for h in hedges if sentence.start <= h.start < sentence.end]
        sentence_negations = [n for n in negations if sentence.start <= n.start < sentence.end]
        for mention in mentions:
            for (start, end), entry in spans.items():
                if not implicit and start < mention.span.end and mention.span.start < end:
                    continue  # the span is (part of) the substance
                shared: list[str] | None = None  # the features of both roles, but the rule's
                for role in ROLES:
                    key = (mention.span.start, start, end, role)
                    rule, rule_claims_of = linked.get(key, (None, ()))
                    candidate = Candidate(
                        sentence=sentence,
                        mention=mention,
                        span=entry["span"],
                        role=role,
                        sources=set(entry["sources"]),
                        slot=entry.get("slot"),
                        kind=kind,
                        rule=rule,
                        rule_claims=rule_claims_of,
                        outcome=entry["outcome"],
                        named_target=entry["named_target"],
                        implicit=implicit,
                        subject_ref=id(mention) in by_subject,
                        subject=subject,
                        n_mentions=len(mentions),
                    )
                    if shared is None:
                        # computed once with a placeholder role, then named per role
                        candidate.role, candidate.rule = _ROLE, None
                        found_features = features(
                            candidate, sentence_hedges, sentence_negations, entry["labels"]
                        )
                        candidate.role, candidate.rule = role, rule
                        shared = [f for f in found_features if not f.startswith("rule:")]
                        path, top = candidate.path, candidate.top
                        if len(path) > MAX_PATH:
                            break
                    candidate.path, candidate.top = path, top
                    candidate.features = [f"rule:{role}:{rule or 'none'}"] + [
                        f.replace(_ROLE, role) for f in shared
                    ]
                    found.append(candidate)
    return found


# -- the model -----------------------------------------------------------------------------------


_NEGATORS = frozenset(
    ["no", "not", "without", "never", "none", "free", "little", "few", "lack", "absence"]
)


def certainty_features(
    candidate: Candidate, hedges: list[Span], negations: list[Span]
) -> list[str]:
    """What the hedged and negated models see of an edge: the cues over it and where they
    sit, modals and negators on its path and in its span, the sentence's shape."""
    span, sentence = candidate.span, candidate.sentence
    covered = {t.i for t in candidate.path} | {t.i for t in span}
    covered |= {t.i for t in candidate.mention.span if candidate.mention.span.sent == sentence}
    found = ["bias", f"role:{candidate.role}", f"kind:{candidate.kind}"]
    covering_hedges = _covering(hedges, covered)
    for cue in covering_hedges:
        found += [f"hedge:{cue.label_}", f"hedge_word:{cue.text.lower()}"]
    for cue in hedges:
        if cue not in covering_hedges:
            found.append(f"hedge_elsewhere:{cue.text.lower()}")
    covering_negations = _covering(negations, covered)
    for cue in covering_negations:
        found.append(f"negation_word:{cue.text.lower()}")
    for cue in negations:
        if cue not in covering_negations:
            found.append(f"negation_elsewhere:{cue.text.lower()}")
    for token in candidate.path:
        for child in token.children:
            if child.dep_ in {"aux", "neg", "advmod"} and child.i not in covered:
                found.append(f"{child.dep_}:{child.lower_}")
        if token.tag_ == "MD":
            found.append(f"modal:{token.lower_}")
        if token.pos_ == "VERB":
            found.append(f"path_verb:{token.lemma_.lower()}")
    for token in span:
        if token.lower_ in _NEGATORS:
            found.append(f"span_negator:{token.lower_}")
        if token.tag_ == "MD":
            found.append(f"span_modal:{token.lower_}")
    for child in span.root.children:
        if child.dep_ in {"det", "amod"} and child.lower_ in _NEGATORS | {"potential", "possible"}:
            found.append(f"root_{child.dep_}:{child.lower_}")
    if sentence.text.strip().endswith("?"):
        found.append("question")
    found.append(f"cues_say:{'hedged' if covering_hedges else 'asserted'}")
    for token in sentence:
        if token.tag_ == "MD":
            found.append(f"modal_in_sentence:{token.lower_}")
    return found


def polarity_features(candidate: Candidate) -> list[str]:
    """What the polarity model sees of an effect edge: the outcome's words and label, the
    verbs above it (treat, reduce, cause), the rules' polarity and the section it sits in."""
    span, sentence = candidate.span, candidate.sentence
    rule_polarity = _polarity(span)
    found = ["bias", f"rule_polarity:{rule_polarity}", f"kind:{candidate.kind}"]
    if candidate.slot is not None and candidate.slot.polarity:
        found.append(f"slot_polarity:{candidate.slot.polarity}")
    for token in span:
        if token.pos_ in {"NOUN", "PROPN", "ADJ", "VERB", "ADV"}:
            found.append(f"w:{token.lemma_.lower()}")
    found.append(f"head:{span.root.lemma_.lower()}")
    if candidate.outcome is not None:
        found.append(f"outcome:{candidate.outcome.label_}")
    for token in candidate.path:
        if token.pos_ in {"VERB", "NOUN", "ADJ"} and token.i not in range(span.start, span.end):
            found.append(f"path:{token.lemma_.lower()}")
    governor = span.root.head
    found.append(f"gov:{governor.lemma_.lower()}")
    if span.root.dep_ == "pobj":
        found.append(f"prep:{governor.lower_}:{governor.head.lemma_.lower()}")
    section = sentence._.section
    if section and not sentence._.is_heading:
        found += [f"section:{word}" for word in re.findall(r"[a-z]+", section.lower())[:6]]
    return found


@dataclass
class EdgeModel:
    """Logistic models: is a candidate a claim (with the probability a claim needs), and is
    a claim hedged, negated (None: decided by the cues' scopes, as for the rules)."""

    model: LinearModel
    threshold: float = 0.5
    trained_on: dict = field(default_factory=dict)  # what the weights were fitted on
    hedged: LinearModel | None = None
    negated: LinearModel | None = None
    # benefit / harm / neutral of an effect; None: the rules' polarity
    polarity: LinearModel | None = None

    def probability(self, features: Iterable[str]) -> float:
        score = self.model.score(features)
        return 1.0 / (1.0 + math.exp(-max(-30.0, min(30.0, score))))

    def to_json(self) -> dict:
        return {
            "model": self.model.to_json(),
            "threshold": self.threshold,
            "trained_on": self.trained_on,
            "hedged": self.hedged.to_json() if self.hedged else None,
            "negated": self.negated.to_json() if self.negated else None,
            "polarity": self.polarity.to_json() if self.polarity else None,
        }

    @classmethod
    def from_json(cls, data: dict) -> EdgeModel:
        def optional(name: str) -> LinearModel | None:
            return LinearModel.from_json(data[name]) if data.get(name) else None

        return cls(
            LinearModel.from_json(data["model"]),
            data["threshold"],
            data.get("trained_on", {}),
            optional("hedged"),
            optional("negated"),
            optional("polarity"),
        )

    def write(self, path: Path) -> None:
        gzjson.write_json(path, self.to_json())

    @classmethod
    def read(cls, path: Path) -> EdgeModel:
        return cls.from_json(gzjson.read_json(path))


def decide(
    found: list[Candidate], model: EdgeModel, threshold: float | None = None
) -> list[Candidate]:
    """The candidates that are claims: probability >= threshold; of overlapping spans of one
    substance and role, the longest (a value holding its outcome whole: "decreased feelings
    of sadness", not "decreased feelings"), the more probable of equally long ones."""
    threshold = model.threshold if threshold is None else threshold
    for candidate in found:
        candidate.probability = model.probability(candidate.features)
    accepted = [c for c in found if c.probability >= threshold or _induced(c)]
    kept: list[Candidate] = []
    for candidate in sorted(accepted, key=lambda c: (-len(c.span), -c.probability)):
        clash = any(
            k.sentence.start == candidate.sentence.start
            and k.role == candidate.role
            and k.mention.norm == candidate.mention.norm
            and k.span.start < candidate.span.end
            and candidate.span.start < k.span.end
            for k in kept
        )
        if not clash:
            kept.append(candidate)
    linked: dict[tuple, list[Candidate]] = {}
    for other in found:
        if other.rule_claims:
            key = (other.sentence.start, other.mention.span.start, other.role)
            linked.setdefault(key, []).append(other)
    for candidate in kept:
        # the rules' chains through a slot inside the kept span ("serotonin" of "serotonin
        # levels") are this edge's chains
        key = (candidate.sentence.start, candidate.mention.span.start, candidate.role)
        for other in linked.get(key, ()):
            if candidate.span.start <= other.span.start and other.span.end <= candidate.span.end:
                candidate.rule_claims = tuple(sorted({*candidate.rule_claims, *other.rule_claims}))
    return sorted(kept, key=lambda c: (c.span.start, c.role))


def one_role(kept: list[Candidate], biomarkers: dict[str, str]) -> list[Candidate]:
    """A name is a target or an effect of a substance, not both: of a target edge and an
    effect edge of one substance over the same entity ("MDMA increases serotonin"), the
    target is kept, unless the entity is a biomarker, whose change is the effect ("Niacin
    raises HDL cholesterol": benefit)."""
    targets = [c for c in kept if c.role == "target"]
    dropped: set[int] = set()
    for effect in (c for c in kept if c.role == "effect"):
        for target in targets:
            if (
                target.sentence.start != effect.sentence.start
                or target.mention.norm != effect.mention.norm
            ):
                continue
            entity = target.named_target or target.span
            if not (effect.span.start <= entity.start and entity.end <= effect.span.end):
                continue
            if effect.outcome is not None and effect.outcome != entity:
                continue  # the effect names an outcome of its own ("serotonin syndrome")
            norm = entity._.norm if entity._.norm else entity.text.lower()
            dropped.add(id(target) if norm in biomarkers else id(effect))
    return [c for c in kept if id(c) not in dropped]


def _moved(span: Span, sentence: Span) -> str | None:
    """Which way a measurement moves: "higher" or "lower" from the words before it in its
    span or governing it ("raises HDL", "lower blood pressure"), else None."""
    words = [t for t in span if t.i < span.root.i]
    head = span.root
    for _ in range(3):
        words.append(head)
        if head.head == head or head.head.i < sentence.start:
            break
        head = head.head
    for token in words:
        lemma = token.lemma_.lower()
        if lemma in _UP or token.lower_ in _UP:
            return "higher"
        if lemma in _DOWN or token.lower_ in _DOWN:
            return "lower"
    return None


_OWNER = re.compile(r"^(?:one['’]s|your|their|his|her|its|our|my|the)\s+")
_INDUCED = frozenset(["induced", "caused", "triggered", "related", "associated", "mediated"])


def _induced(candidate: Candidate) -> bool:
    """ "caffeine-induced insomnia": an effect the substance brings on, by the form of the
    words alone, however the parser reads them (often as an apposition or a clause)."""
    if candidate.role != "effect" or candidate.outcome is None:
        return False
    doc, end = candidate.span.doc, candidate.mention.span.end
    if end + 2 >= len(doc) or doc[end].text not in {"-", "‐", "–"}:
        return False
    return (
        doc[end + 1].lower_ in _INDUCED
        and candidate.span.start in (end + 1, end + 2)
        and candidate.outcome.start == end + 2
    )


def to_claims(
    kept: list[Candidate],
    hedges: list[Span],
    negations: list[Span],
    model: EdgeModel | None = None,
) -> list[Claim]:
    """One claim per accepted edge, with its cues, certainty, polarity and confidence; a
    target and an effect the rules chained ("By increasing serotonin levels, MDMA may
    improve mood") make one claim when both are accepted, as the rules give it, with the
    lower of the two confidences. An edge in several chains is in each of them."""
    edges = [(candidate, _claim(candidate, hedges, negations, model)) for candidate in kept]
    by_rule_claim: dict[int, dict[str, tuple[Candidate, Claim]]] = {}
    for candidate, claim in edges:
        for rule_claim in candidate.rule_claims:
            by_rule_claim.setdefault(rule_claim, {})[candidate.role] = (candidate, claim)
    chains: dict[int, Claim] = {}  # by the position of its target edge
    chained: set[int] = set()
    for rule_claim, roles in sorted(by_rule_claim.items()):
        if set(roles) != set(ROLES):
            continue
        (target, target_claim), (effect, effect_claim) = roles["target"], roles["effect"]
        if target.mention.span.start != effect.mention.span.start:
            continue
        chains[rule_claim] = _merged(target_claim, effect_claim)
        chained.update({id(target), id(effect)})
    claims = [claim for candidate, claim in edges if id(candidate) not in chained]
    claims += chains.values()
    return sorted(claims, key=_claim_order)


def _claim_order(claim: Claim) -> tuple:
    spans = [s.span for s in (claim.target, claim.effect) if s is not None]
    return (claim.sentence.start, min(s.start for s in spans), claim.effect is not None)


def _merged(target: Claim, effect: Claim) -> Claim:
    """One claim of a chain's target edge and effect edge."""
    hedge_cues = sorted({*target.hedge_cues, *effect.hedge_cues}, key=lambda c: c.start)
    negation_cues = sorted({*target.negation_cues, *effect.negation_cues}, key=lambda c: c.start)
    merged = Claim(
        sentence=target.sentence,
        substance=target.substance,
        target=target.target,
        effect=effect.effect,
        mechanism=target.mechanism,
        rule=_chain_rule(target.rule, effect.rule),
        hedge_cues=hedge_cues,
        negation_cues=negation_cues,
        confidence=min(target.confidence or 0.0, effect.confidence or 0.0),
    )
    for attribute in ("is_hedged", "is_negated"):
        values = [getattr(c, attribute) for c in (target, effect)]
        if None not in values:
            setattr(merged, attribute, any(values))
    return merged


def _chain_rule(one: str, other: str) -> str:
    return one if one == other else f"{one}&{other.removeprefix('learned<')}"


# "a lower risk of heart disease" is a benefit, "a higher risk of seizures" a harm, whatever
# the outcome; words for the direction of a risk and for a risk.
_LOWER = frozenset(
    [
        "lower",
        "low",
        "lowered",
        "reduced",
        "reduce",
        "reduces",
        "reducing",
        "decreased",
        "decrease",
        "less",
    ]
)
_HIGHER = frozenset(
    [
        "higher",
        "high",
        "raised",
        "increased",
        "increase",
        "increases",
        "increasing",
        "greater",
        "more",
    ]
)
# Which way a measurement moves ("raises HDL", "lower blood pressure"): the risk words above
# and the verbs of change, as lemmas.
_UP = _HIGHER | {"raise", "boost", "elevate", "rise"}
_DOWN = _LOWER | {"cut", "drop", "decline", "fall"}
_OUTCOME_VERB_WORDS = OUTCOME_VERBS | _UP | _DOWN
_RISKS = frozenset(
    ["risk", "risks", "odds", "chance", "chances", "likelihood", "incidence", "rate", "rates"]
)


def _risk_direction(span: Span) -> str | None:
    """benefit for a lowered risk, harm for a raised one, None when the span names no risk."""
    for token in span:
        if token.lower_ in _RISKS:
            around = {t.lower_ for t in token.lefts} | {
                t.lower_ for t in span[: token.i - span.start]
            }
            if around & _LOWER:
                return "benefit"
            if around & _HIGHER:
                return "harm"
    return None


_RELIEF = frozenset(
    [
        "suppression", "reduction", "relief", "decrease", "inhibition", "prevention",
        "alleviation", "attenuation", "lowering", "decline", "resolution", "remission",
    ]
)  # fmt: skip


def _relief(span: Span, outcome: Span | None) -> str | None:
    """benefit for an outcome named with the noun that takes it away ("anxiety suppression",
    "reduction in pain", "relief of nausea"): the effect keeps its direction."""
    if outcome is None:
        return None
    root = outcome.root
    governors = [root.head, root.head.head] if root.head.dep_ == "prep" else [root.head]
    if root.head.lower_ in {"in", "of", "from"}:
        governors.append(root.head.head)
    for token in governors:
        if span.start <= token.i < span.end and token.lemma_.lower() in _RELIEF:
            return "benefit"
    return None


_WORSENING = frozenset(["worsen", "aggravate", "exacerbate", "impair"])


def _worsening(span: Span) -> str | None:
    """harm for an outcome the substance makes worse ("worsens depression"), else None."""
    first = span[0]
    return "harm" if first.pos_ == "VERB" and first.lemma_.lower() in _WORSENING else None


def _effect_norm(candidate: Candidate) -> str:
    """What the effect is, to group on: the outcome entity the span holds ("relieve chronic
    pain" -> the norm of "chronic pain"), else the span without a leading outcome verb."""
    outcome = candidate.outcome
    if outcome is not None:
        return outcome._.norm or normalise_name(outcome.text)
    span = candidate.span
    if len(span) > 1 and span[0].tag_.startswith("VB") and span[0].lemma_.lower() in OUTCOME_VERBS:
        span = span[1:]
    while len(span) > 1 and (span[0].pos_ in {"DET", "PRON"} or span[0].dep_ in {"poss", "case"}):
        span = span[1:]  # "the", "one's", "their": not part of the effect's name
    return normalise_name(span.text)


def _names_the_mechanism_of(root: Token, target: Token) -> bool:
    """ "release of serotonin", "serotonin levels": the target hangs off the mechanism noun."""
    if target.dep_ == "compound":
        return target.head == root
    return target.head.lower_ == "of" and target.head.head == root


def _target_mechanism(candidate: Candidate) -> str | None:
    """The predicate and mechanism nouns from the target up to where the substance links in,
    read as the rules read them: "stimulates the release of serotonin" -> "stimulates
    release"."""
    path = list(reversed(candidate.path[candidate.top :]))
    named = candidate.named_target
    if named is not None and named.root != candidate.span.root and not candidate.implicit:
        up, down = dependency_path(candidate.mention.anchor, named.root)
        path = [*reversed(down), up[-1]] if up else list(reversed(down))
    return _mechanism(path)


def _target_norm(candidate: Candidate) -> str:
    """What the target is, to group and ground on: the rules' slot, else the target entity
    the span holds ("the release of serotonin" -> "serotonin"), else the span's words."""
    slot, named = candidate.slot, candidate.named_target
    if slot is not None and slot.role == "target" and slot.span == candidate.span:
        return slot.norm
    if named is not None:
        return named._.norm or normalise_name(named.text)
    return normalise_name(candidate.span.text)


def _claim(
    candidate: Candidate,
    hedges: list[Span],
    negations: list[Span],
    model: EdgeModel | None,
) -> Claim:
    span, mention = candidate.span, candidate.mention
    covered = {t.i for t in candidate.path} | {t.i for t in span}
    covered |= {t.i for t in mention.span if mention.span.sent == candidate.sentence}
    sentence = candidate.sentence
    in_sentence_hedges = [h for h in hedges if sentence.start <= h.start < sentence.end]
    in_sentence_negations = [n for n in negations if sentence.start <= n.start < sentence.end]
    slot = candidate.slot
    if candidate.role == "effect":
        rule_slot = slot is not None and slot.role == "effect" and slot.span == span
        polarity = slot.polarity if rule_slot else None
        if model is not None and model.polarity is not None:
            polarity = model.polarity.predict(polarity_features(candidate))
        polarity = (
            _risk_direction(span)
            or _worsening(span)
            or _relief(span, candidate.outcome)
            or polarity
        )
        if span[0].lower_ == "induced" and len(span) > 1:
            # "risperidone-induced tardive dyskinesia": what the substance brings on, a harm
            span, polarity = span[1:], "harm"
        value = Slot(
            span,
            "effect",
            _effect_norm(candidate)
            if candidate.outcome is not None or not rule_slot
            else slot.norm,
            polarity or _polarity(span),
        )
        if rule_slot and slot.condition is not None:
            value.condition = slot.condition
        elif candidate.outcome is not None and candidate.outcome.label_ == "CONDITION":
            value.condition = candidate.outcome
    else:
        value = Slot(span, "target", _target_norm(candidate))
        named = candidate.named_target
        if (
            named is not None
            and span.root.lemma_.lower() in MECHANISM_NOUNS
            and _names_the_mechanism_of(span.root, named.root)
        ):
            # "the release of serotonin", "serotonin levels": the target is serotonin
            value.span = named
    mechanism = _target_mechanism(candidate) if candidate.role == "target" else None
    rule = "learned" + (f"<{candidate.rule}" if candidate.rule else "")
    if candidate.implicit:
        rule += "+subject"
    elif mention.antecedent is not None and not rule.endswith("+ref"):
        rule += "+ref"
    claim = Claim(
        sentence=sentence,
        substance=mention,
        target=value if candidate.role == "target" else None,
        effect=value if candidate.role == "effect" else None,
        mechanism=mechanism,
        rule=rule,
        hedge_cues=_covering(in_sentence_hedges, covered),
        negation_cues=governing_negations(in_sentence_negations, covered, {candidate.span.root.i}),
        confidence=round(candidate.probability, 4),
    )
    if model is not None and (model.hedged or model.negated):
        seen = certainty_features(candidate, in_sentence_hedges, in_sentence_negations)
        if model.hedged is not None:
            claim.is_hedged = model.hedged.score(seen) > 0
        if model.negated is not None:
            claim.is_negated = model.negated.score(seen) > 0
    return claim


# -- the component --------------------------------------------------------------------------------


# Measurements a substance moves, and which way is better: "raises HDL" is a benefit,
# "raises LDL" a harm. Keyed by normalised name (models/lexicon/curated.jsonl).
BIOMARKERS = {
    "cholesterol": "lower",
    "ldl cholesterol": "lower",
    "hdl cholesterol": "higher",
    "triglycerides": "lower",
    "blood glucose": "lower",
    "blood pressure": "lower",
}
# Effects that name no outcome, only how much of one: "the risk or severity of", "to
# dangerous levels", "unpredictable synergy" (site templates). Vaguer words that do stand for
# an outcome ("offers a benefit", "its effects") stay: the claim gold counts them, and
# dropping them cost dev F1 (0.686 -> 0.677).
GENERIC_EFFECTS = [
    "severity", "intensity", "frequency", "synergy", "level", "levels", "amount", "amounts",
    "dangerous",
]  # fmt: skip


@Language.factory(
    "claims_edges",
    default_config={
        **EXTRACTOR_CONFIG,
        "threshold": None,
        "biomarkers": BIOMARKERS,
        "generic_effects": GENERIC_EFFECTS,
    },
)
def make_edges(
    nlp: Language,
    name: str,
    entities_key: str,
    hedges_key: str,
    negations_key: str,
    claim_kinds: list[str],
    threshold: float | None,
    biomarkers: dict[str, str],
    generic_effects: list[str],
) -> EdgeClassifier:
    return EdgeClassifier(
        name,
        entities_key=entities_key,
        hedges_key=hedges_key,
        negations_key=negations_key,
        claim_kinds=claim_kinds,
        threshold=threshold,
        biomarkers=biomarkers,
        generic_effects=generic_effects,
    )


class EdgeClassifier(ClaimExtractor):
    """Pipeline component: `doc._.claims` decided by the learned edge model.

    Replaces `claims_extractor` in a pipeline (claims of the same shape, plus `confidence`).
    `threshold` (config) overrides the one the model was trained with. Raises ValueError when
    run before weights are loaded (`initialize(weights_path=...)` or a saved pipeline).
    """

    def __init__(
        self,
        name: str,
        *,
        threshold: float | None = None,
        biomarkers: dict[str, str] | None = None,
        generic_effects: list[str] | None = None,
        **extractor_config,
    ) -> None:
        """`extractor_config`: the rule extractor's keywords (span keys, `claim_kinds`).
        `biomarkers`: normalised name -> "lower" or "higher", the better direction;
        `generic_effects`: words that alone name no effect."""
        super().__init__(name, **extractor_config)
        self.threshold = threshold
        self.biomarkers = dict(BIOMARKERS if biomarkers is None else biomarkers)
        words = GENERIC_EFFECTS if generic_effects is None else generic_effects
        self.generic_effects = frozenset(word.lower() for word in words)
        self.model: EdgeModel | None = None

    def candidates(self, doc: Doc) -> list[Candidate]:
        entities = list(doc.spans.get(self.entities_key, ()))
        hedges = list(doc.spans.get(self.hedges_key, ()))
        negations = list(doc.spans.get(self.negations_key, ()))
        return candidates(doc, entities, hedges, negations, self.claim_kinds)

    def __call__(self, doc: Doc) -> Doc:
        if self.model is None:
            raise ValueError("claims_edges has no weights: run models/scripts/train_claims.py")
        doc._.claims = self.claims(doc, self.candidates(doc), self.model, self.threshold)
        return doc

    def claims(
        self,
        doc: Doc,
        found: list[Candidate],
        model: EdgeModel,
        threshold: float | None = None,
    ) -> list[Claim]:
        """The claims of `doc` from its candidate edges, as the component decides them: the
        model's choice (`decide`), one role per name (`one_role`), no effect that names no
        outcome, and a biomarker's polarity from the way it moves. Training scores with
        this very method, so the figures are those of the shipped component."""
        kept = decide(found, model, threshold)
        kept = one_role(kept, self.biomarkers)
        kept = [c for c in kept if not self._generic(c)]
        hedges = list(doc.spans.get(self.hedges_key, ()))
        negations = list(doc.spans.get(self.negations_key, ()))
        claims = to_claims(kept, hedges, negations, model)
        for claim in claims:
            for value in (claim.target, claim.effect):
                if value is not None:  # "raises one's heart rate": the effect is heart rate
                    value.norm = _OWNER.sub("", value.norm) or value.norm
            if claim.effect is not None and claim.effect.norm in self.biomarkers:
                moved = _moved(claim.effect.span, claim.sentence)
                if moved is not None:
                    better = self.biomarkers[claim.effect.norm] == moved
                    claim.effect.polarity = "benefit" if better else "harm"
        return claims

    def _generic(self, candidate: Candidate) -> bool:
        """An effect that names no outcome: every content word generic ("a benefit")."""
        if candidate.role != "effect":
            return False
        words = [t.lower_ for t in candidate.span if t.is_alpha and not t.is_stop]
        words = [w for w in words if w not in _OUTCOME_VERB_WORDS]
        return bool(words) and all(w in self.generic_effects for w in words)

    def initialize(self, get_examples=None, *, nlp=None, weights_path=None) -> None:
        """Load the weights written by models/scripts/train_claims.py."""
        if weights_path is None:
            raise ValueError("claims_edges needs weights_path: run models/scripts/train_claims.py")
        self.model = EdgeModel.read(Path(weights_path))

    def to_disk(self, path, *, exclude=()) -> None:
        path = Path(path)
        path.mkdir(parents=True, exist_ok=True)
        if self.model is not None:
            self.model.write(path / WEIGHTS_FILE)

    def from_disk(self, path, *, exclude=()) -> EdgeClassifier:
        weights = Path(path) / WEIGHTS_FILE
        if weights.exists():
            self.model = EdgeModel.read(weights)
        return self
