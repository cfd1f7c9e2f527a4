"""Throughput and memory of the whole flow against the bare pipeline, on FakeHealth.

    python benchmarks/throughput.py [--scale 10] [--limit N] [--report FILE]

In one run, each measure in its own fresh process:
  (a) bare `nlp.pipe` of the shipped pipeline over the article texts, one process, the
      model already loaded (the ceiling);
  (b) `claims run` end to end (start-up, Prefect, ingest, NLP, extraction, Parquet) into a
      fresh output folder, with 1 and 2 workers; words/s over the command's wall-clock time,
      so start-up costs count against it;
  (c) peak memory (RSS summed over the process tree, sampled every 0.2 s; and the
      high-water marks of the main process and of each worker) of the 2-worker run at 1x
      and at `--scale` x the corpus. The larger corpus repeats every article with its id
      and text altered ("-copyK" on the id, "Copy K." appended to the text), so no copy is
      skipped as a duplicate.
The corpus leaves out the held-out articles (`../shared/heldout-docs.txt`). A tiny warm-up
run first creates Prefect's database, as any earlier run would have. Targets: (b) 1 worker
>= 0.85 x (a); 2 workers >= 1.7 x 1 worker; peak memory at 10x <= 1.1 x at 1x, for the
whole tree and the main process; a worker <= 600 MB. Prints a Markdown table and writes it
to --report. Words are whitespace-separated words, as everywhere in this project.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import psutil
from memory import TreeMemory, read_records, scratch, warm_up, write_copies

from pipeline.paths import PROJECT_DIR

CLAIMS = Path(sys.executable).with_name("claims")
TARGET_RATIO_BARE = 0.85
TARGET_SPEEDUP = 1.7
TARGET_MEMORY_GROWTH = 1.10


@dataclass
class Measure:
    label: str
    words: int
    seconds: float
    peak_rss: int  # bytes, summed over the process tree
    main_peak_rss: int  # bytes, the measured command's own process
    worker_peak_rss: int = 0  # bytes, the largest worker process's high-water mark
    flow_seconds: float | None = None  # the run's own clock (runs table), without start-up

    @property
    def words_per_second(self) -> float:
        return self.words / self.seconds

    @property
    def flow_words_per_second(self) -> float | None:
        return self.words / self.flow_seconds if self.flow_seconds else None


def run_measured(command: list[str], env: dict[str, str]) -> tuple[float, TreeMemory, str]:
    """Run `command`; its wall-clock seconds, its memory peaks and standard output."""
    start = time.perf_counter()
    process = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    with TreeMemory(process.pid) as memory:
        stdout, stderr = process.communicate()
    seconds = time.perf_counter() - start
    if process.returncode:
        raise SystemExit(f"{' '.join(command)} failed:\n{stderr.decode()[-3000:]}")
    return seconds, memory, stdout.decode()


def bare_pipe(corpus: Path, batch_size: int, env: dict[str, str]) -> Measure:
    command = [sys.executable, __file__, "--bare", str(corpus), "--batch-size", str(batch_size)]
    _, memory, stdout = run_measured(command, env)
    figures = json.loads(stdout.strip().splitlines()[-1])
    label = "bare `nlp.pipe`, 1 process"
    main = memory.role_peak("main")
    return Measure(label, figures["words"], figures["seconds"], memory.peak, main)


def end_to_end(
    corpus: Path, out: Path, workers: int, batch_size: int, env: dict[str, str], label: str
) -> Measure:
    command = [str(CLAIMS), "run", str(corpus), "--out", str(out), "--workers", str(workers)]
    command += ["--batch-size", str(batch_size)]
    seconds, memory, _ = run_measured([*command, "--no-progress"], env)
    import pandas as pd

    run = pd.read_parquet(out / "runs").iloc[-1]
    if run["n_failed"] or not run["n_processed"]:
        print(f"warning: {label}: {run['n_failed']} articles failed", file=sys.stderr)
    words = int(run["n_words"])
    return Measure(
        label,
        words,
        seconds,
        memory.peak,
        memory.role_peak("main"),
        worker_peak_rss=memory.role_peak("worker"),
        flow_seconds=float(run["seconds"]),
    )


def _bare_main(corpus: str, batch_size: int) -> None:
    """Child process of (a): load, read, then time `nlp.pipe` alone."""
    from pipeline import load
    from pipeline.ingest import Document, iter_documents

    nlp = load()
    documents = [d for d in iter_documents(Path(corpus)) if isinstance(d, Document)]
    texts = [d.text for d in documents]
    words = sum(d.n_words for d in documents)
    start = time.perf_counter()
    for _ in nlp.pipe(texts, batch_size=batch_size):
        pass
    print(json.dumps({"words": words, "seconds": time.perf_counter() - start}))


def report(
    measures: dict[str, Measure], scale: int, records: int, limit: int | None, batch_size: int
) -> str:
    bare, one, two, big = (measures[k] for k in ("bare", "one", "two", "big"))
    mb = 1024 * 1024
    lines = [
        f"# Throughput and memory ({datetime.now(UTC):%Y-%m-%d})",
        "",
        f"Batches of {batch_size} articles for `nlp.pipe` and the flow's tasks alike. "
        f"Corpus: FakeHealth stories and releases, held-out articles left out, {records:,} records"
        + (f" (first {limit:,} only)" if limit else "")
        + f"; {scale}x = {records * scale:,} records. Machine: {os.cpu_count()} cores, "
        f"{psutil.virtual_memory().total / 1024**3:.0f} GiB, Python {platform.python_version()}.",
        "",
        "| measure | words | seconds | words/s | words/s, flow's own clock "
        "| peak RSS, all processes (MB) | peak RSS, main process (MB) |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for measure in (bare, one, two, big):
        flow = measure.flow_words_per_second
        lines.append(
            f"| {measure.label} | {measure.words:,} | {measure.seconds:,.1f} | "
            f"{measure.words_per_second:,.0f} | {f'{flow:,.0f}' if flow else '–'} | "
            f"{measure.peak_rss / mb:,.0f} | {measure.main_peak_rss / mb:,.0f} |"
        )
    ratio = one.words_per_second / bare.words_per_second
    speedup = two.words_per_second / one.words_per_second
    growth = big.peak_rss / two.peak_rss
    main_growth = big.main_peak_rss / two.main_peak_rss
    worker_peak = max(two.worker_peak_rss, big.worker_peak_rss)
    targets = [
        ("end to end, 1 worker / bare `nlp.pipe`", ratio, ">=", TARGET_RATIO_BARE),
        ("end to end, 2 workers / 1 worker", speedup, ">=", TARGET_SPEEDUP),
        (f"peak memory, {scale}x / 1x corpus (2 workers)", growth, "<=", TARGET_MEMORY_GROWTH),
        ("same, main process only", main_growth, "<=", TARGET_MEMORY_GROWTH),
        ("a worker's peak, MB (2 workers, 1x and 10x)", worker_peak / 1024**2, "<=", 600),
    ]
    lines += ["", "| target | measured | wanted | met |", "|---|---:|---:|---|"]
    for name, value, relation, bound in targets:
        met = value >= bound if relation == ">=" else value <= bound
        lines.append(f"| {name} | {value:.2f} | {relation} {bound} | {'yes' if met else 'NO'} |")
    lines += [
        "",
        "End-to-end words/s are over the whole command's wall-clock time (Python and Prefect "
        "start-up, model loading, ingest, NLP, extraction, Parquet commits); the flow's own "
        "clock starts when the run takes the output folder.",
    ]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scale", type=int, default=10, help="copies for the memory run")
    parser.add_argument("--limit", type=int, default=None, help="first N records (smoke runs)")
    parser.add_argument("--corpus", type=Path, default=None, help="FakeHealth folder")
    parser.add_argument("--workdir", type=Path, default=None, help="scratch folder")
    parser.add_argument(
        "--report",
        type=Path,
        default=PROJECT_DIR / "outputs" / "throughput.md",
        help="Markdown file to write (default outputs/throughput.md)",
    )
    parser.add_argument(
        "--batch-size",
        type=int,
        default=32,
        help="articles per batch, for `nlp.pipe` and the flow's tasks alike (default 32, the "
        "flow's default; the model's own default of 1000 texts at once needs 12 GB)",
    )
    parser.add_argument("--bare", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.bare:
        _bare_main(args.bare, args.batch_size)
        return
    source, workdir, env = scratch(args.corpus, args.workdir, "claims-throughput-")
    chosen = read_records(source, args.limit)  # held-out articles left out
    records = write_copies(chosen, workdir / "corpus-1x", 1)
    write_copies(chosen, workdir / "corpus-big", args.scale)
    one_x, big_x = workdir / "corpus-1x", workdir / "corpus-big"
    warm_up(workdir, env)
    measures: dict[str, Measure] = {}
    size = args.batch_size

    def flow(corpus: Path, out: str, workers: int, label: str):
        return lambda: end_to_end(corpus, workdir / out, workers, size, env, label)

    steps = [
        ("bare", lambda: bare_pipe(one_x, size, env)),
        ("one", flow(one_x, "out-1w", 1, "end to end, 1 worker")),
        ("two", flow(one_x, "out-2w", 2, "end to end, 2 workers")),
        ("big", flow(big_x, "out-big", 2, f"end to end, 2 workers, {args.scale}x corpus")),
    ]
    for key, step in steps:
        measures[key] = step()
        m = measures[key]
        print(
            f"{m.label}: {m.words:,} words in {m.seconds:,.1f} s = {m.words_per_second:,.0f} "
            f"words/s, peak {m.peak_rss / 1024**2:,.0f} MB",
            file=sys.stderr,
            flush=True,
        )
    table = report(measures, args.scale, records, args.limit, size)
    args.report.parent.mkdir(parents=True, exist_ok=True)
    args.report.write_text(table)
    print(table)
    print(f"written to {args.report} (scratch: {workdir})", file=sys.stderr)


if __name__ == "__main__":
    main()
