"""Train the hedge and negation detector of pipeline/nlp/hedging.py from ../shared/corpora.

    python models/scripts/train_hedges.py [--model models/claims_web_sm] [--out models/build/hedges]
    python models/scripts/train_hedges.py --phrases-only   # only models/lexicon/hedge_cues.jsonl

1. Read Szeged Uncertainty (bio, wiki), BioScope abstracts and *SEM 2012; split Szeged and
   BioScope by document with the fixed seed of pipeline/evaluation/hedge_corpora.py
   (*SEM: official split).
2. Parse train and dev with the shipped pipeline's tokenizer, tagger and parser (cached in
   OUT/docs), so the features are those the detector sees at run time.
3. Fit logistic regressions on train: hedge cue words (Szeged), hedge type (Szeged),
   speculation scope ranker (BioScope), negation cue words and scope ranker (*SEM train,
   plus BioScope negation cues with --bioscope-negation). Regularisation is chosen on dev.
4. Write OUT/detector.json.gz and print the dev figures. Test documents are never read here.
   `make hedges` then puts the weights into the shipped pipeline.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import time
from collections import Counter
from pathlib import Path

import numpy as np
import spacy
from sklearn.feature_extraction import DictVectorizer
from sklearn.linear_model import LogisticRegression
from spacy.lookups import load_lookups
from spacy.tokens import Doc, DocBin

from pipeline.evaluation.hedge_corpora import SPLIT_SEED, GoldSentence, load_split
from pipeline.evaluation.hedge_eval import (
    format_report,
    gold_cue_span,
    gold_cue_tokens,
    gold_scope_tokens,
    parse,
    score,
    with_totals,
)
from pipeline.nlp.hedging import (
    _AFFIX,
    DICTIONARY,
    HEDGE,
    NEGATION,
    CueDetector,
    DetectorWeights,
    LinearModel,
    _trim,
    cue_features,
    scope_candidates,
)
from pipeline.paths import PROJECT_DIR, corpora_dir

PHRASES = PROJECT_DIR / "models" / "lexicon" / "hedge_cues.jsonl"


def parsed(nlp, sentences: list[GoldSentence], cache: Path) -> list[Doc]:
    """Parse once; later runs read the DocBin (keyed by the texts and the model)."""
    key = hashlib.sha256()
    key.update(nlp.meta.get("claims_model_checksum", "").encode())
    for sentence in sentences:
        key.update(sentence.text.encode() + b"\x00")
    path = cache / f"{key.hexdigest()[:16]}.spacy"
    if path.exists():
        return list(DocBin().from_disk(path).get_docs(nlp.vocab))
    started = time.time()
    docs = parse(nlp, sentences)
    cache.mkdir(parents=True, exist_ok=True)
    DocBin(docs=docs).to_disk(path)
    print(f"  parsed {len(docs):,} sentences in {time.time() - started:.0f} s", flush=True)
    return docs


def read_lexicons(root: Path) -> dict[str, list[str]]:
    """The informal hedge and booster word lists (Islam et al. 2020), single words only."""
    folder = root / "hedge_lexicons_islam2020"
    lexicons = {}
    for name, file in (("hedge", "hedge_words.txt"), ("booster", "booster_words.txt")):
        words = {
            line.strip().lower()
            for line in (folder / file).read_text(encoding="utf-8").splitlines()
            if line.strip() and not line.startswith("#") and " " not in line.strip()
        }
        lexicons[name] = sorted(words)
    return lexicons


def dictionary_words() -> list[str]:
    """English words of spaCy's lemma index (spacy-lookups-data), for the affix feature."""
    table = load_lookups("en", ["lemma_index"]).get_table("lemma_index")
    return sorted(
        {
            w
            for pos in ("adj", "noun", "verb", "adv")
            for w in table[pos]
            if w.isalpha() and len(w) >= 3
        }
    )


# -- training sets -------------------------------------------------------------------------------


def cue_examples(
    pairs: list[tuple[Doc, GoldSentence]], kind: str, candidates: frozenset[str], lexicons
) -> tuple[list[list[str]], list[str]]:
    features, labels = [], []
    for doc, sentence in pairs:
        gold = set()
        for cue in sentence.cues:
            if cue.kind == kind:
                gold.update(gold_cue_tokens(doc, cue))
        for token in doc:
            word = token.lower_
            if word in candidates or (kind == NEGATION and _AFFIX.match(word)):
                features.append(cue_features(token, lexicons))
                labels.append("cue" if token.i in gold else "O")
    return features, labels


def cue_vocabulary(pairs: list[tuple[Doc, GoldSentence]], kind: str) -> tuple[set, set]:
    """Words ever part of a cue, and the multi-word cues, as lowercase token tuples."""
    words: set[str] = set()
    multiword: set[tuple[str, ...]] = set()
    for doc, sentence in pairs:
        for cue in sentence.cues:
            if cue.kind != kind:
                continue
            tokens = gold_cue_tokens(doc, cue)
            words.update(doc[i].lower_ for i in tokens)
            if len(tokens) > 1 and tokens == tuple(range(tokens[0], tokens[-1] + 1)):
                multiword.add(tuple(doc[i].lower_ for i in tokens))
    return words, multiword


def type_examples(pairs, lexicons) -> tuple[list[list[str]], list[str]]:
    features, labels = [], []
    for doc, sentence in pairs:
        for cue in sentence.cues:
            if cue.kind != HEDGE or cue.type == "speculation":
                continue
            tokens = gold_cue_tokens(doc, cue)
            if not tokens:
                continue
            span = doc[tokens[0] : tokens[-1] + 1]
            features.append([*cue_features(doc[tokens[0]], lexicons), f"mw={span.text.lower()}"])
            labels.append(cue.type)
    return features, labels


def scope_examples(pairs, kind: str) -> tuple[list[list[str]], list[str], Counter]:
    """Ranker instances: every candidate scope of every gold cue, labelled by exact match."""
    features, labels = [], []
    coverage: Counter[str] = Counter()
    for doc, sentence in pairs:
        for cue in sentence.cues:
            if cue.kind != kind or cue.scope is None:
                continue
            tokens = gold_cue_tokens(doc, cue)
            scope = gold_scope_tokens(doc, cue)
            if not tokens:
                continue
            span = gold_cue_span(doc, tokens)
            hull = set(scope or ()) | set(range(span.start, span.end))
            gold_bounds = _trim(doc, min(hull), max(hull) + 1, (span.start, span.end))
            candidates = scope_candidates(span)
            coverage["cues"] += 1
            if gold_bounds not in candidates:
                continue
            coverage["reachable"] += 1
            for bounds, candidate_features in candidates.items():
                features.append(candidate_features)
                labels.append("in" if bounds == gold_bounds else "O")
    return features, labels, coverage


def fit(features: list[list[str]], labels: list[str], c: float) -> LinearModel:
    """Logistic regression over string features, exported as a sparse LinearModel."""
    vectorizer = DictVectorizer()
    matrix = vectorizer.fit_transform([dict.fromkeys(f, 1) for f in features]).tocsr()
    matrix.indices = matrix.indices.astype(np.int32)  # liblinear takes 32-bit indices only
    matrix.indptr = matrix.indptr.astype(np.int32)
    classes = sorted(set(labels))
    binary = len(classes) == 2 and "O" in classes
    model = LogisticRegression(C=c, max_iter=2000, solver="liblinear" if binary else "lbfgs")
    model.fit(matrix, labels)
    names = vectorizer.get_feature_names_out()
    if binary:
        positive = next(c for c in model.classes_ if c != "O")
        sign = 1.0 if model.classes_[1] == positive else -1.0
        coef = model.coef_[0] * sign
        weights = {
            str(names[j]): [round(float(coef[j]), 4)]
            for j in range(len(names))
            if abs(coef[j]) >= 1e-3
        }
        return LinearModel([positive], weights, [round(float(model.intercept_[0] * sign), 4)])
    weights = {}
    for j, name in enumerate(names):
        row = [round(float(model.coef_[k][j]), 4) for k in range(len(model.classes_))]
        if max(abs(v) for v in row) >= 1e-3:
            weights[str(name)] = row
    return LinearModel(
        [str(c) for c in model.classes_], weights, [float(b) for b in model.intercept_]
    )


# -- main ------------------------------------------------------------------------------------------


def read_phrases() -> list[dict]:
    """The phrase lexicon: cues the corpora lack, and look-alikes that are no cue."""
    return [json.loads(line) for line in PHRASES.read_text().splitlines() if line]


def install_phrases(model_dir: Path) -> int:
    """Replace the phrase lexicon of the model's detector and save the model."""
    from assemble import save

    nlp = spacy.load(model_dir)
    nlp.meta.pop("claims_model_checksum", None)
    detector = nlp.get_pipe("claims_hedging")
    weights = detector.weights
    weights.phrases = read_phrases()
    detector.set_weights(weights)
    save(nlp, model_dir)
    print(f"{len(weights.phrases)} phrases in {model_dir}")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, default=PROJECT_DIR / "models" / "claims_web_sm")
    parser.add_argument("--out", type=Path, default=PROJECT_DIR / "models" / "build" / "hedges")
    parser.add_argument("--corpora", type=Path, default=None, help="default: CLAIMS_CORPORA")
    parser.add_argument("--c", type=float, nargs="+", default=[0.1, 0.3, 1.0])
    parser.add_argument("--no-lexicon-features", action="store_true")
    parser.add_argument("--bioscope-hedges", action="store_true", help="add BioScope cues")
    parser.add_argument("--bioscope-negation", action="store_true", help="add BioScope cues")
    parser.add_argument("--no-phrases", action="store_true")
    parser.add_argument(
        "--phrases-only",
        action="store_true",
        help=f"put {PHRASES.name} into --model's detector without retraining (seconds)",
    )
    args = parser.parse_args(argv)
    if args.phrases_only:
        return install_phrases(args.model)
    root = args.corpora or corpora_dir()

    nlp = spacy.load(args.model)
    print("reading and parsing the corpora (train and dev only)", flush=True)
    data: dict[str, list[tuple[Doc, GoldSentence]]] = {}
    for split in ("train", "dev"):
        sentences = load_split(split, root=root)
        docs = parsed(nlp, sentences, args.out / "docs")
        for doc, sentence in zip(docs, sentences, strict=True):
            data.setdefault(f"{sentence.corpus}:{split}", []).append((doc, sentence))
    for name, pairs in sorted(data.items()):
        print(f"  {name}: {len(pairs):,} sentences")

    lexicons = {} if args.no_lexicon_features else read_lexicons(root)
    lexicons[DICTIONARY] = dictionary_words()
    hedge_train = data["szeged_bio:train"] + data["szeged_wiki:train"]
    if args.bioscope_hedges:
        hedge_train += data["bioscope:train"]
    negation_train = data["starsem:train"] + (
        data["bioscope:train"] if args.bioscope_negation else []
    )
    dev = [p for name, pairs in data.items() if name.endswith(":dev") for p in pairs]

    weights = DetectorWeights(lexicons=lexicons)
    for kind, train in ((HEDGE, hedge_train), (NEGATION, negation_train)):
        words, multiword = cue_vocabulary(train, kind)
        weights.candidates[kind] = sorted(words)
        weights.multiword[kind] = sorted(list(m) for m in multiword)
    if not args.no_phrases:
        weights.phrases = read_phrases()

    print("fitting", flush=True)
    started = time.time()
    type_features, type_labels = type_examples(hedge_train, lexicons)
    weights.models["hedge_type"] = fit(type_features, type_labels, 1.0)
    for kind in (HEDGE, NEGATION):
        features, labels, coverage = scope_examples(
            data["bioscope:train"] if kind == HEDGE else data["starsem:train"], kind
        )
        print(
            f"  {kind} scope: {coverage['reachable']:,} of {coverage['cues']:,} gold scopes "
            f"are among the candidates ({100 * coverage['reachable'] / coverage['cues']:.1f}%)"
        )
        weights.models[f"{kind}_scope"] = fit(features, labels, 1.0)
    detector = CueDetector(nlp, "claims_hedging", use_phrases=False)
    best: dict[str, tuple[float, float, LinearModel]] = {}
    for kind, train in ((HEDGE, hedge_train), (NEGATION, negation_train)):
        features, labels = cue_examples(train, kind, frozenset(weights.candidates[kind]), lexicons)
        print(f"  {kind} cue: {len(labels):,} candidate tokens, {labels.count('cue'):,} cues")
        for c in args.c:
            weights.models[f"{kind}_cue"] = fit(features, labels, c)
            detector.set_weights(weights)
            report = with_totals(score(detector, [d for d, _ in dev], [s for _, s in dev]))
            measure = ("hedge cues", "all") if kind == HEDGE else ("negation cues", "starsem")
            f1 = report.get(*measure).f1
            print(f"    C={c}: dev {measure[0]} [{measure[1]}] F1 {100 * f1:.1f}", flush=True)
            if kind not in best or f1 > best[kind][0]:
                best[kind] = (f1, c, weights.models[f"{kind}_cue"])
        weights.models[f"{kind}_cue"] = best[kind][2]
    print(f"  fitted in {time.time() - started:.0f} s")

    weights.meta = {
        "split_seed": SPLIT_SEED,
        "trained_on": {
            "hedge cues and types": "Szeged Uncertainty bio + wiki, train documents"
            + (" + BioScope train" if args.bioscope_hedges else ""),
            "hedge scope": "BioScope abstracts, train documents",
            "negation cues": "*SEM 2012 CD-SCO train"
            + (" + BioScope train" if args.bioscope_negation else ""),
            "negation scope": "*SEM 2012 CD-SCO train",
        },
        "chosen_c": {kind: best[kind][1] for kind in best},
        "lexicon_features": not args.no_lexicon_features,
    }
    args.out.mkdir(parents=True, exist_ok=True)
    weights.write(args.out / "detector.json.gz")
    detector.set_weights(weights)
    for use_phrases in (False, True) if weights.phrases else (False,):
        detector.use_phrases = use_phrases
        report = with_totals(score(detector, [d for d, _ in dev], [s for _, s in dev]))
        title = f"dev figures ({'with' if use_phrases else 'without'} the phrase lexicon)"
        print(format_report(report, title))
        print()
    size = (args.out / "detector.json.gz").stat().st_size / 1e6
    print(f"wrote {args.out / 'detector.json.gz'} ({size:.1f} MB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
