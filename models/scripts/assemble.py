"""Assemble the shipped pipeline from the trained parts.

    python models/scripts/assemble.py --joint DIR --out models/claims_web_sm
    python models/scripts/assemble.py --extraction-only --out models/claims_web_sm

The first form takes tok2vec, tagger, parser and NER from a joint training run
(`models/configs/joint.cfg`: one tok2vec shared by the three) and puts the extraction
components after them; the hedge detector's weights and the learned claim extractor are
carried over from the pipeline already at `--out` (else from the shipped one), except that
the weights at `--hedges` win when that file exists (default: build/hedges/detector.json.gz;
both read the parse, so `make model` retrains them next).
The second form keeps the trained components of an assembled pipeline and rebuilds only
the extraction components (entities with the lexicon of build_lexicon.py, hedge cues,
claims), which is all a change to the lexicon or the claim rules needs.

Order: scispaCy tokenizer -> layout (line and heading boundaries, set before the parser so
it respects them) -> tok2vec (shared) -> tagger -> attribute_ruler (PTB tag -> UPOS) -> rule
lemmatizer -> parser (also the sentence boundaries) -> ner -> abbreviations -> entities
(NER + lexicon) -> hedge and negation cues -> claims -> their evidence and attribution ->
claim strength (per sentence and claim).
"""

from __future__ import annotations

import argparse
import hashlib
import shutil
import sys
from pathlib import Path

import spacy
from spacy.language import Language
from spacy.lookups import load_lookups
from tag_map import TAG_MAP, UD_PATTERNS

from pipeline.paths import PROJECT_DIR
from pipeline.version import __version__

MODEL_NAME = "claims_web_sm"
SHIPPED_MODEL = PROJECT_DIR / "models" / MODEL_NAME
LEXICON = PROJECT_DIR / "models" / "build" / "lexicon.jsonl"
HEDGES = PROJECT_DIR / "models" / "build" / "hedges" / "detector.json.gz"
EXTRACTION = (
    "claims_entities",
    "claims_hedging",
    "claims_extractor",
    "claims_edges",
    "claims_evidence",
    "claims_strength",
)
STRENGTH = PROJECT_DIR / "models" / "build" / "strength" / "strength.json.gz"


def assemble(joint_dir: Path) -> Language:
    """Our tokenizer and layout, then the trained tok2vec, tagger, parser and NER of
    `joint_dir` (their listeners stay connected to the one tok2vec) with the attribute
    ruler and the rule lemmatizer between them."""
    trained = spacy.load(joint_dir)
    nlp = spacy.blank(
        "en", config={"nlp": {"tokenizer": {"@tokenizers": "claims.scispacy_tokenizer.v1"}}}
    )
    nlp.add_pipe("claims_layout")
    nlp.add_pipe("tok2vec", source=trained)
    nlp.add_pipe("tagger", source=trained)
    ruler = nlp.add_pipe("attribute_ruler")
    ruler.load_from_tag_map(TAG_MAP)
    ruler.add_patterns(UD_PATTERNS)
    lemmatizer = nlp.add_pipe("lemmatizer", config={"mode": "rule"})
    lemmatizer.initialize(lookups=load_lookups("en", ["lemma_rules", "lemma_exc", "lemma_index"]))
    nlp.add_pipe("parser", source=trained)
    nlp.add_pipe("ner", source=trained)
    nlp.add_pipe("claims_abbreviations")
    nlp.meta.update(
        {
            "name": MODEL_NAME,
            "version": __version__,
            "description": "Health and biomedical web text: scispaCy tokenizer, one CNN "
            "tok2vec shared by a PTB tagger with UPOS, a spaCy-style dependency parser "
            "(CRAFT) and CHEMICAL and DISEASE NER (BC5CDR), rule lemmatizer, layout and "
            "abbreviation components.",
            "license": "CC BY-SA 4.0 (trained on UD English-EWT, CC BY-SA 4.0)",
            "sources": [
                {"name": "CRAFT v5", "license": "CC BY 3.0"},
                {"name": "UD English-EWT v2.16", "license": "CC BY-SA 4.0"},
                {"name": "GENIA treebank (train abstracts, POS)", "license": "GENIA"},
                {"name": "BC5CDR", "license": "CC BY 4.0"},
            ],
        }
    )
    return nlp


def add_extraction(
    nlp: Language,
    lexicon: Path,
    hedges: Path | None = None,
    source: Language | None = None,
    strength: Path | None = None,
) -> Language:
    """(Re)place the extraction components at the end of the pipeline.

    The hedge detector's weights come from `hedges` (train_hedges.py's output) when given,
    else from the current detector of `source` (default: `nlp` itself), so a lexicon or rule
    change needs no retraining; so does the learned claim extractor. The claim strength
    classifier's weights likewise come from `strength` (train_strength.py's output) when that
    file exists, else from `source`.
    """
    source = nlp if source is None else source
    previous = None
    if "claims_hedging" in source.pipe_names:
        previous = source.get_pipe("claims_hedging").weights
    # the learned extractor is kept (train_claims.py retrains it); the rules decide until then
    edges = source.get_pipe("claims_edges") if "claims_edges" in source.pipe_names else None
    edges_config = source.config["components"].get("claims_edges", {}) if edges else {}
    strength_weights = (
        source.get_pipe("claims_strength").weights
        if "claims_strength" in source.pipe_names
        else None
    )
    for name in EXTRACTION:
        if name in nlp.pipe_names:
            nlp.remove_pipe(name)
    entities = nlp.add_pipe("claims_entities")
    entities.initialize(
        nlp=nlp, lexicon_path=lexicon, person_names_path=lexicon.with_name("person_names.txt")
    )
    detector = nlp.add_pipe("claims_hedging")
    if hedges is not None and hedges.exists():
        detector.initialize(nlp=nlp, weights_path=hedges)
    elif previous is not None and previous.models:
        detector.set_weights(previous)
    else:
        raise SystemExit(
            f"no hedge detector weights: run models/scripts/train_hedges.py ({hedges})"
        )
    if edges is not None and edges.model is not None:
        config = {k: v for k, v in edges_config.items() if k != "factory"}
        nlp.add_pipe("claims_edges", config=config).model = edges.model
    else:
        nlp.add_pipe("claims_extractor")
    nlp.add_pipe("claims_evidence").initialize(nlp=nlp)  # rules: pipeline/nlp/data/evidence.json
    classifier = nlp.add_pipe("claims_strength")
    if strength is not None and strength.exists():
        classifier.initialize(nlp=nlp, weights_path=str(strength))
    elif strength_weights is not None and strength_weights.model is not None:
        classifier.set_weights(strength_weights)
    else:
        raise SystemExit(
            f"no claim strength weights: run models/scripts/train_strength.py ({strength})"
        )
    nlp.meta["description"] = DESCRIPTION
    nlp.meta["version"] = __version__
    nlp.meta.setdefault("sources", [])
    for source in LEXICON_SOURCES:
        if source not in nlp.meta["sources"]:
            nlp.meta["sources"].append(source)
    return nlp


DESCRIPTION = (
    "Health and biomedical web text: scispaCy tokenizer, PTB tagger with UPOS, rule "
    "lemmatizer, spaCy-style dependency parser (CRAFT), CHEMICAL and DISEASE NER (BC5CDR), "
    "layout and abbreviation components, SUBSTANCE/TARGET/EFFECT/CONDITION entities (NER + "
    "DrugBank/MeSH lexicon), trained hedge and negation cues with scopes (Szeged, BioScope, "
    "*SEM 2012), substance-target-effect claims with certainty, evidence and attribution, "
    "and claim strength (Yu et al.'s scheme, learned from our own labels on FakeHealth news)."
)
LEXICON_SOURCES = [
    {"name": "DrugBank open vocabulary", "license": "CC0 1.0"},
    {"name": "MeSH 2024 descriptors and trees", "license": "NLM public data"},
    {"name": "CRAFT v5 ChEBI annotations (ChEBI ids of chemical names)", "license": "CC BY 3.0"},
    {"name": "US Census 1990 name lists, via the `names` package", "license": "MIT"},
    {"name": "Szeged Uncertainty Corpus (hedge cues)", "license": "not stated; cleared"},
    {"name": "BioScope abstracts (speculation scopes)", "license": "CC BY 2.0"},
    {"name": "*SEM 2012 CD-SCO (negation cues, scopes)", "license": "not stated; cleared"},
    {"name": "Hedge lexicons, Islam et al. 2020 (features)", "license": "not stated; cleared"},
]


def save(nlp: Language, out: Path) -> None:
    """Write the pipeline, stamping a checksum of its weights into meta.json."""
    if out.exists():
        shutil.rmtree(out)
    nlp.to_disk(out)
    nlp.meta["claims_model_checksum"] = weights_checksum(out)
    nlp.to_disk(out)


def weights_checksum(model_dir: Path) -> str:
    digest = hashlib.sha256()
    for path in sorted(model_dir.rglob("*")):
        if path.is_file() and path.name != "meta.json":
            digest.update(path.relative_to(model_dir).as_posix().encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--joint", type=Path, help="a joint training run's model-best")
    parser.add_argument("--lexicon", type=Path, default=LEXICON)
    parser.add_argument("--hedges", type=Path, default=HEDGES, help="detector weights")
    parser.add_argument("--strength", type=Path, default=STRENGTH, help="strength weights")
    parser.add_argument("--extraction-only", action="store_true")
    parser.add_argument("--out", type=Path, default=PROJECT_DIR / "models" / MODEL_NAME)
    args = parser.parse_args(argv)
    if not args.lexicon.exists():
        parser.error(f"{args.lexicon} is missing: run models/scripts/build_lexicon.py first")
    source = None
    if args.extraction_only:
        nlp = spacy.load(args.out)
        nlp.meta.pop("claims_model_checksum", None)
    elif args.joint:
        nlp = assemble(args.joint)
        previous = args.out if (args.out / "config.cfg").exists() else SHIPPED_MODEL
        if (previous / "config.cfg").exists():
            source = spacy.load(previous)
    else:
        parser.error("give --joint, or --extraction-only")
    add_extraction(nlp, args.lexicon, args.hedges, source=source, strength=args.strength)
    save(nlp, args.out)
    size = sum(p.stat().st_size for p in args.out.rglob("*") if p.is_file()) / 1e6
    print(f"saved {nlp.pipe_names} to {args.out} ({size:.1f} MB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
