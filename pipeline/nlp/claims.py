"""Substance -> target / effect claims from the dependency parse, each with its evidence.

For every sentence the extractor takes the substance mentions (SUBSTANCE entities, and
references such as "its alkaloids" or "the drug" resolved to the latest substance of the
paragraph), the candidate targets (TARGET entities, receptor/neurotransmitter/system phrases)
and effects (EFFECT entities, effect phrases, conditions that something treats or causes), and
links a substance to a candidate when the dependency path between them has the shape of a
claim. The shape names the rule, so every claim says how it was found:

- `svo`: the substance is the subject ("MDMA stimulates the release of serotonin");
- `passive`: the substance is the agent or passive subject ("... is released by MDMA");
- `nominal`: a nominalisation ("kratom's impact on monoamine neurotransmitters");
- `object`: the substance is the object of the predicate ("flagged kratom for abuse");
- `by_means`: a "by <gerund>" mechanism ("By increasing serotonin levels, MDMA may help...");
- `treatment_for`: "X as a treatment for depression", "MDMA for depression";
- suffixes: `+coord` (reached through coordination or apposition), `+chain` (through a relative
  clause or "leading to" / "contributes to"), `+ref` (the substance is a resolved reference).

A substance with both targets and effects in a sentence gives one claim per (target, effect)
pair: the mechanism and its outcome stay together. A hedge or negation counts for a claim when
the cue's scope (pipeline.nlp.hedging) covers the claim's predicate, substance, target or effect.
Evidence and attribution are set afterwards by the `claims_evidence` component
(pipeline.nlp.evidence): from the sentence, else its paragraph.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from spacy.language import Language
from spacy.tokens import Doc, Span, Token

from pipeline.nlp.entities import normalise_name
from pipeline.nlp.hedging import is_affixal


def _words(text: str) -> frozenset[str]:
    """A word list written as whitespace-separated words."""
    return frozenset(text.split())


if not Doc.has_extension("claims"):
    Doc.set_extension("claims", default=[])

# Heads of noun phrases that name what a substance acts on.
TARGET_HEADS = _words(
    """
    receptor transporter neurotransmitter neurochemical hormone enzyme pathway circuit
    system brain neuron synapse cortex microbiome bacteria connection cell
    """
)
# Heads of noun phrases that name an outcome in the person.
EFFECT_HEADS = _words(
    """
    effect symptom mood well-being wellbeing benefit outcome risk relief reduction
    improvement pain anxiety fear empathy openness trust addiction abuse dependence death
    seizure insight resilience healing property consequence harm danger outlook
    self-compassion communication euphoria sleep weight cramp inflammation toxicity overdose
    withdrawal remission response defensiveness sadness suicide injury damage complication
    problem reaction neurotoxicity stiffness infection emotion barrier trouble clot decrease
    increase loss gain memory cognition tolerance consequence feeling sense
    """
)
# Effect heads that say nothing on their own ("the effects of MDMA", "potential benefits"):
# they count only with a modifier that names the outcome.
WEAK_HEADS = _words(
    """
    effect benefit outcome response risk reduction improvement property problem consequence
    decrease increase reaction experience loss gain feeling sense
    """
)
UNINFORMATIVE_MODIFIERS = _words(
    """
    potential possible any these those this unique its their such other additional further
    long-term known unknown many some
    """
)
# Verbs whose object is an outcome in the person ("gain new insights", "process emotions").
OUTCOME_VERBS = _words(
    """
    improve enhance promote reduce decrease alleviate relieve ease lower boost gain process
    confront resolve overcome heal develop restore prevent cause trigger induce control
    sharpen worsen aggravate exacerbate impair provoke
    """
)
# Objects that are never outcomes themselves.
NOT_OUTCOMES = _words(
    """
    feeling sense mechanism approach attention role decision hope level avenue condition
    option process treatment therapy way
    """
)
# Verbs of inquiry, advice and design: a clause under them studies a claim, it does not make one.
INQUIRY_VERBS = _words(
    """
    understand elucidate assess evaluate investigate examine determine discuss weigh
    consider consult monitor record navigate approach explore measure compare test warrant
    delve screen identify
    """
)
# Who a claim is about (patients, mice): a population, never an outcome.
POPULATION_NOUNS = _words(
    """
    patient people individual participant adult child adolescent woman man user those
    sufferer person teen veteran subject mouse rat
    """
)
# Verbs whose object is an effect: a condition after them is an outcome, not a population.
EFFECT_VERBS = _words(
    """
    treat alleviate relieve reduce ease prevent improve fight manage cure lower cut combat
    cause trigger worsen increase decrease help address lessen soothe protect slow delay
    boost promote enhance induce produce lead provide offer create facilitate
    """
)
TREATMENT_NOUNS = _words(
    """
    treatment therapy option approach intervention medication remedy drug management adjunct
    addition candidate alternative medicine cure aid use role potential promise
    """
)
MECHANISM_NOUNS = _words(
    """
    release reuptake level activity production uptake signaling signalling binding
    transmission function absorption expression concentration regeneration growth secretion
    availability regulation impact influence interaction action activation inhibition
    modulation stimulation blockade
    """
)
# Verbs too general to name a mechanism ("MDMA may help ...", "works by increasing ...").
LIGHT_VERBS = _words(
    """
    help work have be show appear seem allow make get
    """
)
# Verbs that report or hedge a claim rather than describe how the substance acts.
NOT_MECHANISM_VERBS = LIGHT_VERBS | {
    "think",
    "believe",
    "suggest",
    "indicate",
    "report",
    "find",
    "say",
    "know",
    "observe",
}
# Nouns that carry a claim about their substance ("kratom's impact on", "its ability to").
NOMINAL_PREDICATES = _words(
    """
    impact effect influence ability role action benefit potential capacity property
    interaction activation administration treatment therapy infusion application outcome
    experience response dose
    """
)
CHAIN_VERBS = {"lead", "contribute", "result", "cause", "translate"}
HARM_WORDS = _words(
    """
    addiction abuse dependence side adverse risk death danger harm toxicity overdose
    withdrawal damage complication problem seizure injury reaction neurotoxicity negative
    serious trouble clot suicide
    """
)
BENEFIT_WORDS = _words(
    """
    antidepressant therapeutic benefit relief improved improvement well-being wellbeing
    empathy openness trust resilience healing insight positive safe efficacy effective
    remission response analgesic anxiolytic self-compassion connection recovery improve
    enhance promote boost alleviate relieve ease
    """
)
DECREASE_VERBS = _words(
    """
    reduce alleviate relieve decrease lower prevent ease cut fight combat treat manage cure
    lessen soothe protect slow delay address block inhibit counteract
    """
)
REFERENCE_HEADS = _words(
    """
    drug substance compound alkaloid medication plant supplement herb chemical botanical
    agent medicine vitamin treatment dose derivative
    """
)
# "This interaction may contribute to...": a claim of the previous sentence, referred back to.
EVENT_REFERENCE_HEADS = {"interaction", "combination", "change", "mechanism", "integration"}
REFERENCE_DETERMINERS = _words(
    """
    this these the its such their that
    """
)
SUBJECT_PRONOUNS = {"it"}
POSSESSIVE_PRONOUNS = {"its"}
RELATIVE_PRONOUNS = {"which", "that", "who", "whom", "whose"}
_CLIMB_DEPS = _words(
    """
    compound amod nmod npadvmod nummod hmod appos conj dep
    """
)
MAX_PATH = 9
# _claim_shape's answer for a path that exists but says the sentence makes no such claim.
VETO = ("veto", [])


@dataclass
class Mention:
    """A substance as written, and what it names."""

    span: Span
    norm: str
    antecedent: Span | None = None

    @property
    def anchor(self) -> Token:
        return _anchor(self.span)


@dataclass
class Slot:
    """A candidate target or effect."""

    span: Span
    role: str  # "target" or "effect"
    norm: str
    polarity: str | None = None
    condition: Span | None = None


@dataclass
class Claim:
    """One (substance, target, effect) claim with its evidence."""

    sentence: Span
    substance: Mention
    target: Slot | None
    effect: Slot | None
    mechanism: str | None
    rule: str
    hedge_cues: list[Span] = field(default_factory=list)
    negation_cues: list[Span] = field(default_factory=list)
    # Set by the `claims_evidence` component: the study designs cited (`pipeline.nlp.evidence.
    # STUDY_DESIGNS`, strongest first), whether the evidence is called preliminary, who says
    # it and what kind of source that is (expert, researcher, lay, regulator, person).
    study_design: list[str] = field(default_factory=list)
    preliminary: bool = False
    attribution: Span | None = None
    attribution_class: str | None = None
    # Set by the `claims_strength` component (`pipeline.nlp.strength`): Yu et al.'s strength
    # of the claim's language, and whether a direct causal claim rests on observational
    # evidence only.
    strength: str | None = None
    causal_from_observational: bool = False
    # The learned extractor's probability that this is a claim (None for the rules' claims).
    confidence: float | None = None
    # The learned extractor's certainty decisions; None: from the cues (the rules' way).
    is_hedged: bool | None = None
    is_negated: bool | None = None

    @property
    def hedged(self) -> bool:
        return bool(self.hedge_cues) if self.is_hedged is None else self.is_hedged

    @property
    def negated(self) -> bool:
        return bool(self.negation_cues) if self.is_negated is None else self.is_negated

    @property
    def certainty(self) -> str:
        """hedged, negated or asserted; a hedged negation is not asserted either way."""
        return "hedged" if self.hedged else "negated" if self.negated else "asserted"

    @property
    def condition(self) -> Span | None:
        return self.effect.condition if self.effect is not None else None


# Where an extractor reads its inputs and which sentences it reads claims from; shared by
# `claims_extractor` and the learned `claims_edges` (pipeline.nlp.edges).
EXTRACTOR_CONFIG = {
    "entities_key": "entities",
    "hedges_key": "hedge_cues",
    "negations_key": "negation_cues",
    "claim_kinds": ["prose", "list_item", "template"],
}


@Language.factory("claims_extractor", default_config=EXTRACTOR_CONFIG)
def make_extractor(
    nlp: Language,
    name: str,
    entities_key: str,
    hedges_key: str,
    negations_key: str,
    claim_kinds: list[str],
) -> ClaimExtractor:
    return ClaimExtractor(
        name,
        entities_key=entities_key,
        hedges_key=hedges_key,
        negations_key=negations_key,
        claim_kinds=claim_kinds,
    )


class ClaimExtractor:
    """Pipeline component: `doc._.claims`, a list of `Claim` in sentence order.

    Claims are read from the sentences whose `Span._.kind` (set by `claims_layout`) is one
    of `claim_kinds`: never from headings, references, category lists or tables.
    """

    def __init__(
        self,
        name: str,
        *,
        entities_key: str = "entities",
        hedges_key: str = "hedge_cues",
        negations_key: str = "negation_cues",
        claim_kinds: list[str] | tuple[str, ...] = ("prose", "list_item", "template"),
    ) -> None:
        self.name = name
        self.entities_key = entities_key
        self.hedges_key = hedges_key
        self.negations_key = negations_key
        self.claim_kinds = frozenset(claim_kinds)

    def __call__(self, doc: Doc) -> Doc:
        entities = list(doc.spans[self.entities_key]) if self.entities_key in doc.spans else []
        hedges = list(doc.spans.get(self.hedges_key, ()))
        negations = list(doc.spans.get(self.negations_key, ()))
        claims: list[Claim] = []
        recent: list[Mention] = []  # substances seen so far in the current paragraph
        paragraph = None
        for sentence in doc.sents:
            if sentence._.paragraph != paragraph:
                paragraph, recent = sentence._.paragraph, []
            in_sentence = [e for e in entities if sentence.start <= e.start < sentence.end]
            mentions = _mentions(sentence, in_sentence, recent)
            if sentence._.kind in self.claim_kinds:
                slots = _slots(sentence, in_sentence, mentions)
                claims.extend(_link(sentence, mentions, slots, hedges, negations))
            recent.extend(m for m in mentions if m.antecedent is None)
        doc._.claims = claims
        return doc


# -- substance mentions ------------------------------------------------------------------


def _mentions(
    sentence: Span,
    entities: list[Span],
    recent: list[Mention],
    subject: Mention | None = None,
) -> list[Mention]:
    """The sentence's substance mentions: named ones, and references resolved to a mention
    earlier in the paragraph (`recent`) or, failing a subject-position one, to the article's
    `subject` when given (see `_salient`)."""
    mentions = [
        Mention(span, span._.norm or normalise_name(span.text))
        for span in entities
        if span.label_ == "SUBSTANCE"
        and span.root.lemma_.lower() not in REFERENCE_HEADS | EFFECT_HEADS
        and not _defined_abbreviation(span, entities)
    ]
    taken = {i for m in mentions for i in range(m.span.start, m.span.end)}
    for token in sentence:
        if token.i in taken:
            continue
        reference = _reference(token)
        if reference is None:
            continue
        inside = sorted(
            (m for m in mentions if m.span.root in reference.root.subtree),
            key=lambda m: m.span.root.head.lower_ in {"in", "from", "of"},
        )  # "the alkaloids present in kratom, such as mitragynine": the named ones first
        if inside and reference.root.lemma_.lower() in REFERENCE_HEADS:
            # "the alkaloids present in kratom": a phrase that names its own substance
            phrase = sentence.doc[reference.start : reference.root.i + 1]
            mentions.append(Mention(phrase, inside[0].norm, inside[0].span))
            taken.update(range(phrase.start, phrase.end))
            continue
        if reference.root.lower_ in SUBJECT_PRONOUNS | POSSESSIVE_PRONOUNS and _nearest_is_target(
            reference, entities
        ):
            continue  # "Serotonin ... its deficiency"
        before = sorted(
            (m for m in recent + mentions if m.span.end <= reference.start),
            key=lambda m: -m.span.end,
        )  # latest first
        nearest = _plural(reference) or reference.root.lemma_.lower() in EVENT_REFERENCE_HEADS
        antecedents = _appositive_substances(reference, mentions) or (
            before[:1] if nearest else _salient(before, subject)
        )
        if not antecedents:
            continue
        # "MDMA ... its ability": the substance is already in the sentence; keep the reference
        # only when it is what the predicate is about.
        same_sentence = antecedents[0].span.sent == sentence
        if same_sentence and reference.root.dep_ not in {"nsubj", "nsubjpass"}:
            continue
        for antecedent in antecedents:
            if antecedent.span.start >= reference.start and antecedent.span.end <= reference.end:
                continue
            mentions.append(
                Mention(reference, antecedent.norm, antecedent.antecedent or antecedent.span)
            )
        taken.update(range(reference.start, reference.end))
    return mentions


SUBJECT_DEPS = {"nsubj", "nsubjpass"}


def _plural(reference: Span) -> bool:
    """ "these compounds", "they", "their effects": a plural names the substances just listed
    ("mitragynine and 7-hydroxymitragynine. These compounds ..."), not the paragraph's topic."""
    root = reference.root
    first = reference[0].lower_
    return root.tag_ in {"NNS", "NNPS"} or first in {"they", "them", "their", "these", "those"}


def _salient(before: list[Mention], subject: Mention | None) -> list[Mention]:
    """What a reference most likely names, of the mentions before it (latest first): the
    latest in subject position (centering: "GHB is related to glycine. It acts on ..." is
    about GHB), else the article's subject when known, else the latest mention."""
    in_subject = [m for m in before if m.span.root.dep_ in SUBJECT_DEPS]
    if in_subject:
        return in_subject[:1]
    if subject is not None:
        return [subject]
    return before[:1]


def _nearest_is_target(reference: Span, entities: list[Span]) -> bool:
    before = [e for e in entities if e.end <= reference.start and e.label_ in LINKABLE]
    return bool(before) and before[-1].label_ == "TARGET"


LINKABLE = {"SUBSTANCE", "TARGET"}


def _defined_abbreviation(span: Span, entities: list[Span]) -> bool:
    """'(MDD)' right after 'major depressive disorder': the same mention twice."""
    doc = span.doc
    if span.start < 2 or doc[span.start - 1].text != "(":
        return False
    before = doc[span.start - 2]
    return any(e.end == before.i + 1 and e.label_ == span.label_ for e in entities)


def _reference(token: Token) -> Span | None:
    """'its alkaloids', 'these compounds', 'the drug', 'it' (a subject): a reference."""
    lower = token.lower_
    if lower in SUBJECT_PRONOUNS and token.dep_ in {"nsubj", "nsubjpass"}:
        if token.head.lemma_ == "be" or any(c.dep_ == "expl" for c in token.head.children):
            return None
        return token.doc[token.i : token.i + 1]
    if token.pos_ in {"NOUN", "PROPN"} and token.lemma_.lower() in REFERENCE_HEADS:
        determiners = [c for c in token.lefts if c.lower_ in REFERENCE_DETERMINERS]
        if determiners:
            return token.doc[determiners[0].i : token.i + 1]
        if any(c.dep_ in {"acl", "prep", "amod"} for c in token.rights):
            return token.doc[token.left_edge.i : token.i + 1]
    if token.pos_ == "NOUN" and token.lemma_.lower() in EVENT_REFERENCE_HEADS:
        determiners = [c for c in token.lefts if c.lower_ in {"this", "these", "such"}]
        if determiners:
            return token.doc[determiners[0].i : token.i + 1]
    if lower in POSSESSIVE_PRONOUNS and token.dep_ == "poss":
        head = token.head
        if head.lemma_.lower() in REFERENCE_HEADS:
            return token.doc[token.i : head.i + 1]
        return token.doc[token.i : token.i + 1]
    return None


def _appositive_substances(reference: Span, mentions: list[Mention]) -> list[Mention]:
    """'Its alkaloids, mitragynine and 7-hydroxymitragynine': the names given in apposition."""
    head = reference.root
    found = []
    for mention in mentions:
        anchor = mention.span.root
        while anchor.dep_ in {"conj", "appos"} and anchor.head != anchor:
            if anchor.head == head:
                found.append(mention)
                break
            anchor = anchor.head
    return found


def _anchor(span: Span) -> Token:
    """Where a mention attaches to its clause ("MDMA-assisted therapy" -> therapy)."""
    token = span.root
    for _ in range(4):
        if token.dep_ in _CLIMB_DEPS - {"conj", "appos"} and token.head.pos_ in {"NOUN", "PROPN"}:
            token = token.head
        elif token.dep_ in {"npadvmod", "compound", "advmod", "nsubj"} and token.head.lower_ in {
            "assisted",
            "based",
            "derived",
            "induced",
        }:
            token = token.head.head if token.head.head != token.head else token.head
        else:
            break
    return token


# -- candidate targets and effects ---------------------------------------------------------


def _slots(sentence: Span, entities: list[Span], mentions: list[Mention]) -> list[Slot]:
    substance_tokens = {i for m in mentions for i in range(m.span.start, m.span.end)}
    slots: list[Slot] = []
    in_entity: dict[int, Span] = {i: e for e in entities for i in range(e.start, e.end)}
    for entity in entities:
        if _defined_abbreviation(entity, entities) or _population(entity.root):
            continue
        if entity.label_ == "TARGET":
            slots.append(Slot(entity, "target", entity._.norm or normalise_name(entity.text)))
        elif entity.label_ in {"EFFECT", "CONDITION"}:
            slot = _effect_slot(entity, entity.label_)
            if slot is not None:
                slots.append(slot)
    for token in sentence:
        if token.i in in_entity or token.i in substance_tokens or token.pos_ not in {"NOUN"}:
            continue
        if _population(token):
            continue
        lemma = token.lemma_.lower()
        if lemma in TARGET_HEADS:
            span = _phrase(token)
            slots.append(Slot(span, "target", normalise_name(span.text)))
        elif lemma in EFFECT_HEADS:
            slots.extend(_effect_phrases(token))
        elif token.dep_ in {"dobj", "pobj"} and _outcome_object(token):
            span = _phrase(token, with_of=True)
            slots.append(Slot(span, "effect", normalise_name(span.text), _polarity(span)))
    slots = [slot for slot in slots if not _location_of_target(slot, slots)]
    for slot in slots:
        _with_outcome_verb(slot)
    # A slot inside another slot's phrase is part of it ("symptoms of depression").
    slots.sort(key=lambda s: -(s.span.end - s.span.start))
    kept: list[Slot] = []
    for slot in slots:
        outer = next(
            (k for k in kept if k.span.start <= slot.span.start and slot.span.end <= k.span.end),
            None,
        )
        if outer is not None:
            if slot.span.label_ == "CONDITION" and outer.condition is None:
                outer.condition = slot.span
            continue
        if slot.span.root.i in substance_tokens:
            continue
        kept.append(slot)
    return sorted(kept, key=lambda s: s.span.start)


def _with_outcome_verb(slot: Slot) -> None:
    """'improve mood', 'alleviate some symptoms of depression': the verb is part of the outcome."""
    root = slot.span.root
    verb = root.head
    doc = slot.span.doc
    if slot.role != "effect":
        return
    before = doc[slot.span.start - 1] if slot.span.start > 0 else None
    if (
        before is not None
        and before.tag_.startswith("VB")
        and before.lemma_.lower() in OUTCOME_VERBS | {"increase"}
    ):
        # "improve mood" parsed as a compound, "improved mood": the verb still belongs
        slot.span = doc[before.i : slot.span.end]
        slot.polarity = _polarity(slot.span)
        return
    if root.dep_ != "dobj" or verb.i >= slot.span.start:
        return
    if verb.lemma_.lower() in OUTCOME_VERBS | {"increase"} and verb.pos_ == "VERB":
        slot.span = slot.span.doc[verb.i : slot.span.end]
        slot.polarity = _polarity(slot.span)


def _population(token: Token) -> bool:
    """'patients with chronic pain', 'depression sufferers': who was studied, not an outcome."""
    head = token.head
    with_population = head.lower_ == "with" and head.head.lemma_.lower() in POPULATION_NOUNS
    if token.dep_ == "pobj" and with_population:
        person = head.head
        # "help patients with treatment-resistant depression": the condition is what is helped
        return not (person.dep_ == "dobj" and person.head.lemma_.lower() in EFFECT_VERBS)
    return token.dep_ in {"compound", "amod", "nmod"} and head.lemma_.lower() in POPULATION_NOUNS


def _outcome_object(token: Token) -> bool:
    """The object of an outcome verb ("gain new insights"), or of "in" after it."""
    lemma = token.lemma_.lower()
    if lemma in NOT_OUTCOMES or lemma in POPULATION_NOUNS or lemma in REFERENCE_HEADS:
        return False
    verb = token.head
    if token.dep_ == "pobj" and verb.lower_ in {"in", "on"}:
        verb = verb.head
    return verb.pos_ == "VERB" and verb.lemma_.lower() in OUTCOME_VERBS


def _location_of_target(slot: Slot, slots: list[Slot]) -> bool:
    """'opioid receptors in the brain', "the brain's neurotransmitters": where, not what."""
    if slot.role != "target":
        return False
    root = slot.span.root
    if root.dep_ == "pobj" and root.head.lower_ in {"in", "within", "into"}:
        return True
    anchor = None
    if root.dep_ == "poss":
        anchor = root.head
    elif root.dep_ == "pobj" and root.head.lower_ in {"in", "within", "from", "of"}:
        anchor = root.head.head
    if anchor is None:
        return False
    return any(
        other is not slot and other.role == "target" and anchor in other.span for other in slots
    )


def _effect_slot(entity: Span, label: str) -> Slot | None:
    if label == "CONDITION" and not _is_outcome(entity.root):
        return None
    slot = Slot(entity, "effect", entity._.norm or normalise_name(entity.text))
    slot.polarity = _polarity(entity)
    if label == "CONDITION":
        slot.condition = entity
    return slot


def _is_outcome(token: Token) -> bool:
    """A condition is an outcome when something treats, causes or relieves it."""
    for ancestor in _up_to_clause(token):
        lemma = ancestor.lemma_.lower()
        if ancestor.pos_ == "VERB" and lemma in EFFECT_VERBS:
            return True
        if ancestor.pos_ == "NOUN" and lemma in TREATMENT_NOUNS | {"symptom", "risk"}:
            return True
        if ancestor.dep_ == "prep" and ancestor.lower_ in {"for", "against"}:
            return True
    return False


def _up_to_clause(token: Token, steps: int = 3) -> Iterable[Token]:
    node = token
    for _ in range(steps):
        if node.head == node:
            return
        node = node.head
        yield node
        if node.pos_ in {"VERB", "AUX"}:
            return


def _phrase(head: Token, with_of: bool = False) -> Span:
    """The head with its contiguous modifiers (no determiners), plus an 'of' phrase if asked."""
    start = head.i
    for child in reversed(list(head.lefts)):
        if child.i == start - 1 and child.dep_ in {"compound", "amod", "nmod", "hmod", "punct"}:
            if child.dep_ == "punct" and child.text != "-":
                break
            start = child.i
        else:
            break
    end = head.i + 1
    if with_of:
        preps = {"of"} if head.lemma_.lower() == "symptom" else {"of", "in", "from"}
        for child in head.rights:
            if child.dep_ == "prep" and child.lower_ in preps and child.i == end:
                end = child.right_edge.i + 1
    return head.doc[start:end]


def _effect_phrases(token: Token) -> list[Slot]:
    """'analgesic, euphoric, and anxiolytic effects' gives three effects; else one phrase."""
    amods = [c for c in token.lefts if c.dep_ == "amod"]
    coordinated = [c for a in amods for c in a.conjuncts if c.dep_ in {"conj", "amod"}]
    doc = token.doc
    if amods and coordinated and token.lemma_.lower() in {"effect", "property", "benefit"}:
        items = sorted({a.i: a for a in amods + coordinated}.values(), key=lambda t: t.i)
        slots = []
        for item in items:
            span = doc[item.i : item.i + 1]
            slots.append(Slot(span, "effect", item.lemma_.lower(), _polarity(span)))
        return slots
    lemma = token.lemma_.lower()
    span = _phrase(
        token,
        with_of=lemma
        in {
            "symptom",
            "risk",
            "reduction",
            "decrease",
            "loss",
            "relief",
            "improvement",
            "increase",
            "feeling",
            "sense",
        },
    )
    if lemma in WEAK_HEADS:
        informative = [
            t
            for t in span
            if t != token and t.lower_ not in UNINFORMATIVE_MODIFIERS and not t.is_punct
        ]
        if not informative:
            return []
    return [Slot(span, "effect", normalise_name(span.text), _polarity(span))]


def _polarity(span: Span) -> str:
    verb = next((t for t in span if t.tag_.startswith("VB")), None)
    if verb is not None and verb.lemma_.lower() in OUTCOME_VERBS | {"increase"}:
        # the outcome names its own direction: "alleviate symptoms", "improve mood"
        rest = {t.lemma_.lower() for t in span if t != verb}
        if verb.lemma_.lower() in DECREASE_VERBS:
            return "harm" if rest & BENEFIT_WORDS else "benefit"
        return "harm" if rest & HARM_WORDS else "benefit"
    words = {t.lower_ for t in span} | {t.lemma_.lower() for t in span}
    harm = bool(words & HARM_WORDS) or span.label_ == "CONDITION"
    benefit = bool(words & BENEFIT_WORDS)
    governor = next(
        (a for a in _up_to_clause(span.root) if a.pos_ == "VERB"),
        None,
    )
    if governor is not None and governor.lemma_.lower() in DECREASE_VERBS:
        return "benefit" if harm or not benefit else "harm"
    if span.label_ == "CONDITION" or _governed_by_treatment(span.root):
        return "benefit" if not harm or span.label_ == "CONDITION" else "harm"
    if harm and not benefit:
        return "harm"
    if benefit:
        return "benefit"
    return "neutral"


def _governed_by_treatment(token: Token) -> bool:
    return any(a.lemma_.lower() in TREATMENT_NOUNS for a in _up_to_clause(token))


# -- linking ---------------------------------------------------------------------------------


def _link(
    sentence: Span,
    mentions: list[Mention],
    slots: list[Slot],
    hedges: list[Span],
    negations: list[Span],
) -> list[Claim]:
    found: dict[int, list[tuple[Slot, str, list[Token]]]] = {}
    for slot in slots:
        best: list[tuple[int, int, str, list[Token]]] = []
        vetoed = False
        for index, mention in enumerate(mentions):
            if mention.span.start <= slot.span.start < mention.span.end:
                continue
            shape = _claim_shape(mention, slot)
            if shape is None:
                continue
            if shape is VETO:
                vetoed = True
                continue
            rule, path = shape
            best.append((len(path), index, rule, path))
        if not best:
            fallback = None if vetoed else _sentence_fallback(sentence, mentions, slot)
            if fallback is not None:
                index, path = fallback
                found.setdefault(index, []).append((slot, "sentence", path))
            continue
        shortest = min(length for length, *_ in best)
        for length, index, rule, path in best:
            if length <= shortest + 1:
                found.setdefault(index, []).append((slot, rule, path))
    claims = []
    sentence_hedges = [h for h in hedges if sentence.start <= h.start < sentence.end]
    sentence_negations = [n for n in negations if sentence.start <= n.start < sentence.end]
    for index, links in sorted(found.items()):
        mention = mentions[index]
        targets = [link for link in links if link[0].role == "target"]
        effects = [link for link in links if link[0].role == "effect"]
        pairs: list[tuple] = (
            [(t, e) for t in targets for e in effects]
            if targets and effects
            else [(t, None) for t in targets] + [(None, e) for e in effects]
        )
        for target, effect in pairs:
            paths = [link[2] for link in (target, effect) if link is not None]
            rule = (target or effect)[1]
            if target is not None and effect is not None and "by_means" in (target[1], effect[1]):
                rule = "by_means"
            elif effect is not None and target is not None:
                rule = effect[1]
            if mention.antecedent is not None and "+ref" not in rule:
                rule += "+ref"
            # what a cue's scope must cover: the predicates, the substance, target and effect
            covered = {path[0].i for path in paths if path} | {
                t.i for link in (target, effect) if link is not None for t in link[0].span
            }
            covered |= {t.i for t in mention.span}
            values = {link[0].span.root.i for link in (target, effect) if link is not None}
            claims.append(
                Claim(
                    sentence=sentence,
                    substance=mention,
                    target=target[0] if target else None,
                    effect=effect[0] if effect else None,
                    mechanism=_mechanism(target[2]) if target else _mechanism(effect[2]),
                    rule=rule,
                    hedge_cues=_covering(sentence_hedges, covered),
                    negation_cues=governing_negations(sentence_negations, covered, values),
                )
            )
    return claims


def _claim_shape(mention: Mention, slot: Slot) -> tuple[str, list[Token]] | None:
    """(rule, path tokens from the predicate down to the slot), or None when not a claim."""
    anchor = mention.anchor
    head = slot.span.root
    up = [anchor]
    while up[-1].head != up[-1] and len(up) <= MAX_PATH:
        up.append(up[-1].head)
    down = [head]
    while down[-1] not in up and down[-1].head != down[-1] and len(down) <= MAX_PATH:
        down.append(down[-1].head)
    lca = down[-1]
    if lca not in up:
        return None
    up = up[: up.index(lca) + 1]
    if len(up) + len(down) - 1 > MAX_PATH:
        return None
    # The mention's own phrase: "MDMA for depression", "MDMA as a treatment for depression".
    if lca == anchor or lca in _phrase(anchor):
        treatment = any(t.lemma_.lower() in TREATMENT_NOUNS - {"use"} for t in down[1:])
        if slot.role == "effect" and treatment and _treatment_for(down):
            return "treatment_for", down
        return None
    rule = _subject_rule(up)
    if rule is None:
        if slot.role == "effect" and _treatment_for(down) and len(up) <= 4:
            return "treatment_for", down
        return None
    if _blocked(down) or _inquiry(up + down):
        return VETO
    if any(t.dep_ == "attr" for t in down[:-1]) and any(t.dep_ == "relcl" for t in down):
        return VETO  # "dopamine, which are neurotransmitters involved in ...": a description
    dependencies = {t.dep_ for t in down[:-1]}
    if any(t.lower_ == "by" and t.dep_ == "prep" for t in down) and any(
        t.dep_ == "pcomp" and t.tag_ == "VBG" for t in down
    ):
        rule = "by_means"
    if dependencies & {"conj", "appos"} or "such" in {t.lower_ for t in down}:
        rule += "+coord"
    if dependencies & {"relcl", "advcl"} or any(
        t.lemma_.lower() in CHAIN_VERBS and (t != lca or rule == "nominal") for t in down
    ):
        rule += "+chain"
    return rule, down


def _sentence_fallback(
    sentence: Span, mentions: list[Mention], slot: Slot
) -> tuple[int, list[Token]] | None:
    """When the parse gives no path: a sentence about one substance, making no inquiry or
    advice, links that substance to a candidate after it (rule `sentence`)."""
    norms = {m.norm for m in mentions}
    if len(norms) != 1:
        return None
    before = [i for i, m in enumerate(mentions) if m.span.end <= slot.span.start]
    if not before:
        return None
    if _inquiry(list(sentence)):
        return None
    index = before[-1]
    return index, [slot.span.root, sentence.root]


def _subject_rule(up: list[Token]) -> str | None:
    """How the substance attaches to the predicate (the last token of `up`)."""
    predicate = up[-1]
    steps = [t.dep_ for t in up[:-1]]
    if not steps:
        return None
    first = steps[0]
    if predicate.pos_ in {"VERB", "AUX"}:
        if first in {"nsubj", "csubj"}:
            return "svo"
        if first == "nsubjpass":
            return "passive"
        if first == "pobj" and len(up) > 2 and up[1].lower_ == "by" and up[1].dep_ == "agent":
            return "passive"
        if first == "pobj" and len(up) > 2 and up[1].dep_ == "agent":
            return "passive"
        if first in {"poss", "pobj"} and len(steps) >= 2:
            # "kratom's impact on X contributes to ...": nominal subject of the verb
            noun_step = steps[1] if first == "poss" else (steps[2] if len(steps) > 2 else "")
            if noun_step in {"nsubj", "nsubjpass"}:
                return "nominal"
        if first == "dobj":
            return "object"
        if first == "pobj" and len(up) > 2 and up[1].lower_ in {"with", "of"}:
            return "object"
        return None
    if predicate.pos_ in {"NOUN", "PROPN"}:
        if predicate.lemma_.lower() not in NOMINAL_PREDICATES:
            return None
        if first == "poss" or (first == "pobj" and up[1].lower_ in {"of", "by"}):
            return "nominal"
        if first in {"compound", "amod", "nmod"}:
            return "nominal"
        via = up[1] if len(up) > 2 else None
        if (  # "positive outcomes using kratom"
            first in {"dobj", "pobj"}
            and via is not None
            and via.dep_ in {"acl", "prep"}
            and via.lower_ in {"using", "taking", "with", "from", "given", "after"}
        ):
            return "nominal"
    return None


def _blocked(down: list[Token]) -> bool:
    """The path enters another clause with a subject of its own: that clause's claim, not ours."""
    for token in down[1:-1]:
        for child in token.children:
            own_subject = child.dep_ in {"nsubj", "nsubjpass"} and child not in down
            if own_subject and child.lower_ not in RELATIVE_PRONOUNS:
                return True
    return False


def _inquiry(path: list[Token]) -> bool:
    """On the path or above it: a verb of inquiry or advice ("to assess the safety of X",
    "should consult"), so the sentence talks about a claim without making it."""
    tokens = set(path)
    for token in path:
        tokens.update(token.ancestors)
    for token in tokens:
        if token.pos_ == "VERB" and token.lemma_.lower() in INQUIRY_VERBS:
            return True
        if token.pos_ in {"VERB", "AUX"} and any(
            c.dep_ == "aux" and c.lower_ in {"should", "must"} for c in token.children
        ):
            return True
    return False


def _treatment_for(down: list[Token]) -> bool:
    """'treatment for X', 'X for depression', 'use in treating X'."""
    preps = [t for t in down if t.dep_ == "prep"]
    return any(p.lower_ in {"for", "against", "in"} for p in preps) and len(down) <= 6


def _mechanism(path: list[Token]) -> str | None:
    """The predicate and mechanism nouns on the way to the slot: 'stimulates release'."""
    if len(path) < 2:
        return None
    means = next((i for i, t in enumerate(path) if t.lower_ == "by" and t.dep_ == "prep"), None)
    if means is not None:
        path = path[:means]  # "by increasing serotonin levels": the mechanism is the gerund
    elif path[-1].lemma_.lower() in LIGHT_VERBS:
        path = path[:-1]
    words = [
        t
        for t in path[1:]
        if (t.pos_ in {"VERB"} and t.dep_ != "aux" and t.lemma_.lower() not in NOT_MECHANISM_VERBS)
        or (t.pos_ == "NOUN" and t.lemma_.lower() in MECHANISM_NOUNS)
        or (t.dep_ == "prt")
    ]
    for token in list(words):
        for child in token.children:
            if child.dep_ == "prt":
                words.append(child)
    if not words:
        return None
    return " ".join(t.text for t in sorted(set(words), key=lambda t: t.i))


def governing_negations(cues: list[Span], covered: set[int], value_heads: set[int]) -> list[Span]:
    """The negation cues that negate a claim: those whose scope covers it, but a negating
    affix only on the head word of its target or effect ("painless" negates pain;
    "unexpectedly strong synergy" and "unpredictable synergy" negate nothing)."""
    return [
        cue
        for cue in _covering(cues, covered)
        if (not is_affixal(cue) or any(i in value_heads for i in range(cue.start, cue.end)))
        and not (len(cue) == 1 and cue[0].lemma_.lower() in DIRECTION_VERBS)
    ]


# Verbs some negation corpora mark as cues that, in a claim, give its direction, not its
# negation: "zinc prevents colds" is a benefit claim, asserted.
DIRECTION_VERBS = frozenset(["prevent", "avert", "avoid", "stop", "block", "inhibit"])


def _covering(cues: list[Span], covered: set[int]) -> list[Span]:
    """Cues whose scope takes in one of the claim's tokens (a cue is its own scope at least)."""
    found = []
    for cue in cues:
        start, end = cue._.scope_bounds or (cue.start, cue.end)
        if any(start <= i < end for i in covered):
            found.append(cue)
    return found
