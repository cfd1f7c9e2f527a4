"""Held-out figures of a pipeline, printed and optionally stamped into its meta.json.

    python models/scripts/evaluate.py models/claims_web_sm [--write-meta]

Every figure is measured on data no component was trained or tuned on:
- POS (PTB tag, and UPOS where the gold has it): GENIA test, UD EWT test, CRAFT test articles;
- UAS / LAS (spaCy/ClearNLP labels, punctuation excluded as spaCy's scorer does): CRAFT test
  articles (a fixed split of whole articles, see convert.py);
- NER precision / recall / F1 per type: BC5CDR official test set.
Tagging and parsing are scored twice: on the gold tokens (what the tagger and parser
learned; the usual way these figures are compared) and end to end, with our own tokenizer
aligned to the gold tokens as `spacy evaluate` does (a token our tokenizer splits or joins
differently from the treebank counts as wrong). NER is scored end to end only.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import spacy
from spacy.tokens import DocBin
from spacy.training import Example

from pipeline import load
from pipeline.nlp.training import same_tokens
from pipeline.paths import PROJECT_DIR

CORPUS = PROJECT_DIR / "models" / "build" / "corpus"
COMMAND = "make evaluate-model"
EVALUATIONS = {
    # name: (file, split description, score keys)
    "genia_test": (
        "eval/test/genia.spacy",
        "GENIA test (UD v1 conversion, 1,360 sentences)",
        ["tag_acc", "sents_f"],
    ),
    "ewt_test": (
        "eval/test/ewt.spacy",
        "UD English-EWT v2.16 test",
        ["tag_acc", "pos_acc", "sents_f"],
    ),
    "craft_test": (
        "eval/test/craft.spacy",
        "CRAFT v5, 20 held-out articles (seed 13)",
        ["tag_acc", "pos_acc", "dep_uas", "dep_las", "sents_f"],
    ),
    "bc5cdr_test": (
        "ner/test/bc5cdr.spacy",
        "BC5CDR official test set (500 abstracts)",
        ["ents_p", "ents_r", "ents_f", "ents_per_type"],
    ),
}


# Issue 20's targets: (evaluation, figure) -> the least value; on gold tokens and end to end
# where both are measured.
TARGETS = {
    ("genia_test", "tag_acc"): 98.0,
    ("ewt_test", "tag_acc"): 95.0,
    ("craft_test", "dep_uas"): 89.5,
    ("bc5cdr_test", "ents_f"): 85.0,
}


def evaluate(nlp: spacy.Language, corpus: Path = CORPUS) -> dict[str, dict]:
    results = {}
    for name, (relative, split, keys) in EVALUATIONS.items():
        path = corpus / relative
        if not path.exists():
            raise FileNotFoundError(f"{path} missing: run models/scripts/convert.py first")
        gold = list(DocBin().from_disk(path).get_docs(nlp.vocab))
        end_to_end = [Example(nlp.make_doc(doc.text), doc) for doc in gold]
        scores = nlp.evaluate(end_to_end, batch_size=64)
        figures = {key: _percent(scores.get(key)) for key in keys}
        if "ents_f" not in keys:
            gold_tokens = [Example(same_tokens(doc), doc) for doc in gold]
            scores = nlp.evaluate(gold_tokens, batch_size=64)
            figures["gold_tokens"] = {key: _percent(scores.get(key)) for key in keys}
        results[name] = {"split": split, **figures}
    return results


def _percent(value):
    if isinstance(value, dict):
        return {k: _percent(v) for k, v in value.items()}
    return round(value * 100, 2) if isinstance(value, float) else value


def _cell(value: float | None) -> str:
    return "" if value is None else f"{value:.2f}"


def report(results: dict[str, dict]) -> str:
    """A table: one row per figure, gold-token and end-to-end columns, and the target."""
    lines = ["| data | figure | gold tokens | end to end | target |", "|---|---|---|---|---|"]
    for name, figures in results.items():
        gold = figures.get("gold_tokens", {})
        for key, value in figures.items():
            if key in {"split", "gold_tokens"}:
                continue
            if key == "ents_per_type":
                for label, per_type in value.items():
                    p, r, f = (per_type[k] for k in ("p", "r", "f"))
                    lines.append(
                        f"| {name} | {label} P / R / F | | {p:.2f} / {r:.2f} / {f:.2f} | |"
                    )
                continue
            target = TARGETS.get((name, key))
            verdict = ""
            if target is not None:
                measured = [v for v in (gold.get(key), value) if v is not None]
                met = all(v >= target for v in measured)
                verdict = f">= {target:g} {'met' if met else 'not met'}"
            lines.append(
                f"| {name} | {key} | {_cell(gold.get(key))} | {_cell(value)} | {verdict} |"
            )
    lines.append("")
    lines += [f"- {name}: {figures['split']}" for name, figures in results.items()]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model", type=Path)
    parser.add_argument(
        "--write-meta", action="store_true", help="store the figures in the pipeline's meta.json"
    )
    args = parser.parse_args(argv)
    nlp = load(args.model)
    results = evaluate(nlp)
    print(report(results))
    if args.write_meta:
        meta_path = args.model / "meta.json"
        meta = json.loads(meta_path.read_text())
        meta["claims_evaluation"] = {"command": COMMAND, "results": results}
        gold = {name: figures.get("gold_tokens", {}) for name, figures in results.items()}
        meta["performance"] = {
            "tag_acc_genia_test": gold["genia_test"]["tag_acc"],
            "tag_acc_ewt_test": gold["ewt_test"]["tag_acc"],
            "dep_uas_craft_test": gold["craft_test"]["dep_uas"],
            "dep_las_craft_test": gold["craft_test"]["dep_las"],
            "ents_f_bc5cdr_test": results["bc5cdr_test"]["ents_f"],
            "note": "tagging and parsing on gold tokens; NER end to end; see claims_evaluation",
        }
        meta_path.write_text(json.dumps(meta, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
