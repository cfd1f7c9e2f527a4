"""Evidence kinds and attribution of sentences, with the real pipeline (the shared `nlp`)."""

from __future__ import annotations

from pathlib import Path

import pytest
from spacy.tokens import Doc, Span

from pipeline.nlp.evidence import EVIDENCE_KINDS, EvidenceFinder

# The two sample articles (also the seed articles); not imported from conftest, so that
# `pytest tests/test_evidence.py` runs without the project root on sys.path.
SAMPLE_CORPUS = Path(__file__).resolve().parent.parent / "corpus"
ARTICLES = ("kratom_major_depressive_disorder.txt", "mdma_depression.txt")


FINDER: list[EvidenceFinder] = []  # the shared pipeline's, set once by `_finder`


@pytest.fixture(scope="module", autouse=True)
def _finder(nlp):
    FINDER[:] = [nlp.get_pipe("claims_evidence").finder]


def evidence_in(span: Span) -> list[str]:
    return FINDER[0].evidence_in(span)


def attribution_in(span: Span) -> Span | None:
    return FINDER[0].attribution_in(span)


def for_sentence(span: Span) -> tuple[list[str], Span | None]:
    return FINDER[0].for_sentence(span)


def is_call_for_research(span: Span) -> bool:
    return FINDER[0].is_call_for_research(span)


def sentence(nlp, text: str) -> Span:
    doc = nlp(text)
    sentences = list(doc.sents)
    assert len(sentences) == 1, sentences
    return sentences[0]


def attribution_text(span: Span) -> str | None:
    found = attribution_in(span)
    return None if found is None else found.text


@pytest.fixture(scope="module")
def articles(nlp) -> list[Doc]:
    return [nlp((SAMPLE_CORPUS / name).read_text(encoding="utf-8")) for name in ARTICLES]


def article_sentence(articles: list[Doc], start: str) -> Span:
    found = [s for doc in articles for s in doc.sents if s.text.strip().startswith(start)]
    assert len(found) == 1, f"{len(found)} sentences start with {start!r}"
    return found[0]


def test_vocabulary_is_fixed_and_ordered():
    assert EVIDENCE_KINDS == (
        "review / meta-analysis",
        "clinical trial",
        "observational study",
        "case report",
        "animal study",
        "in vitro study",
        "preliminary research",
        "research",
        "expert opinion",
        "regulatory warning",
        "anecdotal",
    )


@pytest.mark.parametrize(
    ("text", "kinds"),
    [
        (
            "Preliminary studies and anecdotal evidence suggest that kratom may offer therapeutic "
            "effects for individuals with major depressive disorder (MDD).",
            ["preliminary research", "anecdotal"],
        ),
        (
            "While some individuals report positive outcomes using kratom alongside conventional "
            "treatments like SSRIs and CBT, clinical trials are essential to establish "
            "evidence-based guidelines on its efficacy and safety.",
            ["anecdotal"],
        ),
        ("MDMA stimulates the release of serotonin.", []),
        (
            "In recent clinical trials, researchers have found that MDMA, when administered in "
            "controlled settings and under medical supervision, can be relatively safe for "
            "individuals with depression.",
            ["clinical trial"],
        ),
        (
            "It is important to note that further research is needed to fully understand its "
            "mechanisms of action and long-term effects.",
            [],
        ),
        ("In mice, psilocybin reduced anxiety-like behaviour.", ["animal study"]),
        (
            "A 2019 meta-analysis of 12 randomized controlled trials found that psilocybin "
            "reduced depression.",
            ["review / meta-analysis", "clinical trial"],
        ),
        ("In vitro studies on cultured cells showed receptor binding.", ["in vitro study"]),
        ("Cohort studies link kratom use to liver injury.", ["observational study"]),
        ("A case report described liver injury after kratom use.", ["case report"]),
        ("Experts say kratom is dangerous.", ["expert opinion"]),
        ("Doctors recommend avoiding kratom during pregnancy.", ["expert opinion"]),
        ("Kratom was banned by the DEA in 2016.", ["regulatory warning"]),
        ("Many users claim that kratom relieves pain.", ["anecdotal"]),
        ("Research suggests that kratom relieves pain.", ["research"]),
        ("According to a 2020 study, kratom may reduce opioid withdrawal.", ["research"]),
        ("Studies in rats show that MDMA damages serotonin neurons.", ["animal study"]),
        ("Epidemiological data link kratom to liver injury.", ["observational study"]),
        ("Anecdotal reports suggest that kratom eases anxiety.", ["anecdotal"]),
        ("A systematic review of 20 studies found mixed results.", ["review / meta-analysis"]),
        ("Results from a phase 2 trial suggest that psilocybin works.", ["clinical trial"]),
        ("Health Canada has warned consumers not to use kratom.", ["regulatory warning"]),
        ("The authors concluded that psilocybin was safe.", ["research"]),
        ("Kratom users often describe a stimulating effect at low doses.", ["anecdotal"]),
        ("Scientists warn that kratom is addictive.", ["expert opinion"]),
        (
            "A randomized, double-blind, placebo-controlled trial showed that psilocybin reduced "
            "depression.",
            ["clinical trial"],
        ),
        # an approval is no warning
        ("The FDA has approved MDMA-assisted therapy for PTSD.", []),
        # calls for research, not research
        ("Larger trials of kratom in people with depression are needed.", []),
        ("There is a need for more randomized controlled trials.", []),
        ("Phase 3 trials of MDMA are underway.", []),
        ("Clinical trials will determine whether MDMA is safe.", []),
        ("No clinical trials have tested kratom for depression.", []),
        ("Kratom is being studied for opioid withdrawal.", []),
        # false friends
        ("Early morning dosing of caffeine increases alertness.", []),
        ("Some people take kratom in the early morning.", []),
        ("Prospective users should consult healthcare professionals.", []),
        ("This is a trial and error process.", []),
        ("According to the World Health Organization, kratom is not a controlled substance.", []),
    ],
)
def test_evidence_in(nlp, text, kinds):
    assert evidence_in(sentence(nlp, text)) == kinds


def test_regulatory_warning_and_its_agency(nlp):
    span = sentence(
        nlp,
        "The U.S. Food and Drug Administration (FDA) has issued warnings about the dangers of "
        "kratom, including the potential for abuse, addiction, and serious side effects.",
    )
    assert "regulatory warning" in evidence_in(span)
    who = attribution_in(span)
    assert who is not None and "FDA" in who.text
    # the whole noun phrase with its abbreviation, as a span of the document
    assert who.text == "The U.S. Food and Drug Administration (FDA)"
    assert who.doc is span.doc and span.doc.text[who.start_char : who.end_char] == who.text


@pytest.mark.parametrize(
    ("text", "who"),
    [
        (
            "However, the FDA has flagged kratom for its potential for abuse and addiction, along "
            "with serious side effects, suggesting caution in its use for depression treatment.",
            "the FDA",
        ),
        (
            "While some individuals report positive outcomes using kratom alongside conventional "
            "treatments like SSRIs and CBT, clinical trials are essential to establish "
            "evidence-based guidelines on its efficacy and safety.",
            "some individuals",
        ),
        (
            "In recent clinical trials, researchers have found that MDMA, when administered in "
            "controlled settings and under medical supervision, can be relatively safe for "
            "individuals with depression.",
            "researchers",
        ),
        (
            "According to the World Health Organization, kratom is not a controlled substance.",
            "the World Health Organization",
        ),
        ("Kratom was banned by the DEA in 2016.", "the DEA"),
        ("Scientists warn that kratom is addictive.", "Scientists"),
        ("Health Canada has warned consumers not to use kratom.", "Health Canada"),
        ("The FDA has approved MDMA-assisted therapy for PTSD.", "The FDA"),
        ("The authors concluded that psilocybin was safe.", "The authors"),
        ("Kratom users often describe a stimulating effect at low doses.", "Kratom users"),
        ("Many experts believe kratom has medical potential.", "Many experts"),
        ("A study by researchers at Yale found that psilocybin works.", "researchers at Yale"),
        (
            "Dr. John Smith, a psychiatrist at Stanford, said that MDMA is promising.",
            "Dr. John Smith",
        ),
        (
            "Patients who have undergone MDMA-assisted therapy have reported improved mood.",
            "Patients",
        ),
        # no one: inanimate sources, pronouns, advice, substances
        (
            "Preliminary studies and anecdotal evidence suggest that kratom may offer therapeutic "
            "effects for individuals with major depressive disorder (MDD).",
            None,
        ),
        ("MDMA stimulates the release of serotonin.", None),
        ("The study population was young.", None),
        ("Studies have shown that MDMA increases the release of serotonin.", None),
        ("It has been observed that MDMA can enhance feelings of trust.", None),
        ("They say kratom helps with pain.", None),
        ("We found that kratom relieved pain.", None),
        ("Doctors should warn patients about kratom.", None),
        ("We will navigate the current research on kratom.", None),
        (
            "Individuals managing MDD should consider professional guidance before incorporating "
            "kratom.",
            None,
        ),
        ("Mdma, commonly known as ecstasy, has shown potential benefits.", None),
    ],
)
def test_attribution_in(nlp, text, who):
    assert attribution_text(sentence(nlp, text)) == who


def test_call_for_research(nlp):
    doc = nlp(
        "Clinical trials are essential to establish guidelines. "
        "In recent clinical trials, MDMA was safe."
    )
    called, cited = [s for s in doc.sents]
    assert is_call_for_research(called[0:2])
    assert not is_call_for_research(cited[2:4])
    assert cited[2:4].text == "clinical trials"


def test_paragraph_fallback(nlp):
    doc = nlp(
        "Researchers at Johns Hopkins ran a randomized controlled trial of psilocybin. "
        "Psilocybin reduced depressive symptoms.\n\n"
        "Psilocybin also reduced anxiety. The effect lasted for weeks."
    )
    first, second, third, fourth = doc.sents
    assert for_sentence(second) == (["clinical trial"], None)
    # the next paragraph inherits nothing
    assert for_sentence(third) == ([], None)
    assert for_sentence(fourth) == ([], None)
    # the sentence's own evidence wins
    assert for_sentence(first)[0] == ["clinical trial"]


def test_fallback_order_and_independence(nlp):
    doc = nlp(
        "Kratom binds opioid receptors. The FDA has warned consumers about kratom. "
        "In mice, kratom reduced pain. Kratom also eased withdrawal."
    )
    binds, warned, mice, eased = doc.sents
    # nothing before: what follows speaks about what follows, not about this sentence
    assert for_sentence(binds) == ([], None)
    assert for_sentence(warned) == (["regulatory warning"], warned[0:2])
    # evidence from the nearest preceding sentence, attribution from further back
    evidence, who = for_sentence(eased)
    assert evidence == ["animal study"]
    assert who is not None and who.text == "The FDA"
    # own attribution, evidence of its own too
    assert for_sentence(mice) == (["animal study"], who)


def test_headings_are_never_taken(nlp):
    doc = nlp("Clinical Trials\nMDMA reduced symptoms in patients. It was well tolerated.")
    heading, reduced, tolerated = doc.sents
    assert heading._.is_heading
    assert evidence_in(heading) == ["clinical trial"]
    assert for_sentence(reduced) == ([], None)
    assert for_sentence(tolerated) == ([], None)


@pytest.mark.parametrize(
    ("start", "kinds", "who"),
    [
        ("Kratom, extracted from the Mitragyna speciosa plant", ["research"], None),
        ("Research suggests that kratom’s impact", ["research"], None),
        ("The efficacy and safety of kratom are subjects of ongoing research", [], None),
        ("A comprehensive understanding of its impact", [], None),
        ("Ongoing clinical trials are essential", [], None),
        ("The FDA has issued warnings about the risks", ["regulatory warning"], "The FDA"),
        ("Therefore, while some individuals report", ["anecdotal"], "some individuals"),
        ("Preliminary research suggests that certain alkaloids", ["preliminary research"], None),
        ("It is essential to note that the use of MDMA", ["preliminary research"], None),
        ("Nonetheless, the emerging evidence suggests", ["preliminary research"], None),
        ("Early studies indicate that MDMA", ["preliminary research"], None),
        ("Extensive research has shown promising results", ["research"], None),
        ("Despite the limited number of studies", ["preliminary research"], None),
        ("While further research is necessary", [], None),
        ("The potential for Kratom in depression treatment", [], None),
        ("Patients who have undergone MDMA-assisted therapy", [], "Patients"),
        ("Prospective users should consult", [], None),
    ],
)
def test_sample_articles(articles, start, kinds, who):
    span = article_sentence(articles, start)
    assert evidence_in(span) == kinds
    assert attribution_text(span) == who


def test_sample_articles_stay_in_the_vocabulary(articles):
    for doc in articles:
        for span in doc.sents:
            kinds = evidence_in(span)
            assert set(kinds) <= set(EVIDENCE_KINDS)
            assert len(kinds) == len(set(kinds))
            evidence, who = for_sentence(span)
            assert set(evidence) <= set(EVIDENCE_KINDS)
            assert who is None or who.doc is doc


def test_results_are_fresh_lists(nlp):
    span = sentence(nlp, "In mice, psilocybin reduced anxiety-like behaviour.")
    evidence_in(span).append("changed")
    assert evidence_in(span) == ["animal study"]
