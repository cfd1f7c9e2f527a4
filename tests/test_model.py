"""The shipped pipeline in models/: what it is, and what it gets right on real sentences."""

from __future__ import annotations

import json

import pytest
from conftest import KRATOM, MDMA, PROJECT_DIR, SAMPLE_CORPUS

from pipeline.nlp.loader import SHIPPED_MODEL, default_model_path

pytestmark = pytest.mark.skipif(
    not (SHIPPED_MODEL / "config.cfg").exists(), reason="models/claims_web_sm is not built"
)


def test_load_uses_the_shipped_pipeline_by_default(nlp, monkeypatch):
    monkeypatch.delenv("CLAIMS_MODEL", raising=False)
    assert default_model_path() == SHIPPED_MODEL
    assert nlp.meta["name"] == "claims_web_sm"
    for component in (
        "tagger",
        "attribute_ruler",
        "lemmatizer",
        "parser",
        "ner",
        "claims_layout",
        "claims_abbreviations",
    ):
        assert component in nlp.pipe_names
    assert set(nlp.get_pipe("ner").labels) == {"CHEMICAL", "DISEASE"}


def test_meta_carries_held_out_figures_with_their_split():
    meta = json.loads((SHIPPED_MODEL / "meta.json").read_text())
    results = meta["claims_evaluation"]["results"]
    for name in ("genia_test", "ewt_test", "craft_test", "bc5cdr_test"):
        assert results[name]["split"]
    assert {"dep_uas", "dep_las"} <= set(results["craft_test"])
    assert set(results["bc5cdr_test"]["ents_per_type"]) == {"CHEMICAL", "DISEASE"}


def test_shipped_pipeline_is_small_enough_to_commit():
    size = sum(p.stat().st_size for p in SHIPPED_MODEL.rglob("*") if p.is_file())
    assert size < 40 * 1024 * 1024


def test_mdma_subject_and_object(nlp):
    doc = nlp("MDMA stimulates the release of serotonin from presynaptic neurons.")
    verb = next(t for t in doc if t.text == "stimulates")
    assert [t.text for t in verb.children if t.dep_ == "nsubj"] == ["MDMA"]
    assert [t.text for t in verb.children if t.dep_ == "dobj"] == ["release"]
    assert verb.pos_ == "VERB" and verb.tag_ == "VBZ" and verb.lemma_ == "stimulate"


def test_seed_entities(nlp):
    kratom = nlp((SAMPLE_CORPUS / KRATOM).read_text())
    mdma = nlp((SAMPLE_CORPUS / MDMA).read_text())
    labels: dict[str, set[str]] = {}
    for doc in (kratom, mdma):
        for ent in doc.ents:
            labels.setdefault(ent.text.lower(), set()).add(ent.label_)
    assert "CHEMICAL" in labels.get("mitragynine", set())
    assert "CHEMICAL" in labels.get("mdma", set())
    assert "CHEMICAL" in labels.get("serotonin", set())
    assert "DISEASE" in labels.get("depression", set())


def test_layout_boundaries_survive_the_parser(nlp):
    doc = nlp((SAMPLE_CORPUS / MDMA).read_text())
    sentences = [s for s in doc.sents if s.text.strip()]
    assert all("\n" not in s.text.strip() for s in sentences)
    headings = {s.text.strip() for s in sentences if s._.is_heading}
    assert {"Efficacy", "Safety", "Mechanism Of Action"} <= headings


def test_model_readme_documents_the_figures():
    readme = (PROJECT_DIR / "models" / "README.md").read_text()
    meta = json.loads((SHIPPED_MODEL / "meta.json").read_text())
    uas = meta["claims_evaluation"]["results"]["craft_test"]["dep_uas"]
    assert f"{uas:.2f}" in readme
