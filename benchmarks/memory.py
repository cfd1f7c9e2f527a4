"""Memory of `claims run` at 1x and Kx the same corpus: where it goes, and whether it grows.

    python benchmarks/memory.py [--limit 300] [--scale 5] [--workers 2] [--report FILE]

Runs `claims run` over a slice of FakeHealth (the first `--limit` records that are not
held out, `../shared/heldout-docs.txt`), then over `--scale` distinct copies of the slice
(ids and texts altered so no copy is skipped as a duplicate), each into a fresh output
folder, and samples the process tree every 0.2 s:
  - the peak of the whole tree's summed RSS (MB);
  - the high-water mark (VmHWM, exact) of each process, by role: the main process, each
    worker (process pool or Dask), the temporary Prefect server, anything else;
  - with `--tracemalloc`, the main process runs under tracemalloc and takes a snapshot at
    every commit (checkpoints and the final one): traced Python memory, RSS, pyarrow's
    pool, and the files whose allocations grew most since the first commit.
Prints a Markdown report (and writes it to `--report`) with the ratios the targets are
about: tree peak Kx / 1x (target <= 1.1), main process Kx / 1x (flat within 10%), worker
peak (<= 600 MB), tree with 2 workers (<= 2 GB). About 10 minutes with the defaults.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import psutil

from pipeline.paths import PROJECT_DIR, corpora_dir

CLAIMS = Path(sys.executable).with_name("claims")
MB = 1024 * 1024
TARGET_TREE_GROWTH = 1.10
TARGET_MAIN_GROWTH = 1.10
TARGET_WORKER_PEAK_MB = 600
TARGET_TREE_PEAK_MB = 2048


def heldout_ids() -> set[str]:
    """The article ids kept for independent evaluation (never in a benchmark corpus):
    `heldout-docs.txt` beside the corpora folder."""
    path = corpora_dir().parent / "heldout-docs.txt"
    if not path.exists():
        raise SystemExit(f"no list of held-out articles at {path}: it must be left out")
    return {
        line.strip()
        for line in path.read_text().splitlines()
        if line.strip() and not line.startswith("#")
    }


def read_records(source: Path, limit: int | None) -> list[dict]:
    """FakeHealth's records in file order, held-out articles left out, the first `limit`."""
    held = heldout_ids()
    records: list[dict] = []
    for path in sorted(source.glob("*.jsonl")):
        with path.open() as handle:
            for line in handle:
                if line.strip():
                    record = json.loads(line)
                    if record.get("news_id") not in held:
                        records.append(record)
    return records[:limit] if limit else records


def write_copies(records: list[dict], target: Path, copies: int) -> int:
    """`copies` distinct copies of `records` as one JSON Lines file; returns the count.

    Copy 0 is the records as they are; copy K alters the id ("-copyK") and appends
    "Copy K." to the text, so no copy is skipped as an unchanged or duplicate article.
    """
    target.mkdir(parents=True, exist_ok=True)
    with (target / "fakehealth.jsonl").open("w") as out:
        for copy in range(copies):
            for record in records:
                if copy and (record.get("text") or "").strip():  # empty ones stay errors
                    record = {
                        **record,
                        "news_id": f"{record['news_id']}-copy{copy}",
                        "text": f"{record.get('text') or ''}\n\nCopy {copy}.",
                    }
                out.write(json.dumps(record) + "\n")
    return len(records) * copies


def scratch(corpus: Path | None, workdir: Path | None, prefix: str) -> tuple[Path, Path, dict]:
    """FakeHealth's folder, a scratch folder, and the environment for `claims` runs in it:
    their own Prefect home, no telemetry. Exits with the reason when FakeHealth is missing."""
    source = corpus or corpora_dir() / "fakehealth"
    if not any(source.glob("*.jsonl")):
        raise SystemExit(f"no FakeHealth JSON Lines in {source} (set CLAIMS_CORPORA)")
    folder = Path(workdir or tempfile.mkdtemp(prefix=prefix))
    env = {
        **os.environ,
        "PREFECT_HOME": str(folder / "prefect"),
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "DO_NOT_TRACK": "1",
    }
    return source, folder, env


def warm_up(workdir: Path, env: dict[str, str]) -> None:
    """A tiny first run creates Prefect's database (migrations take seconds), as any
    earlier run of an analyst's would have: the measured runs do not pay for it."""
    warm = workdir / "corpus-warm-up"
    warm.mkdir(parents=True, exist_ok=True)
    (warm / "a.txt").write_text("Kratom may act on opioid receptors.\n")
    command = [str(CLAIMS), "run", str(warm), "--out", str(workdir / "out-warm-up")]
    subprocess.run([*command, "--no-progress"], env=env, check=True, capture_output=True)


def role_of(process: psutil.Process, root_pid: int) -> str:
    """main, worker, prefect server or other, from the process's command line."""
    if process.pid == root_pid:
        return "main"
    with contextlib.suppress(psutil.Error):
        command = " ".join(process.cmdline())
        if "resource_tracker" in command or "forkserver" in command:
            return "other"
        if "prefect" in command and ("server" in command or "uvicorn" in command):
            return "prefect server"
        if "spawn_main" in command or "distributed" in command:
            return "worker"
    return "other"


def high_water_mark(pid: int) -> int:
    """Peak RSS of one process so far, in bytes (Linux's VmHWM); 0 once it has gone."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


@dataclass
class ProcessPeak:
    pid: int
    role: str
    peak: int = 0  # bytes, VmHWM as last read while the process lived


@dataclass
class TreeMemory:
    """Samples a process and its descendants: the peak of their summed RSS, and each
    process's own high-water mark with its role."""

    pid: int
    every: float = 0.2
    peak: int = 0
    processes: dict[int, ProcessPeak] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.root = psutil.Process(self.pid)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def __enter__(self) -> TreeMemory:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()

    def _sample(self) -> None:
        while not self._stop.is_set():
            try:
                processes = [self.root, *self.root.children(recursive=True)]
            except psutil.NoSuchProcess:
                return
            total = 0
            for process in processes:
                with contextlib.suppress(psutil.Error):
                    total += process.memory_info().rss
                    seen = self.processes.get(process.pid)
                    if seen is None:
                        seen = self.processes[process.pid] = ProcessPeak(
                            process.pid, role_of(process, self.pid)
                        )
                    seen.peak = max(seen.peak, high_water_mark(process.pid))
            self.peak = max(self.peak, total)
            self._stop.wait(self.every)

    def by_role(self, role: str) -> list[ProcessPeak]:
        return [p for p in self.processes.values() if p.role == role and p.peak]

    def role_peak(self, role: str) -> int:
        """The largest high-water mark among the processes of `role` (bytes)."""
        return max((p.peak for p in self.by_role(role)), default=0)


@dataclass
class Measure:
    label: str
    records: int
    seconds: float
    words: int
    tree: TreeMemory
    commits: list[dict] = field(default_factory=list)  # tracemalloc snapshots, if traced

    @property
    def words_per_second(self) -> float:
        return self.words / self.seconds if self.seconds else 0.0


def run_claims(
    corpus: Path, out: Path, args: argparse.Namespace, env: dict[str, str], traced: Path
) -> tuple[float, TreeMemory]:
    """`claims run` over `corpus` into `out`, sampled; its commits probed into `traced`."""
    command = ["run", str(corpus), "--out", str(out), "--no-progress"]
    command += ["--workers", str(args.workers), "--batch-size", str(args.batch_size)]
    if args.engine != "local":
        command += ["--engine", args.engine]
    if args.recycle_after:
        command += ["--recycle-after", str(args.recycle_after)]
    probe = [sys.executable, __file__, "--probe", str(traced), str(int(args.tracemalloc))]
    command = [*probe, "--", *command]
    start = time.perf_counter()
    process = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    with TreeMemory(process.pid) as tree:
        _, stderr = process.communicate()
    seconds = time.perf_counter() - start
    if process.returncode:
        raise SystemExit(f"{' '.join(command)} failed:\n{stderr.decode()[-3000:]}")
    return seconds, tree


def probed_main(snapshots: Path, traced: bool, argv: list[str]) -> int:
    """`claims` in this process, its memory written down before and after every commit.

    Each record: the main process's RSS and high-water mark before the commit and after it
    (so what a commit itself costs shows), pyarrow's pool, and with `traced` the Python
    memory allocated since tracing began at the first commit, and the files whose
    allocations grew most since the second.
    """
    import gc
    import tracemalloc

    import pyarrow as pa

    from flows.cli import main as claims_main
    from pipeline.runs import commits

    process = psutil.Process()
    first: list[tracemalloc.Snapshot] = []
    rows: list[dict] = []

    def snap(kind: str, before: tuple[int, int]) -> None:
        row = {
            "commit": kind,
            "seconds": time.monotonic() - started,
            "rss_before_mb": before[0] / MB,
            "hwm_before_mb": before[1] / MB,
            "rss_mb": process.memory_info().rss / MB,
            "hwm_mb": high_water_mark(process.pid) / MB,
            "arrow_mb": pa.total_allocated_bytes() / MB,
        }
        if traced and not tracemalloc.is_tracing():
            # From the first commit on: imports and start-up under tracemalloc take minutes,
            # and the growth that matters is what each later batch leaves behind.
            tracemalloc.start(8)
        elif traced:
            gc.collect()
            snapshot = tracemalloc.take_snapshot().filter_traces(
                [tracemalloc.Filter(False, tracemalloc.__file__)]
            )
            if not first:
                first.append(snapshot)
            current, peak = tracemalloc.get_traced_memory()
            row["traced_mb"], row["traced_peak_mb"] = current / MB, peak / MB
            row["grew"] = [
                [str(stat.traceback[0].filename), stat.size_diff / MB, stat.size / MB]
                for stat in snapshot.compare_to(first[0], "filename")[:8]
            ]
        rows.append(row)
        snapshots.write_text(json.dumps(rows))

    def wrap(method, kind):
        def wrapped(self, *args, **kwargs):
            before = (process.memory_info().rss, high_water_mark(process.pid))
            result = method(self, *args, **kwargs)
            snap(kind, before)
            return result

        return wrapped

    commits.Commits.checkpoint = wrap(commits.Commits.checkpoint, "checkpoint")
    commits.Commits.finish = wrap(commits.Commits.finish, "final")
    started = time.monotonic()
    return claims_main(argv)


def report(measures: list[Measure], args: argparse.Namespace) -> str:
    one, big = measures[0], measures[-1]
    lines = [
        f"# Memory of `claims run` at 1x and {args.scale}x ({datetime.now(UTC):%Y-%m-%d})",
        "",
        f"Corpus: the first {one.records:,} FakeHealth records that are not held out; "
        f"{args.scale}x = {big.records:,} records (distinct copies). {args.workers} worker(s), "
        f"engine {args.engine}, batches of {args.batch_size}, checkpoints every 30 s"
        + (f", workers recycled every {args.recycle_after} batches" if args.recycle_after else "")
        + ". "
        f"Machine: {os.cpu_count()} cores, {psutil.virtual_memory().total / 1024**3:.0f} GiB, "
        f"Python {platform.python_version()}."
        + (" Main process under tracemalloc (slower)." if args.tracemalloc else ""),
        "",
        "| run | seconds | words/s | tree peak (MB) | main (MB) | workers (MB, each) "
        "| Prefect server (MB) | other (MB) |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for m in measures:
        workers = ", ".join(f"{p.peak / MB:,.0f}" for p in m.tree.by_role("worker")) or "–"
        server = sum(p.peak for p in m.tree.by_role("prefect server"))
        other = sum(p.peak for p in m.tree.by_role("other"))
        lines.append(
            f"| {m.label} | {m.seconds:,.0f} | {m.words_per_second:,.0f} | "
            f"{m.tree.peak / MB:,.0f} | {m.tree.role_peak('main') / MB:,.0f} | {workers} | "
            f"{server / MB:,.0f} | {other / MB:,.0f} |"
        )
    worker_peak = max(m.tree.role_peak("worker") for m in measures)
    targets = [
        (f"tree peak, {args.scale}x / 1x", big.tree.peak / one.tree.peak, "<=", TARGET_TREE_GROWTH),
        (
            f"main process peak, {args.scale}x / 1x",
            big.tree.role_peak("main") / one.tree.role_peak("main"),
            "<=",
            TARGET_MAIN_GROWTH,
        ),
        ("a worker's peak (MB)", worker_peak / MB, "<=", TARGET_WORKER_PEAK_MB),
        ("tree peak, 1x (MB)", one.tree.peak / MB, "<=", TARGET_TREE_PEAK_MB),
    ]
    lines += ["", "| target | measured | wanted | met |", "|---|---:|---:|---|"]
    for name, value, relation, bound in targets:
        met = "yes" if value <= bound else "NO"
        lines.append(f"| {name} | {value:,.2f} | {relation} {bound:,} | {met} |")
    for m in measures:
        if not m.commits:
            continue
        traced = any("traced_mb" in row for row in m.commits)
        lines += [
            "",
            f"## The main process at each commit, {m.label}",
            "",
            "| commit | s | RSS before (MB) | RSS after (MB) | VmHWM before (MB) "
            "| VmHWM after (MB) | pyarrow pool (MB) |"
            + (" traced since the first commit (MB) |" if traced else ""),
            "|---|---:|---:|---:|---:|---:|---:|" + ("---:|" if traced else ""),
        ]
        for row in m.commits:
            lines.append(
                f"| {row['commit']} | {row['seconds']:,.0f} | {row['rss_before_mb']:,.0f} | "
                f"{row['rss_mb']:,.0f} | {row['hwm_before_mb']:,.0f} | {row['hwm_mb']:,.0f} | "
                f"{row['arrow_mb']:,.1f} |"
                + (f" {row.get('traced_mb', 0):,.1f} |" if traced else "")
            )
        if traced:
            lines += [
                "",
                "Python allocations that grew most from the first commit to the last, by file "
                "(MB grown, MB held at the last commit):",
                "",
            ]
            for filename, grown, held in m.commits[-1]["grew"]:
                lines.append(f"- `{_short(filename)}`: {grown:+,.2f} MB ({held:,.2f} MB)")
    return "\n".join(lines) + "\n"


def _short(filename: str) -> str:
    for marker in ("site-packages/", "/main/", "lib/python3.11/"):
        if marker in filename:
            return filename.split(marker, 1)[1]
    return filename


def main() -> None:
    if len(sys.argv) > 4 and sys.argv[1] == "--probe":  # child: claims, probed
        argv = sys.argv[4:]
        argv = argv[1:] if argv[:1] == ["--"] else argv
        raise SystemExit(probed_main(Path(sys.argv[2]), sys.argv[3] == "1", argv))
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--limit", type=int, default=300, help="records in the 1x slice")
    parser.add_argument("--scale", type=int, default=5, help="copies in the larger run")
    parser.add_argument("--workers", type=int, default=2, help="worker processes (default 2)")
    parser.add_argument("--engine", choices=("local", "dask"), default="local")
    parser.add_argument("--batch-size", type=int, default=32, help="articles per batch")
    parser.add_argument(
        "--recycle-after", type=int, default=None, help="claims run --recycle-after N"
    )
    parser.add_argument(
        "--tracemalloc", action="store_true", help="snapshots of the main process per commit"
    )
    parser.add_argument("--corpus", type=Path, default=None, help="FakeHealth folder")
    parser.add_argument("--workdir", type=Path, default=None, help="scratch folder")
    parser.add_argument(
        "--report", type=Path, default=PROJECT_DIR / "outputs" / "memory.md", help="Markdown"
    )
    args = parser.parse_args()
    source, workdir, env = scratch(args.corpus, args.workdir, "claims-memory-")
    records = read_records(source, args.limit)
    warm_up(workdir, env)
    measures = []
    for copies in sorted({1, args.scale}):  # --scale 1: the 1x run only
        corpus = workdir / f"corpus-{copies}x"
        count = write_copies(records, corpus, copies)
        out = workdir / f"out-{copies}x"
        traced = workdir / f"commits-{copies}x.json"
        seconds, tree = run_claims(corpus, out, args, env, traced)
        import pandas as pd

        words = int(pd.read_parquet(out / "runs").iloc[-1]["n_words"])
        commits = json.loads(traced.read_text()) if traced.exists() else []
        measures.append(Measure(f"{copies}x", count, seconds, words, tree, commits))
        print(
            f"{copies}x: {count:,} records, {seconds:,.0f} s, tree peak "
            f"{tree.peak / MB:,.0f} MB, main {tree.role_peak('main') / MB:,.0f} MB, "
            f"worker {tree.role_peak('worker') / MB:,.0f} MB",
            file=sys.stderr,
            flush=True,
        )
    text = report(measures, args)
    args.report.parent.mkdir(parents=True, exist_ok=True)
    args.report.write_text(text)
    print(text)
    print(f"written to {args.report} (scratch: {workdir})", file=sys.stderr)


if __name__ == "__main__":
    main()
