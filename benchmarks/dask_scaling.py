"""Words per second of `claims run` on a Dask cluster of 1, 2 and 4 worker processes.

    python benchmarks/dask_scaling.py [--limit 300] [--copies 2] [--workers 1 2 4]

For each worker count, starts a Dask cluster the way a cluster is run (a scheduler and
single-threaded worker processes, here `distributed.LocalCluster` on this machine), and
runs `claims run --address tcp://...` over `--copies` distinct copies of a FakeHealth slice
(held-out articles left out) into a fresh output folder. Prints one Markdown table: wall
seconds of the command, words/s, the flow's own words/s (runs table), scaling efficiency
(words/s over N times the 1-worker words/s) and the peak RSS of each worker process. A
machine with C cores cannot scale past C workers: the table says how many cores it had.
"""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
import psutil
from memory import CLAIMS, MB, TreeMemory, read_records, scratch, warm_up, write_copies

from pipeline.paths import PROJECT_DIR


def run_on_cluster(
    workers: int, corpus: Path, out: Path, env: dict[str, str], batch_size: int
) -> dict:
    """`claims run --address` against a fresh local cluster of `workers` processes."""
    from distributed import LocalCluster

    with LocalCluster(
        n_workers=workers,
        threads_per_worker=1,
        processes=True,
        dashboard_address=":0",
        silence_logs=40,
    ) as cluster:
        command = [str(CLAIMS), "run", str(corpus), "--out", str(out), "--no-progress"]
        command += ["--address", cluster.scheduler_address, "--batch-size", str(batch_size)]
        start = time.perf_counter()
        process = subprocess.Popen(command, env=env, stderr=subprocess.PIPE)
        with TreeMemory(os.getpid()) as tree:  # the cluster's workers are our children
            _, stderr = process.communicate()
        seconds = time.perf_counter() - start
        if process.returncode:
            raise SystemExit(f"{' '.join(command)} failed:\n{stderr.decode()[-3000:]}")
    run = pd.read_parquet(out / "runs").iloc[-1]
    peaks = sorted(
        (p.peak for p in tree.processes.values() if p.role == "worker" and p.pid != process.pid),
        reverse=True,
    )[:workers]
    return {
        "workers": workers,
        "seconds": seconds,
        "words": int(run["n_words"]),
        "flow_seconds": float(run["seconds"]),
        "failed": int(run["n_failed"]),
        "worker_peaks": peaks,
    }


def report(rows: list[dict], args: argparse.Namespace, records: int) -> str:
    base = rows[0]["words"] / rows[0]["seconds"]
    lines = [
        f"# `claims run` on a Dask cluster of 1, 2 and 4 workers ({datetime.now(UTC):%Y-%m-%d})",
        "",
        f"Corpus: {args.copies} distinct copies of the first {args.limit:,} FakeHealth records "
        f"that are not held out ({records:,} records); batches of {args.batch_size}. Cluster: "
        "`distributed.LocalCluster`, single-threaded worker processes, reached by `--address`. "
        f"Machine: {os.cpu_count()} cores, {psutil.virtual_memory().total / 1024**3:.0f} GiB, "
        f"Python {platform.python_version()}.",
        "",
        "| workers | seconds | words/s | words/s, flow's own clock | scaling efficiency "
        "| peak RSS per worker (MB) | failed |",
        "|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for row in rows:
        rate = row["words"] / row["seconds"]
        flow = row["words"] / row["flow_seconds"]
        peaks = ", ".join(f"{peak / MB:,.0f}" for peak in row["worker_peaks"])
        lines.append(
            f"| {row['workers']} | {row['seconds']:,.0f} | {rate:,.0f} | {flow:,.0f} | "
            f"{rate / (row['workers'] * base):.2f} | {peaks} | {row['failed']} |"
        )
    lines += [
        "",
        "Words/s are over the whole command (start-up, Prefect, loading the pipeline on each "
        "worker, commits); scaling efficiency is words/s over N x the 1-worker words/s.",
    ]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--limit", type=int, default=300, help="records in the slice")
    parser.add_argument("--copies", type=int, default=2, help="copies of the slice")
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2, 4])
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--workdir", type=Path, default=None)
    parser.add_argument("--report", type=Path, default=PROJECT_DIR / "outputs" / "dask-scaling.md")
    args = parser.parse_args()
    source, workdir, env = scratch(None, args.workdir, "claims-dask-")
    os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")  # the cluster's workers inherit it
    corpus = workdir / "corpus"
    records = write_copies(read_records(source, args.limit), corpus, args.copies)
    warm_up(workdir, env)
    rows = []
    for workers in args.workers:
        row = run_on_cluster(workers, corpus, workdir / f"out-{workers}", env, args.batch_size)
        rows.append(row)
        print(
            f"{workers} worker(s): {row['words'] / row['seconds']:,.0f} words/s",
            file=sys.stderr,
            flush=True,
        )
    text = report(rows, args, records)
    args.report.parent.mkdir(parents=True, exist_ok=True)
    args.report.write_text(text)
    print(text)


if __name__ == "__main__":
    main()
