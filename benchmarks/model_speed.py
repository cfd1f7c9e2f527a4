"""Words per second of the shipped pipeline with `nlp.pipe` in one process.

    python benchmarks/model_speed.py [--model PATH] [--limit N] [--batch-size N] [--components]

Texts: the two sample articles and the FakeHealth stories and releases (from the corpora
path). Printed beside the words/s of a blank pipeline holding only our tokenizer, measured
in the same run, so the figure can be read against what this machine does at all.
Words are whitespace-separated words, as everywhere in this project.
"""

from __future__ import annotations

import argparse
import json
import sys
import time

import spacy

from pipeline import load
from pipeline.ingest import count_words
from pipeline.paths import PROJECT_DIR, corpora_dir


def extraction_steps(names: list[str]) -> list[str]:
    """Claim extraction: every step of ours (`claims_*`: layout, abbreviations, entities,
    hedging, the claim decisions, evidence); the rest is the model (tokenizer, tagger,
    parser, NER...)."""
    return [name for name in names if name.startswith("claims_")]


def benchmark_texts(limit: int | None = None) -> list[str]:
    texts = [p.read_text() for p in sorted((PROJECT_DIR / "corpus").glob("*.txt"))]
    folder = corpora_dir() / "fakehealth"
    for path in sorted(folder.glob("*.jsonl")):
        with path.open() as handle:
            texts += [t for line in handle if (t := json.loads(line).get("text") or "").strip()]
    return texts[:limit] if limit else texts


def words_per_second(nlp: spacy.Language, texts: list[str], batch_size: int) -> float:
    words = sum(count_words(t) for t in texts)
    start = time.perf_counter()
    for _ in nlp.pipe(texts, batch_size=batch_size):
        pass
    return words / (time.perf_counter() - start)


def component_seconds(nlp: spacy.Language, texts: list[str], batch_size: int) -> dict[str, float]:
    """Seconds each step takes over all texts, the tokenizer included, one step at a time."""
    start = time.perf_counter()
    docs = [nlp.make_doc(text) for text in texts]
    seconds = {"tokenizer": time.perf_counter() - start}
    for name, component in nlp.pipeline:
        start = time.perf_counter()
        if hasattr(component, "pipe"):
            docs = list(component.pipe(docs, batch_size=batch_size))
        else:
            docs = [component(doc) for doc in docs]
        seconds[name] = time.perf_counter() - start
    return seconds


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=None, help="pipeline path (default: the shipped one)")
    parser.add_argument("--limit", type=int, default=None, help="use only the first N texts")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument(
        "--components",
        action="store_true",
        help="also print the share of time of each pipeline step",
    )
    args = parser.parse_args(argv)
    texts = benchmark_texts(args.limit)
    words = sum(count_words(t) for t in texts)
    start = time.perf_counter()
    nlp = load(args.model)
    load_seconds = time.perf_counter() - start
    blank = spacy.blank("en")
    blank.tokenizer = nlp.tokenizer
    list(nlp.pipe(texts[:20]))  # warm up caches and lazy allocations
    tokenizer_wps = words_per_second(blank, texts, args.batch_size)
    pipeline_wps = words_per_second(nlp, texts, args.batch_size)
    print(
        f"texts: {len(texts):,} ({words:,} words); pipeline: {nlp.meta.get('name')} "
        f"{nlp.pipe_names}"
    )
    print(f"load time: {load_seconds:.2f} s")
    print("| pipeline | words/s |")
    print("|---|---|")
    print(f"| blank (tokenizer only) | {tokenizer_wps:,.0f} |")
    print(f"| {nlp.meta.get('name')} (nlp.pipe, 1 process) | {pipeline_wps:,.0f} |")
    if args.components:
        seconds = component_seconds(nlp, texts, args.batch_size)
        total = sum(seconds.values())
        print("\n| step | seconds | share |")
        print("|---|---|---|")
        for name, value in seconds.items():
            print(f"| {name} | {value:.1f} | {100 * value / total:.1f}% |")
        steps = extraction_steps(list(seconds))
        extraction = sum(seconds[name] for name in steps)
        if extraction:
            print(
                f"\nextraction ({', '.join(steps)}): {extraction:.1f} s of {total:.1f} s "
                f"= {100 * extraction / total:.1f}% of the pipeline's time "
                f"(+{100 * extraction / (total - extraction):.1f}% on top of the model)"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
