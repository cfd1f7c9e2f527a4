"""The entity lexicon: matching, serialisation, and the build from DrugBank and MeSH."""

from __future__ import annotations

import sys

import pytest
import spacy

from pipeline.nlp.lexicon import Lexicon, Term, build_lexicon
from tests.conftest import PROJECT_DIR

sys.path.insert(0, str(PROJECT_DIR / "models" / "scripts"))

import build_lexicon as builder


@pytest.fixture(scope="module")
def tokenize():
    return spacy.blank("en").make_doc


def _lexicon(tokenize) -> Lexicon:
    entries = [
        {"term": "opioid receptors", "label": "TARGET", "norm": "opioid receptors", "source": "t"},
        {"term": "opioid", "label": "SUBSTANCE", "norm": "opioids", "source": "t"},
        {"term": "ALL", "label": "CONDITION", "norm": "leukemia", "source": "t", "exact": True},
        {"term": "MDMA", "label": "SUBSTANCE", "norm": "mdma", "source": "t"},
    ]
    return build_lexicon(entries, tokenize)


def test_longest_match_case_and_exact_terms(tokenize):
    lexicon = _lexicon(tokenize)
    doc = tokenize("Mdma binds Opioid receptors in all ALL patients; an opioid too.")
    found = [(doc[s:e].text, term.label, term.norm) for s, e, term in lexicon.matches(doc)]
    assert found == [
        ("Mdma", "SUBSTANCE", "mdma"),
        ("Opioid receptors", "TARGET", "opioid receptors"),
        ("ALL", "CONDITION", "leukemia"),
        ("opioid", "SUBSTANCE", "opioids"),
    ]


def test_round_trip(tokenize, tmp_path):
    lexicon = _lexicon(tokenize)
    lexicon.to_disk(tmp_path / "lexicon.jsonl.gz")
    again = Lexicon.from_disk(tmp_path / "lexicon.jsonl.gz")
    assert again.terms == lexicon.terms
    assert Term(("ALL",), "CONDITION", "leukemia", "t", True) in again.terms


def test_unknown_label_is_an_error(tokenize):
    with pytest.raises(ValueError, match="Unknown label"):
        build_lexicon([{"term": "x", "label": "GENE", "norm": "x", "source": "t"}], tokenize)


def test_terms_are_cleaned():
    assert builder.clean_term("Ecstasy (Drug)") == "Ecstasy"
    assert builder.clean_term("Receptors, Opioid") is None  # inverted MeSH form
    assert builder.clean_term("3,4-methylenedioxymethamphetamine") is not None
    assert builder.clean_term("A-23187") is None  # lab code
    assert builder.is_exact("ALL") and not builder.is_exact("MDMA-like")


def test_mesh_branches_decide_labels():
    assert builder.mesh_label(["D12.776.543.750.695.620"]) == "TARGET"  # opioid receptors
    assert builder.mesh_label(["F03.600.300.375"]) == "CONDITION"  # major depressive disorder
    assert builder.mesh_label(["C23.888.592.612", "F02.830.816.444"]) == "EFFECT"  # pain
    assert builder.mesh_label(["D02.455.426.392.368.367.652"]) == "SUBSTANCE"  # ketamine
    assert builder.mesh_label(["D12.125.067"]) is None  # other amino acids: too generic


def test_build_from_the_corpora(corpora):
    entries = {entry["term"].lower(): entry for entry in builder.build(corpora)}
    assert entries["mitragynine"]["label"] == "SUBSTANCE"  # curated: MeSH lacks it
    assert entries["molly"]["norm"] == "mdma"
    assert entries["serotonin"]["label"] == "TARGET"  # curated wins over DrugBank
    assert entries["fluoxetine"]["source"].startswith("drugbank:")
    assert entries["prozac"]["norm"] == "fluoxetine"
    assert entries["dopamine transporter"]["label"] == "TARGET"
    assert entries["nausea"]["label"] == "EFFECT"
    assert entries["schizophrenia"]["label"] == "CONDITION"
    assert "speed" not in entries and "lead" not in entries  # stoplist


# -- grounding (issue 19): ids, one name per concept ------------------------------------------


def _entry(term: str, norm: str, source: str, label: str = "SUBSTANCE", **extra) -> dict:
    return {"term": term, "label": label, "norm": norm, "source": source, **extra}


def test_drugbanks_own_name_in_mesh_links_the_records():
    drugbank = [
        _entry("Acetylsalicylic acid", "acetylsalicylic acid", "drugbank:DB00945"),
        _entry("Aspirin", "acetylsalicylic acid", "drugbank:DB00945"),
    ]
    mesh = [
        _entry("Aspirin", "aspirin", "mesh:D001241"),
        _entry("Acetylsalicylic Acid", "aspirin", "mesh:D001241"),
    ]
    canonical, refs = builder.ground([], drugbank, mesh, {"aspirin": "CHEBI:15365"})
    # MeSH's heading names the concept, and it carries every id
    assert canonical["drugbank:DB00945"] == canonical["mesh:D001241"] == "aspirin"
    assert refs["aspirin"] == {"MESH": "D001241", "DRUGBANK": "DB00945", "CHEBI": "CHEBI:15365"}


def test_a_drugbank_synonym_links_nothing():
    """DrugBank's synonyms list relatives and salts: "Leek" lists onions, "Magnesium
    gluconate" lists magnesium, "Dextrose, unspecified form" lists glucose."""
    drugbank = [
        _entry("Leek", "leek", "drugbank:DB10548"),
        _entry("Onions", "leek", "drugbank:DB10548"),
        _entry("Dextrose, unspecified form", "dextrose, unspecified form", "drugbank:DB09341"),
        _entry("Glucose", "dextrose, unspecified form", "drugbank:DB09341"),
    ]
    mesh = [
        _entry("Onions", "onions", "mesh:D019697"),
        _entry("Glucose", "glucose", "mesh:D005947"),
    ]
    canonical, refs = builder.ground([], drugbank, mesh, {})
    assert canonical["mesh:D019697"] == "onions" and canonical["drugbank:DB10548"] == "leek"
    assert refs["onions"] == {"MESH": "D019697"}
    assert canonical["drugbank:DB09341"] == "dextrose"  # the qualifier dropped
    assert canonical["mesh:D005947"] == "glucose"


def test_plurals_and_curated_synonyms_share_one_name():
    curated = [
        _entry("SSRIs", "ssris", "curated:1"),
        _entry("selective serotonin reuptake inhibitors", "ssris", "curated:1"),
    ]
    drugbank = [_entry("Benzodiazepine", "benzodiazepine", "drugbank:DB12537")]
    mesh = [
        _entry("Benzodiazepines", "benzodiazepines", "mesh:D001569"),
        _entry("Selective Serotonin Reuptake Inhibitors", "ssri", "mesh:D017367"),
    ]
    canonical, refs = builder.ground(curated, drugbank, mesh, {})
    assert canonical["mesh:D001569"] == canonical["drugbank:DB12537"] == "benzodiazepines"
    assert canonical["mesh:D017367"] == "ssris"  # the curated name wins
    assert refs["ssris"] == {"MESH": "D017367"}
    assert refs["benzodiazepines"] == {"MESH": "D001569", "DRUGBANK": "DB12537"}


def test_an_ambiguous_name_links_nothing():
    drugbank = [
        _entry("Dexamethasone", "dexamethasone", "drugbank:DB01234"),
        _entry("Dex", "dexamethasone", "drugbank:DB01234"),
        _entry("Dextromethorphan", "dextromethorphan", "drugbank:DB00514"),
        _entry("Dex", "dextromethorphan", "drugbank:DB00514"),
    ]
    mesh = [_entry("Dex", "dexmedetomidine", "mesh:D020927")]
    canonical, _ = builder.ground([], drugbank, mesh, {})
    assert canonical["mesh:D020927"] == "dexmedetomidine"  # "Dex" is two drugs: no link
    assert canonical["drugbank:DB00514"] == "dextromethorphan"


def test_a_term_takes_the_record_whose_own_name_it_is():
    drugbank = [
        _entry("Insulin human", "insulin human", "drugbank:DB00030"),
        _entry("Insulin", "insulin human", "drugbank:DB00030"),
    ]
    mesh = [_entry("Insulin", "insulin", "mesh:D007328", "TARGET")]
    assert builder._own_names(drugbank, mesh)["insulin"] == "mesh:D007328"


def test_stated_ids_win_and_mesh_headings_read_in_order():
    curated = [
        _entry(
            "blood pressure", "blood pressure", "curated:3", "TARGET", db_refs={"MESH": "D001794"}
        )
    ]
    _, refs = builder.ground(curated, [], [], {})
    assert refs["blood pressure"] == {"MESH": "D001794"}
    assert builder.uninvert("Receptors, Opioid, mu") == "mu Opioid Receptors"
    assert builder.uninvert("Fatty Acids, Omega-3") == "Omega-3 Fatty Acids"
    assert builder.uninvert("Benzene, 1,2-dihydroxy-") == "Benzene, 1,2-dihydroxy-"


def test_lookup_spells_a_term(tokenize):
    lexicon = _lexicon(tokenize)
    assert lexicon.lookup(("opioid", "receptors")).norm == "opioid receptors"
    assert lexicon.lookup(("All",)) is None  # exact terms keep their case
    assert lexicon.lookup(("ALL",)).norm == "leukemia"
    assert lexicon.lookup(("kratom",)) is None
