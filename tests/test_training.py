"""The training path cannot rot: convert, train every component a few steps, assemble.

CI never trains the real model; this trains the shipped configs for a few steps on a
handful of hand-annotated sentences and assembles them the way `make model` does.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
import spacy
from conftest import PROJECT_DIR
from spacy.tokens import Doc, DocBin

sys.path.insert(0, str(PROJECT_DIR / "models" / "scripts"))

import assemble
import convert

from pipeline.nlp.tokenizer import create_scispacy_tokenizer

CONFIGS = PROJECT_DIR / "models" / "configs"

CONLLU = """# newdoc id = d1
# text = MDMA stimulates the release of serotonin.
1\tMDMA\tMDMA\tPROPN\tNNP\t_\t2\tnsubj\t_\t_
2\tstimulates\tstimulate\tVERB\tVBZ\t_\t0\troot\t_\t_
3\tthe\tthe\tDET\tDT\t_\t4\tdet\t_\t_
4\trelease\trelease\tNOUN\tNN\t_\t2\tdobj\t_\t_
5\tof\tof\tADP\tIN\t_\t4\tprep\t_\t_
6\tserotonin\tserotonin\tNOUN\tNN\t_\t5\tpobj\t_\tSpaceAfter=No
7\t.\t.\tPUNCT\t.\t_\t2\tpunct\t_\t_

# text = Kratom may cause dependence.
1\tKratom\tkratom\tNOUN\tNN\t_\t3\tnsubj\t_\t_
2\tmay\tmay\tAUX\tMD\t_\t3\taux\t_\t_
3\tcause\tcause\tVERB\tVB\t_\t0\troot\t_\t_
4\tdependence\tdependence\tNOUN\tNN\t_\t3\tdobj\t_\tSpaceAfter=No
5\t.\t.\tPUNCT\t.\t_\t3\tpunct\t_\t_
"""

PUBTATOR = (
    "227508|t|Lithium-induced polyuria.\n"
    "227508|a|Rats given 5-HTP showed 5-HTergic changes.\n"
    "227508\t0\t7\tLithium\tChemical\tD008094\n"
    "227508\t16\t24\tpolyuria\tDisease\tD011141\n"
    "227508\t50\t54\t5-HT\tChemical\tD012701\n"
    "\n"
)


def test_conllu_reader_keeps_heads_labels_and_spacing(tmp_path):
    path = tmp_path / "a.conllu"
    path.write_text(CONLLU)
    sentences = [s for _, s in convert.read_conllu(path, keep_deps=True)]
    first = sentences[0]
    assert first["heads"] == [1, 1, 3, 1, 3, 4, 1]
    assert first["deps"][1] == "ROOT" and first["deps"][0] == "nsubj"
    assert first["spaces"][5] is False
    (doc,) = convert.to_docs(spacy.blank("en").vocab, sentences, per_doc=10)
    assert len(list(doc.sents)) == 2
    assert doc[0].head.text == "stimulates" and doc[3].dep_ == "dobj"
    assert doc[0].pos_ == "PROPN" and doc[0].tag_ == "NNP"


def test_pubtator_entities_survive_tokenization(tmp_path):
    path = tmp_path / "a.PubTator.txt"
    path.write_text(PUBTATOR)
    ((pmid, text, spans),) = convert.read_pubtator(path)
    assert pmid == "227508" and text.startswith("Lithium-induced polyuria.")
    nlp = spacy.blank("en")
    nlp.tokenizer = create_scispacy_tokenizer()(nlp)
    doc = convert.pubtator_doc(nlp, text, spans)
    assert [(e.text, e.label_) for e in doc.ents] == [
        ("Lithium", "CHEMICAL"),
        ("polyuria", "DISEASE"),
        ("5-HT", "CHEMICAL"),
    ]
    assert doc.text == text


def _write_corpus(tmp_path: Path) -> tuple[Path, Path]:
    vocab = spacy.blank("en").vocab
    conllu = tmp_path / "a.conllu"
    conllu.write_text(CONLLU)
    sentences = [s for _, s in convert.read_conllu(conllu, keep_deps=True)]
    syntax = tmp_path / "syntax.spacy"
    convert.write(list(convert.to_docs(vocab, sentences, per_doc=1)) * 4, syntax)
    words = ["MDMA", "worsens", "depression", "."]
    doc = Doc(vocab, words=words, ents=["B-CHEMICAL", "O", "B-DISEASE", "O"])
    ner = tmp_path / "ner.spacy"
    DocBin(docs=[doc] * 4).to_disk(ner)
    return syntax, ner


def _overrides(syntax_data: Path, ner_data: Path) -> dict:
    return {
        "paths.train": str(syntax_data),
        "paths.dev": str(syntax_data),
        "paths.ner_train": str(ner_data),
        "paths.ner_dev": str(ner_data),
        "training.eval_frequency": 2,
        "training.batcher.size.start": 50,
        "training.batcher.size.stop": 50,
        # Four sentences hold no label 30 times: keep every label as its own parser action.
        "components.parser.min_action_freq": 1,
    }


def test_joint_reader_reads_treebanks_on_gold_tokens_and_leaves_other_layers_missing(tmp_path):
    from pipeline.nlp.training import joint_corpus

    syntax_data, ner_data = _write_corpus(tmp_path)
    nlp = spacy.blank("en")
    nlp.tokenizer = create_scispacy_tokenizer()(nlp)
    examples = list(joint_corpus(str(syntax_data), str(ner_data), ner_repeats=2)(nlp))
    treebank, entities = examples[:8], examples[8:]
    assert len(entities) == 8  # four entity documents, each twice
    for example in treebank:
        assert [t.text for t in example.predicted] == [t.text for t in example.reference]
        assert example.reference.has_annotation("DEP")
        assert not example.reference.has_annotation("ENT_IOB")  # missing, not "outside"
    for example in entities:
        assert example.reference.has_annotation("ENT_IOB")
        assert not example.reference.has_annotation("DEP")
        assert not example.reference.has_annotation("TAG")
    with pytest.raises(FileNotFoundError, match=r"convert\.py"):
        list(joint_corpus(str(tmp_path / "nothing"), "")(nlp))


def test_genia_words_are_split_as_our_tokenizer_splits_them():
    sentence = {
        "words": ["Lithium-induced", "polyuria", "."],
        "spaces": [True, False, False],
        "tags": ["JJ", "NN", "."],
    }
    nlp = spacy.blank("en")
    tokenizer = create_scispacy_tokenizer()(nlp)
    split = convert.split_like_tokenizer(sentence, lambda w: [t.text for t in tokenizer(w)])
    assert split["words"] == ["Lithium", "-", "induced", "polyuria", "."]
    assert split["tags"] == ["", "HYPH", "JJ", "NN", "."]  # the first part is left missing
    assert split["spaces"] == [False, False, True, False, False]


@pytest.mark.slow
def test_joint_training_resumes_and_assembles(tmp_path):
    """models/configs/joint.cfg trains one tok2vec for tagger, parser and NER; a second run
    of train.py continues from the checkpoint (a new segment) instead of starting over."""
    import train as train_script

    syntax_data, ner_data = _write_corpus(tmp_path)
    output = tmp_path / "joint"
    overrides = _overrides(syntax_data, ner_data)
    config = CONFIGS / "joint.cfg"
    # 3 steps with an evaluation every 2: the count is the last step saved, not evaluated
    train_script.run(config, output, max_steps=3, fresh=False, overrides=overrides)
    assert train_script.steps_done(output) == 3
    # an override of the step budget does not change what --max-steps leaves to train
    with_budget = {**overrides, "training.max_steps": 100}
    train_script.run(config, output, max_steps=8, fresh=False, overrides=with_budget)
    assert [s.name for s in train_script.segments(output)] == ["segment-0", "segment-1"]
    assert train_script.steps_done(output) == 8
    assert (output / "model-best").is_dir() and (output / "model-last").is_dir()
    assert "DEP_UAS" in (output / "segment-1" / "train.log").read_text()
    # nothing left to do: no third segment
    train_script.run(config, output, max_steps=8, fresh=False, overrides=overrides)
    assert len(train_script.segments(output)) == 2

    trained = spacy.load(output / "model-last")
    assert trained.pipe_names == ["tok2vec", "tagger", "parser", "ner"]
    tok2vec = trained.get_pipe("tok2vec")
    assert set(tok2vec.listening_components) == {"tagger", "parser", "ner"}

    nlp = assemble.assemble(output / "model-best")
    out = tmp_path / "claims_web_sm"
    assemble.save(nlp, out)
    loaded = spacy.load(out)
    assert loaded.pipe_names == [
        "claims_layout",
        "tok2vec",
        "tagger",
        "attribute_ruler",
        "lemmatizer",
        "parser",
        "ner",
        "claims_abbreviations",
    ]
    assert loaded.meta["claims_model_checksum"] == assemble.weights_checksum(out)
    doc = loaded("Safety\nMDMA stimulates the release of serotonin. It may cause harm.")
    assert doc[0].tag_ and doc[0].pos_ and doc.has_annotation("DEP")
    assert [h.text for h in doc.spans["headings"]] == ["Safety"]
    assert all("\n" not in s.text.strip() for s in doc.sents)


def test_rebuilding_the_extraction_components_keeps_the_learned_extractor(tmp_path):
    """`make extraction` (assemble.add_extraction) swaps the lexicon and cues but keeps
    claims_edges, its weights and its config; the rules decide only in a fresh assembly."""
    from pipeline import load

    nlp = load()
    edges = nlp.get_pipe("claims_edges")
    strength = nlp.get_pipe("claims_strength").weights
    lexicon = tmp_path / "lexicon.jsonl"
    lexicon.write_text(
        '{"term": "kratom", "label": "SUBSTANCE", "norm": "kratom", "source": "test"}\n'
        '{"term": "pain", "label": "CONDITION", "norm": "pain", "source": "test"}\n'
    )
    assemble.add_extraction(nlp, lexicon)
    assert nlp.pipe_names[-3:] == ["claims_edges", "claims_evidence", "claims_strength"]
    # the strength classifier's weights are kept too (no --strength file given)
    assert nlp.get_pipe("claims_strength").weights.model is strength.model
    assert "claims_extractor" not in nlp.pipe_names
    kept = nlp.get_pipe("claims_edges")
    assert kept.model is edges.model and kept.claim_kinds == edges.claim_kinds
    doc = nlp("Kratom relieves pain.")
    assert [c.effect.norm for c in doc._.claims] == ["pain"]
