"""The spaCy pipeline on the seed articles: layout, sentences, sections, abbreviations."""

from __future__ import annotations

import spacy
from conftest import KRATOM, MDMA, SAMPLE_CORPUS

from pipeline import load, pipeline_version
from pipeline.nlp.loader import BASE_CONFIG


def _sentences(doc):
    """Sentences as the tables hold them: not blank, not a lone bullet marker."""
    return [s for s in doc.sents if any(c.isalnum() for c in s.text)]


def test_mdma_headings_sections_and_sentences(nlp):
    doc = nlp((SAMPLE_CORPUS / MDMA).read_text())
    assert [h.text for h in doc.spans["headings"]] == [
        "Efficacy",
        "Safety",
        "Mechanism Of Action",
        "Clinical Trials",
        "Potential Benefits",
        "Summary And Implications",
    ]
    sentences = _sentences(doc)
    assert len(sentences) == 76  # 70 sentences (counted by hand-checked regex) + 6 headings
    release = next(s for s in sentences if "stimulates the release of serotonin" in s.text)
    assert release.text.strip().startswith("Upon ingestion, MDMA stimulates")
    assert release._.section == "Mechanism Of Action"
    assert sentences[0]._.section is None  # before the first heading


def test_kratom_headings_exclude_bullets(nlp):
    doc = nlp((SAMPLE_CORPUS / KRATOM).read_text())
    assert [h.text for h in doc.spans["headings"]] == [
        "Exploring Kratom's Role in Depression Treatment: An Overview",
        "Understanding Kratom Mechanisms and Safety Considerations in Major Depressive "
        "Disorder Management",
        "Integrating Kratom with Conventional Therapies for Effective Major Depressive "
        "Disorder Management",
    ]
    sentences = _sentences(doc)
    # "The U.S. Food and Drug Administration" must not be split after "U.S.".
    assert len(sentences) == 47
    assert any(
        s.text.startswith("The U.S. Food and Drug Administration (FDA) has issued")
        for s in sentences
    )


def test_no_sentence_crosses_a_line_break(nlp):
    for name in (KRATOM, MDMA):
        doc = nlp((SAMPLE_CORPUS / name).read_text())
        for sent in _sentences(doc):
            assert "\n" not in sent.text.strip(), sent.text


def test_abbreviations_from_brackets_and_apposition(nlp):
    kratom = nlp((SAMPLE_CORPUS / KRATOM).read_text())
    mdma = nlp((SAMPLE_CORPUS / MDMA).read_text())
    found = {(s.text, s._.long_form.text) for d in (kratom, mdma) for s in d._.abbreviations}
    assert ("MDD", "major depressive disorder") in found
    assert ("SSRIs", "selective serotonin reuptake inhibitors") in found
    assert ("MDMA", "3,4-methylenedioxymethamphetamine") in found
    assert ("PTSD", "post-traumatic stress disorder") in found
    group = mdma.spans["abbreviations"]
    assert {s.label_ for s in group if s.text == "MDMA"} == {"3,4-methylenedioxymethamphetamine"}


def test_apposition_needs_matching_letters(nlp):
    doc = nlp("MDMA, also known as ecstasy, is a drug.")
    assert doc._.abbreviations == []


def test_pipeline_round_trips_through_disk(nlp, tmp_path):
    nlp.to_disk(tmp_path / "model")
    reloaded = spacy.load(tmp_path / "model")
    text = (SAMPLE_CORPUS / MDMA).read_text()
    assert reloaded.pipe_names == nlp.pipe_names
    a, b = nlp(text), reloaded(text)
    assert [s.text for s in a.sents] == [s.text for s in b.sents]
    assert [h.text for h in b.spans["headings"]] == [h.text for h in a.spans["headings"]]
    assert load(tmp_path / "model").pipe_names == nlp.pipe_names


def test_pipeline_version_follows_the_config(tmp_path):
    changed = tmp_path / "config.cfg"
    changed.write_text(
        BASE_CONFIG.read_text().replace("max_heading_words = 12", "max_heading_words = 10")
    )
    assert pipeline_version(load(changed)) != pipeline_version(load(BASE_CONFIG))
    assert pipeline_version(load(BASE_CONFIG)) == pipeline_version(load(BASE_CONFIG))


def test_abbreviations_share_entity_labels_with_their_long_forms(nlp):
    from spacy.tokens import Span

    from pipeline.nlp.abbreviations import propagate_entities

    doc = nlp.make_doc("Patients took beraprost (BPT) daily. BPT lowered pressure.")
    for _, proc in nlp.pipeline:
        doc = proc(doc)
    doc.ents = [Span(doc, 2, 3, label="CHEMICAL")]  # what a recogniser might find
    propagate_entities(doc)
    assert [(e.text, e.label_) for e in doc.ents] == [
        ("beraprost", "CHEMICAL"),
        ("BPT", "CHEMICAL"),
        ("BPT", "CHEMICAL"),
    ]


def test_a_long_form_takes_the_label_of_its_first_short_form_whatever_the_list_order(nlp):
    """Short forms the recogniser labels differently: the first in reading order decides, in
    every run (scispaCy lists occurrences in set order, which changes between runs)."""
    from spacy.tokens import Span

    from pipeline.nlp.abbreviations import propagate_entities

    text = "Cells called fibroblast-like synoviocytes (FLS) matter. FLS grow. FLS die."
    labels = []
    for reverse in (False, True):
        doc = nlp.make_doc(text)
        for _, proc in nlp.pipeline:
            doc = proc(doc)
        shorts = sorted(doc._.abbreviations, key=lambda span: span.start)
        assert [s.text for s in shorts] == ["FLS", "FLS", "FLS"]
        doc.ents = [
            Span(doc, shorts[0].start, shorts[0].end, label="DISEASE"),
            Span(doc, shorts[1].start, shorts[1].end, label="CHEMICAL"),
            Span(doc, shorts[2].start, shorts[2].end, label="CHEMICAL"),
        ]
        doc._.abbreviations[:] = list(reversed(shorts)) if reverse else shorts
        propagate_entities(doc)
        labels.append(next((e.text, e.label_) for e in doc.ents))
    assert labels == [("fibroblast-like synoviocytes", "DISEASE")] * 2


def test_abbreviations_are_listed_in_reading_order(nlp):
    doc = nlp("Cells called fibroblast-like synoviocytes (FLS) matter. FLS grow. FLS die, FLS go.")
    starts = [s.start for s in doc._.abbreviations]
    assert starts == sorted(starts) and len(starts) == 4


def test_tokenizer_splits_names_from_modifiers_but_keeps_names_whole(nlp):
    words = [
        t.text
        for t in nlp.make_doc(
            "MDMA-assisted therapy, lithium-induced and non-lithium-treated rats, "
            "debrisoquine/sparteine, 7-hydroxymitragynine, 3,4-methylenedioxymethamphetamine, "
            "IL-2 and 5-HT2A, see https://example.org/a-b-induced"
        )
    ]
    for name in (
        "MDMA",
        "lithium",
        "debrisoquine",
        "sparteine",
        "7-hydroxymitragynine",
        "3,4-methylenedioxymethamphetamine",
        "IL-2",
        "5-HT2A",
        "https://example.org/a-b-induced",
    ):
        assert name in words
    assert words[:3] == ["MDMA", "-", "assisted"]


def test_pipeline_version_follows_rule_code(nlp, tmp_path, monkeypatch):
    """Editing a claim rule must re-process articles, as new weights would."""
    import shutil

    from pipeline.nlp import loader

    before = loader.pipeline_version(nlp)
    copy = tmp_path / "pipeline"
    shutil.copytree(loader.PACKAGE_DIR, copy)
    monkeypatch.setattr(loader, "PACKAGE_DIR", copy)
    assert loader.pipeline_version(nlp) == before
    claims = copy / "nlp" / "claims.py"
    claims.write_text(claims.read_text() + "\n# changed\n")
    assert loader.pipeline_version(nlp) != before
