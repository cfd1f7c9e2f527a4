"""Speed and accuracy of candidate configurations of the joint model, in one table.

    python benchmarks/model_configs.py --step 2000 \
        NAME=RUN_DIR [NAME=RUN_DIR ...] [--limit 300] [--batch-size 32] [--rounds 2]

Each RUN_DIR is a `spacy train` output of `models/configs/joint.cfg` with some overrides
(`models/scripts/train.py` writes `train.log` in each segment; a plain `spacy train` run's
console output saved as RUN_DIR.log works too). Accuracy is read from the training log: the
dev scores (CRAFT / EWT / GENIA dev, 100 held-back BC5CDR abstracts) at `--step`, so
candidates trained for different lengths are compared at the same point. Speed is measured
here on the run's `model-last` (the architecture decides the speed, not the weights) beside
spaCy's efficiency pipeline, in one process, alternating rounds, as
`benchmarks/model_speed.py --peer` does. Size is the trained pipeline's on disk.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

import spacy
from model_speed import benchmark_texts, model_megabytes, peer_pipeline, timed

from pipeline.ingest import count_words
from pipeline.nlp.tokenizer import create_scispacy_tokenizer

COLUMNS = ("TAG_ACC", "DEP_UAS", "DEP_LAS", "SENTS_F", "ENTS_F")


def dev_scores(log: Path, step: int) -> dict[str, float] | None:
    """The dev figures spaCy's console logger printed at `step` (None if it never got there)."""
    header: list[str] | None = None
    for line in log.read_text(errors="replace").splitlines():
        line = re.sub(r"\x1b\[[0-9;]*m", "", line)
        if line.startswith("E ") and "#" in line:
            # "LOSS TAGGER" is one column of two words
            header = re.sub(r"LOSS (\S+)", r"LOSS_\1", line).split()
            continue
        cells = line.split()
        if header and len(cells) == len(header) and cells[1] == str(step):
            return {name: float(cells[header.index(name)]) for name in COLUMNS if name in header}
    return None


def find_log(run: Path) -> Path:
    candidates = (run / "train.log", run / "segment-0" / "train.log", run.with_suffix(".log"))
    for candidate in candidates:
        if candidate.exists():
            return candidate
    raise FileNotFoundError(f"no training log for {run} (train.log or {run.name}.log)")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("runs", nargs="+", help="NAME=RUN_DIR")
    parser.add_argument("--step", type=int, default=2000)
    parser.add_argument("--limit", type=int, default=300)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args(argv)
    runs = dict(item.split("=", 1) for item in args.runs)
    logs = {name: find_log(Path(folder)) for name, folder in runs.items()}  # fail before timing
    texts = benchmark_texts(args.limit, samples=False)
    words = sum(count_words(t) for t in texts)
    pipelines = {}
    for name, folder in runs.items():
        nlp = spacy.load(Path(folder) / "model-last")
        nlp.tokenizer = create_scispacy_tokenizer()(nlp)
        pipelines[name] = nlp
    first = next(iter(pipelines.values()))
    pipelines = {"peer": peer_pipeline(first, texts), **pipelines}
    for nlp in pipelines.values():
        list(nlp.pipe(texts[:20]))
    wps = timed(pipelines, texts, args.batch_size, args.rounds)
    print(
        f"speed: {len(texts)} FakeHealth stories ({words:,} words), batch size "
        f"{args.batch_size}, best of {args.rounds} rounds; dev scores at step {args.step}"
    )
    print(
        "| configuration | dev tag acc | dev UAS | dev LAS | dev sentence F | dev NER F "
        "| words/s | x peer | MB |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    print(f"| peer: spaCy efficiency (random weights) | | | | | | {wps['peer']:,.0f} | 1.00 | |")
    for name, folder in runs.items():
        scores = dev_scores(logs[name], args.step) or {}
        cells = " | ".join(f"{scores[c]:.2f}" if c in scores else "-" for c in COLUMNS)
        size = model_megabytes(Path(folder) / "model-last")
        ratio = wps[name] / wps["peer"]
        print(f"| {name} | {cells} | {wps[name]:,.0f} | {ratio:.2f} | {size:.1f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
