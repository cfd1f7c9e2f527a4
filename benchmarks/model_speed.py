"""Words per second of the shipped pipeline with `nlp.pipe` in one process, beside a peer.

    python benchmarks/model_speed.py [--model PATH] [--limit N] [--batch-size N]
        [--components] [--peer] [--rounds N]

Texts: the two sample articles and the FakeHealth stories and releases (from the corpora
path); with `--peer`, the first `--limit` FakeHealth stories only. Printed beside the words/s
of a blank pipeline holding only our tokenizer, measured in the same run, so the figure can
be read against what this machine does at all. Words are whitespace-separated words, as
everywhere in this project.

`--peer` also times spaCy's default CPU efficiency pipeline (`spacy init config --pipeline
tagger,parser,ner --optimize efficiency`: the architecture of en_core_web_sm) with random
weights, initialised on a few of our own parses so its tag, parser and entity label sets
are ours, in the same process on the same texts; and our statistical core alone (tokenizer,
tok2vec, tagger, parser, ner: the peer's components). The timings alternate between the
pipelines for `--rounds` rounds and each pipeline's best round is reported, so a busy
moment of the machine does not land on one of them. `make benchmark-model` runs this.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import spacy

from pipeline import load
from pipeline.ingest import count_words
from pipeline.nlp.loader import SHIPPED_MODEL
from pipeline.paths import PROJECT_DIR, corpora_dir


def extraction_steps(names: list[str]) -> list[str]:
    """Claim extraction: every step of ours (`claims_*`: layout, abbreviations, entities,
    hedging, the claim decisions, evidence); the rest is the model (tokenizer, tagger,
    parser, NER...)."""
    return [name for name in names if name.startswith("claims_")]


def benchmark_texts(limit: int | None = None, samples: bool = True) -> list[str]:
    """The sample articles (unless `samples` is false), then FakeHealth's texts; the first
    `limit` of them. Raises FileNotFoundError without the FakeHealth corpus."""
    texts = [p.read_text() for p in sorted((PROJECT_DIR / "corpus").glob("*.txt"))]
    texts = texts if samples else []
    folder = corpora_dir() / "fakehealth"
    if not folder.is_dir():
        raise FileNotFoundError(f"FakeHealth not found at {folder} (set CLAIMS_CORPORA)")
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


CORE = ("tok2vec", "tagger", "parser", "ner")


def peer_pipeline(nlp: spacy.Language, texts: list[str]) -> spacy.Language:
    """spaCy's efficiency pipeline, random weights, with the label sets of `nlp`'s parses."""
    from spacy.cli.init_config import init_config
    from spacy.training import Example

    config = init_config(lang="en", pipeline=["tagger", "parser", "ner"], optimize="efficiency")
    peer = spacy.util.load_model_from_config(config, auto_fill=True)
    docs = list(nlp.pipe(texts[:40]))
    examples = [Example(peer.make_doc(doc.text), doc) for doc in docs]
    peer.initialize(lambda: examples)
    return peer


def timed(pipelines: dict[str, spacy.Language], texts: list[str], batch_size: int, rounds: int):
    """Best words/s of each pipeline over `rounds` alternating rounds."""
    best = dict.fromkeys(pipelines, 0.0)
    for _ in range(rounds):
        for name, pipeline in pipelines.items():
            best[name] = max(best[name], words_per_second(pipeline, texts, batch_size))
    return best


def model_megabytes(path: str | Path) -> float:
    return sum(p.stat().st_size for p in Path(path).rglob("*") if p.is_file()) / 1e6


def compare_with_peer(args) -> int:
    """The issue-20 comparison: the same FakeHealth stories, the same process."""
    texts = benchmark_texts(args.limit or 300, samples=False)
    words = sum(count_words(t) for t in texts)
    start = time.perf_counter()
    nlp = load(args.model)
    load_seconds = time.perf_counter() - start
    core = load(args.model)
    core.select_pipes(enable=[name for name in core.pipe_names if name in CORE])
    peer = peer_pipeline(core, texts)
    pipelines = {"peer": peer, "core": core, "shipped": nlp}
    for pipeline in pipelines.values():
        list(pipeline.pipe(texts[:20]))  # warm up caches and lazy allocations
    wps = timed(pipelines, texts, args.batch_size, args.rounds)
    path = args.model or SHIPPED_MODEL
    print(
        f"texts: {len(texts):,} FakeHealth stories ({words:,} words), batch size "
        f"{args.batch_size}, best of {args.rounds} alternating rounds, one process"
    )
    print(f"model: {path} ({model_megabytes(path):.1f} MB on disk), load time {load_seconds:.2f} s")
    print("| pipeline | components | words/s | x peer |")
    print("|---|---|---|---|")
    rows = (
        ("peer", "spaCy efficiency (random weights)", peer.pipe_names),
        ("core", "ours, statistical core", core.pipe_names),
        ("shipped", f"ours, as shipped ({nlp.meta.get('name')})", nlp.pipe_names),
    )
    for key, label, names in rows:
        ratio = wps[key] / wps["peer"]
        print(f"| {label} | {len(names)}: {', '.join(names)} | {wps[key]:,.0f} | {ratio:.2f} |")
    return 0


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
    parser.add_argument(
        "--peer",
        action="store_true",
        help="compare with spaCy's efficiency pipeline on FakeHealth stories (default 300)",
    )
    parser.add_argument("--rounds", type=int, default=3, help="alternating rounds (--peer)")
    args = parser.parse_args(argv)
    if args.peer:
        return compare_with_peer(args)
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
