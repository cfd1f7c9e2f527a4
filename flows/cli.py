"""The `claims` command.

claims run corpus/ --out outputs          # extract new and changed articles
claims schedule corpus/ --out outputs --cron "0 2 * * *"   # serve it on a Prefect server
claims evaluate claims --gold gold/ --tables outputs  # score the claims against a gold
claims evaluate hedges                          # held-out figures of the hedge detector
claims evaluate strength                        # claim strength: Yu et al. CV and news figures
claims review serve --tables outputs            # audit claims in the browser, record verdicts
claims review export --tables outputs           # verdicts -> the `reviews` Parquet table
claims report --tables outputs                  # rebuild outputs/report.html from the tables

`claims evaluate-strength` is `claims evaluate strength`.
The spellings of the previous release (`claims evaluate --gold`, `evaluate-hedges`,
`claims review --tables`, `export-reviews`) still work, with a note, for one release.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import secrets
import signal
import sys
import threading
import time
from pathlib import Path
from urllib.parse import quote

from pipeline.ingest import DEFAULT_EXCLUDE, DEFAULT_MAX_CHARS
from pipeline.storage.store import StoreBusy

TOKEN_ENV = "CLAIMS_REVIEW_TOKEN"


def _positive(value: str) -> int:
    number = int(value)
    if number < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {number}")
    return number


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="claims", description="Claim extraction for health articles."
    )
    commands = parser.add_subparsers(dest="command", required=True)

    run = commands.add_parser(
        "run",
        help="extract a corpus into Parquet tables",
        description="Run the extraction flow over CORPUS (a folder or file of .txt, .md, "
        ".html or .jsonl articles). Only new and changed articles are processed.",
    )
    _run_options(run)
    progress = run.add_mutually_exclusive_group()
    progress.add_argument(
        "--progress",
        dest="progress",
        action="store_true",
        default=None,
        help="show a progress bar (default: when stderr is a terminal)",
    )
    progress.add_argument(
        "--no-progress",
        dest="progress",
        action="store_false",
        help="no progress bar, e.g. in cron jobs and logs (default: when stderr is not a terminal)",
    )
    run.add_argument("--verbose", action="store_true", help="show Prefect's logs")

    schedule = commands.add_parser(
        "schedule",
        help="serve the extraction of a corpus as a scheduled Prefect deployment",
        description="Register a deployment of the extraction flow for CORPUS and --out on a "
        "Prefect server ($PREFECT_API_URL, or --api-url; start one with `prefect server "
        "start`) and serve it: every due run is executed by this process, reported to the "
        "server (UI: runs, logs, a summary artifact per run). Runs only process new and "
        "changed articles. Ctrl+C stops serving and pauses the schedule.",
    )
    _run_options(schedule)
    when = schedule.add_mutually_exclusive_group(required=True)
    when.add_argument("--cron", default=None, help='cron expression, e.g. "0 2 * * *"')
    when.add_argument("--interval", default=None, help="run every N seconds (or 15m, 6h, 1d)")
    schedule.add_argument(
        "--timezone", default=None, help="IANA time zone of the cron expression (default UTC)"
    )
    schedule.add_argument(
        "--name", default=None, help="deployment name (default: the corpus folder's name)"
    )
    schedule.add_argument(
        "--overlap",
        choices=["skip", "queue"],
        default="skip",
        help="a run that falls due while the previous one still runs is skipped, or waits "
        "(default skip; one run at a time either way, as a run holds its output folder)",
    )
    schedule.add_argument(
        "--api-url",
        default=None,
        help="Prefect server API, e.g. http://127.0.0.1:4200/api (default: $PREFECT_API_URL "
        "or the active Prefect profile)",
    )

    evaluations = commands.add_parser(
        "evaluate", help="score the claims of a run, or the hedge detector, against gold"
    ).add_subparsers(dest="target", required=True)
    evaluate = evaluations.add_parser(
        "claims",
        help="score a run's claims against a gold standard",
        description="Score the claims table of a run's output folder against gold edges "
        "(JSON Lines, see the gold guideline): precision, recall and F1 overall, per role "
        "and per document, and hedge, negation and polarity accuracy.",
    )
    evaluate.add_argument(
        "--gold",
        type=Path,
        action="append",
        required=True,
        metavar="PATH",
        help="gold .jsonl file, or folder of them (repeatable)",
    )
    evaluate.add_argument(
        "--tables", type=Path, required=True, metavar="DIR", help="a run's output folder"
    )
    evaluate.add_argument(
        "--report", type=Path, default=None, metavar="FILE", help="also write every figure as JSON"
    )
    evaluate.add_argument(
        "--show",
        type=int,
        default=20,
        metavar="N",
        help="misses and false positives to list (default 20)",
    )
    hedges = evaluations.add_parser(
        "hedges",
        help="held-out figures of the hedge and negation detector",
        description="Score the shipped pipeline's hedge and negation detector on the held-out "
        "documents of Szeged Uncertainty (bio, Wikipedia) and BioScope (split by document, "
        "fixed seed) and on the *SEM 2012 test set: uncertain-sentence P/R/F1 (CoNLL-2010 "
        "task 1), cue F1, scope token F1. Reads the corpora from $CLAIMS_CORPORA or "
        "../shared/corpora.",
    )
    hedges.add_argument("--model", default=None, help="pipeline directory (default: shipped)")
    hedges.add_argument("--corpora", type=Path, default=None, help="corpora folder")
    hedges.add_argument(
        "--split", choices=["test", "dev"], default="test", help="default: test (held out)"
    )
    hedges.add_argument(
        "--limit", type=_positive, default=None, help="at most N sentences per corpus"
    )
    hedges.add_argument("--report", type=Path, default=None, metavar="FILE", help="JSON figures")

    strength = evaluations.add_parser(
        "strength",
        help="figures of the claim strength classifier (Yu et al.'s four values)",
        description="Macro-F1 and accuracy of the claim strength classifier: 5-fold "
        "cross-validation of its features on Yu et al.'s 3,061 PubMed conclusion sentences "
        "(beside their published BioBERT figure), the shipped weights on all of them (never "
        "trained on them), and the shipped weights on our 100 doubly annotated FakeHealth "
        "news sentences (never trained on). Reads the corpora from $CLAIMS_CORPORA or "
        "../shared/corpora; needs scikit-learn (pip install 'health-claims[train]').",
    )
    strength.add_argument("--model", default=None, help="pipeline directory (default: shipped)")
    strength.add_argument("--corpora", type=Path, default=None, help="corpora folder")
    strength.add_argument(
        "--folds", type=_positive, default=5, help="cross-validation folds (default: 5)"
    )
    strength.add_argument(
        "--limit",
        type=_positive,
        default=None,
        help="about N of Yu's sentences (every k-th), for a quick check (default: all)",
    )
    strength.add_argument(
        "--report", type=Path, default=None, metavar="FILE", help="also write the figures as JSON"
    )

    reviews = commands.add_parser(
        "review", help="audit the extracted claims (the web app), export the verdicts"
    ).add_subparsers(dest="action", required=True)
    review = reviews.add_parser(
        "serve",
        help="audit the extracted claims in a local web app",
        description="Serve the review app for a run's output folder: claims with filters, each "
        "shown in its sentence and paragraph with its roles and cues highlighted, verdicts by "
        "keyboard (kept in SQLite across re-runs), and precision figures. Binds to 127.0.0.1; "
        "bound to another address it requires an access token (one is made up and printed "
        "when none is given).",
    )
    _tables_and_db(review)
    review.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    review.add_argument(
        "--port", type=int, default=8765, help="port (default 8765; 0 picks a free one)"
    )
    review.add_argument(
        "--token",
        default=None,
        help=f"access token every request must carry (default: ${TOKEN_ENV}; required, and "
        "generated when missing, unless bound to a loopback address)",
    )

    export = reviews.add_parser(
        "export",
        help="write the reviewers' verdicts as the `reviews` Parquet table",
        description="Write every verdict of the review database (the append-only history, "
        "with the latest verdict of each reviewer flagged) as the `reviews` table of the "
        "output folder, beside the claims it judges; --out writes one Parquet file instead.",
    )
    _tables_and_db(export)
    export.add_argument(
        "--out", type=Path, default=None, metavar="FILE", help="write this Parquet file instead"
    )
    report = commands.add_parser(
        "report",
        help="rebuild the HTML run report from a run's tables",
        description="Write the self-contained HTML report of the latest run (counts, claims "
        "per substance and how hedged, top targets and effects, a substance -> target -> "
        "effect diagram, failures) from the tables of an output folder. `claims run` writes "
        "it at the end of every run; this rebuilds it, e.g. after the report failed.",
    )
    _tables_option(report)
    report.add_argument(
        "--out",
        type=Path,
        default=None,
        metavar="FILE",
        help="where to write it (default: DIR/report.html)",
    )
    return parser


def _run_options(command: argparse.ArgumentParser) -> None:
    """What `claims run` and `claims schedule` share: the corpus, the tables, the engine."""
    command.add_argument("corpus", type=Path, help="folder or file to read")
    command.add_argument(
        "--out",
        type=Path,
        default=Path("outputs"),
        metavar="DIR",
        help="output folder: the tables and report.html (default: outputs)",
    )
    command.add_argument(
        "--batch-size", type=_positive, default=32, help="articles per task (default 32)"
    )
    command.add_argument(
        "--workers", type=_positive, default=1, help="parallel worker processes (default 1)"
    )
    command.add_argument(
        "--model",
        default=None,
        help="spaCy pipeline directory or config (default: the shipped one)",
    )
    command.add_argument(
        "--max-chars",
        type=_positive,
        default=DEFAULT_MAX_CHARS,
        help="longest article accepted, in characters (default %(default)s)",
    )
    command.add_argument(
        "--exclude",
        action="append",
        default=None,
        metavar="GLOB",
        help="file names to skip (repeatable; default: " + " ".join(DEFAULT_EXCLUDE) + ")",
    )
    command.add_argument(
        "--commit-interval",
        type=float,
        default=30.0,
        help="seconds between checkpoints of finished batches (default 30)",
    )
    for name in ("id", "title", "text", "url", "date"):
        command.add_argument(
            f"--jsonl-{name}-field",
            default=None,
            metavar="KEY",
            help=f"JSON Lines key holding the {name} (default: auto)",
        )
    command.add_argument(
        "--jsonl-format",
        choices=["auto", "txt", "md", "html"],
        default=None,
        help="how to read the JSON Lines text field (default: auto)",
    )
    command.add_argument(
        "--engine",
        choices=["local", "dask"],
        default=None,
        help="where batches run: local threads/processes, or Dask (default: local, or dask "
        "when --address is given)",
    )
    command.add_argument(
        "--address",
        default=None,
        metavar="tcp://HOST:PORT",
        help="scheduler of an existing Dask cluster (default with --engine dask: start a "
        "local cluster of --workers processes)",
    )
    command.add_argument(
        "--recycle-after",
        type=_positive,
        default=None,
        metavar="BATCHES",
        help="replace each local worker process (--workers 2 or more) by a fresh one after "
        "this many batches, bounding the memory a long run's workers accumulate; each "
        "replacement loads the pipeline again (seconds). Dask workers: `dask worker "
        "--lifetime` (default: never)",
    )
    command.add_argument(
        "--retries",
        type=int,
        default=2,
        help="times a failing batch is tried again before its articles count as failed (default 2)",
    )
    command.add_argument(
        "--retry-delay",
        type=float,
        default=2.0,
        metavar="SECONDS",
        help="wait before the first retry; each next one waits twice as long (default 2)",
    )


def _tables_option(command: argparse.ArgumentParser) -> None:
    command.add_argument(
        "--tables",
        type=Path,
        default=Path("outputs"),
        metavar="DIR",
        help="a run's output folder (default: outputs)",
    )


def _tables_and_db(command: argparse.ArgumentParser) -> None:
    _tables_option(command)
    command.add_argument(
        "--db",
        type=Path,
        default=None,
        metavar="FILE",
        help="verdict database (default: DIR/reviews.sqlite)",
    )


# Spellings of the previous release, kept for one more: old words -> the new ones.
_OLD_SPELLINGS = {
    ("evaluate-hedges",): ("evaluate", "hedges"),
    ("export-reviews",): ("review", "export"),
    ("evaluate",): ("evaluate", "claims"),
    ("review",): ("review", "serve"),
}
# Other spellings that stay: `claims evaluate-strength` (the name for it).
_ALIASES = {"evaluate-strength": ("evaluate", "strength")}
_VERBS = {"evaluate": {"claims", "hedges", "strength"}, "review": {"serve", "export"}}


def _modern(argv: list[str]) -> list[str]:
    """argv with an old spelling (`claims export-reviews`, `claims evaluate --gold ...`)
    rewritten to the grouped verbs, saying so on stderr."""
    if not argv:
        return argv
    first, rest = argv[0], argv[1:]
    if first in _ALIASES:
        return [*_ALIASES[first], *rest]
    if first in _VERBS and rest and (rest[0] in _VERBS[first] or rest[0] in {"-h", "--help"}):
        return argv
    new = _OLD_SPELLINGS.get((first,))
    if new is None:
        return argv
    print(
        f"claims: `claims {first}` is now `claims {' '.join(new)}`; the old spelling goes "
        "in the next release",
        file=sys.stderr,
    )
    return [*new, *rest]


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    args = build_parser().parse_args(_modern(argv))
    handlers = {
        ("run", None): _run,
        ("schedule", None): _schedule,
        ("evaluate", "claims"): _evaluate,
        ("evaluate", "hedges"): _evaluate_hedges,
        ("evaluate", "strength"): _evaluate_strength,
        ("review", "serve"): _review,
        ("review", "export"): _export_reviews,
        ("report", None): _report,
    }
    verb = getattr(args, "target", None) or getattr(args, "action", None)
    return handlers[(args.command, verb)](args)


def _run(args: argparse.Namespace) -> int:
    if not args.corpus.exists():
        print(f"claims: corpus not found: {args.corpus}", file=sys.stderr)
        return 2
    if not args.verbose:
        os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")
        # Dask's scheduler and nannies log every worker and client at INFO.
        os.environ.setdefault("DASK_LOGGING__DISTRIBUTED", "warning")
    # The ephemeral server's telemetry service races the run for its SQLite file and logs
    # "database is locked" tracebacks; an ad-hoc run has no use for it.
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "90")
    from flows.extract import (  # after logging is set
        EngineUnavailable,
        PipelineUnavailable,
        extract_corpus,
    )

    parameters = _flow_parameters(args)
    if isinstance(parameters, str):
        print(f"claims: {parameters}", file=sys.stderr)
        return 2
    problem = _scheduler_problem(parameters["address"]) if parameters["address"] else None
    if problem:
        print(f"claims: no Dask scheduler at {parameters['address']}: {problem}", file=sys.stderr)
        return 2
    show_progress = sys.stderr.isatty() if args.progress is None else args.progress
    if parameters["engine"] == "dask" or parameters["workers"] > 1:
        print("the workers load the pipeline ...", file=sys.stderr, flush=True)
    elif not _load_pipeline(parameters["model"]):  # one worker: this process
        return 1
    with _exit_on_sigterm():
        state = extract_corpus(**parameters, show_progress=show_progress, return_state=True)
    summary = state.result(raise_on_failure=False)  # a failed run still has its summary
    if isinstance(summary, StoreBusy | EngineUnavailable):
        print(f"claims: {summary}", file=sys.stderr)
        return 2
    if isinstance(summary, PipelineUnavailable):
        print(f"claims: {summary}", file=sys.stderr)
        return 1
    if isinstance(summary, BaseException):
        raise summary
    print_summary(summary)
    return 1 if summary["status"] == "failed" else 0


def _load_pipeline(model: str | None) -> bool:
    """Load the pipeline before the run starts, saying so: it takes seconds, and a bar
    standing at 0 meanwhile looks like a hang. The run reuses it (cached per process)."""
    from pipeline.nlp.loader import default_model_path
    from pipeline.runs.runner import get_pipeline

    where = model or default_model_path()
    print(f"loading the pipeline from {where} ...", file=sys.stderr, flush=True)
    started = time.monotonic()
    try:
        nlp = get_pipeline(model)
    except Exception as error:  # a broken or missing model: say so before any run starts
        print(f"claims: cannot load the pipeline from {where}: {error}", file=sys.stderr)
        return False
    print(
        f"pipeline {nlp.meta['claims_pipeline_version']} loaded in "
        f"{time.monotonic() - started:.1f} s",
        file=sys.stderr,
        flush=True,
    )
    return True


@contextlib.contextmanager
def _exit_on_sigterm():
    """SIGTERM exits through Python while this block runs.

    Then the temporary Prefect server and a local Dask cluster are shut down instead of
    being left behind as orphans; the tables stay as the last commit left them.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(128 + signum))
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _flow_parameters(args: argparse.Namespace) -> dict | str:
    """The flow's parameters from the command line, or what is wrong with them."""
    if args.retries < 0:
        return f"--retries must be 0 or more, got {args.retries}"
    if args.retry_delay < 0:
        return f"--retry-delay must be 0 or more, got {args.retry_delay}"
    model = args.model
    if model is not None:
        if not Path(model).exists():
            return f"no spaCy pipeline at {model} (a model folder or a config.cfg)"
        model = str(Path(model).resolve())  # workers and served runs start elsewhere
    engine = args.engine or ("dask" if args.address else "local")
    if args.address and engine != "dask":
        return "--address is the scheduler of a Dask cluster: it needs --engine dask"
    if args.recycle_after and (engine == "dask" or args.workers < 2):
        return (
            "--recycle-after replaces local worker processes: it needs --workers 2 or more "
            "(one worker runs in this process; Dask workers recycle with `dask worker "
            "--lifetime`)"
        )
    if model is None and engine == "dask":
        from pipeline.nlp.loader import default_model_path

        # Name the model for the workers: left to them, each would pick its own default.
        model = str(default_model_path().resolve())
    fields = {
        name: getattr(args, f"jsonl_{name}_field")
        for name in ("id", "title", "text", "url", "date")
        if getattr(args, f"jsonl_{name}_field")
    }
    if args.jsonl_format:
        fields["format"] = args.jsonl_format
    return {
        "corpus": str(args.corpus),
        "out": str(args.out),
        "batch_size": args.batch_size,
        "workers": args.workers,
        "engine": engine,
        "address": args.address,
        "retries": args.retries,
        "retry_delay": args.retry_delay,
        "model": model,
        "max_chars": args.max_chars,
        "commit_interval": args.commit_interval,
        "recycle_after": args.recycle_after,
        "jsonl_fields": fields or None,
        "exclude": args.exclude,
    }


def _schedule(args: argparse.Namespace) -> int:
    if not args.corpus.exists():
        print(f"claims: corpus not found: {args.corpus}", file=sys.stderr)
        return 2
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    from prefect.settings import PREFECT_API_URL, get_current_settings, temporary_settings

    api_url = args.api_url or get_current_settings().api.url
    if not api_url:
        print(
            "claims: no Prefect server configured. Start one with `prefect server start`, "
            "then pass --api-url http://127.0.0.1:4200/api or set PREFECT_API_URL "
            "(README: Scheduled runs)",
            file=sys.stderr,
        )
        return 2
    problem = _server_problem(api_url)
    if problem:
        print(
            f"claims: no Prefect server answers at {api_url} ({problem}); start one "
            "with `prefect server start` (README: Scheduled runs)",
            file=sys.stderr,
        )
        return 2

    from flows.schedule import (
        build_deployment,
        deployment_name,
        make_schedule,
        parse_interval,
        serve_deployment,
    )

    # A served run starts in another process, from another folder maybe: absolute paths.
    args.corpus = args.corpus.resolve()
    args.out = args.out.resolve()
    parameters = _flow_parameters(args)
    if isinstance(parameters, str):
        print(f"claims: {parameters}", file=sys.stderr)
        return 2
    if parameters["address"] and (problem := _scheduler_problem(parameters["address"])):
        print(
            f"claims: warning: no Dask scheduler answers at {parameters['address']} now "
            f"({problem}); runs will fail until it does",
            file=sys.stderr,
        )
    try:
        interval = parse_interval(args.interval) if args.interval else None
        schedule = make_schedule(args.cron, interval, args.timezone)
        name = args.name or deployment_name(args.corpus.name)
        deployment = build_deployment(name, parameters, schedule, args.overlap)
    except ValueError as error:
        print(f"claims: {error}", file=sys.stderr)
        return 2
    with temporary_settings(updates={PREFECT_API_URL: api_url}):
        taken = _deployment_taken(name, parameters)
    if taken:
        print(f"claims: {taken}", file=sys.stderr)
        return 2
    print(f"Serving claims-extract/{name}: {args.corpus} -> {args.out}", flush=True)
    print(f"Prefect server: {api_url}   (Ctrl+C stops serving and pauses the schedule)", flush=True)
    os.environ["PREFECT_API_URL"] = api_url  # the run subprocesses report there too
    with temporary_settings(updates={PREFECT_API_URL: api_url}):
        serve_deployment(deployment)
    return 0


def _scheduler_problem(address: str) -> str | None:
    """Why the Dask scheduler at `address` cannot be reached (checked before the run starts)."""
    import socket
    from urllib.parse import urlsplit

    parts = urlsplit(address if "://" in address else f"tcp://{address}")
    if parts.scheme not in ("tcp", "tls"):
        return None  # other transports (ucx, inproc) are left to Dask itself
    try:
        port = parts.port
    except ValueError:
        port = None
    if not parts.hostname or port is None:
        return "expected tcp://HOST:PORT"
    try:
        socket.create_connection((parts.hostname, port), timeout=5).close()
    except OSError as error:
        return error.strerror or type(error).__name__
    return None


def _server_problem(api_url: str) -> str | None:
    """Why the Prefect API at `api_url` cannot be used, or None when it answers."""
    import httpx

    try:
        response = httpx.get(api_url.rstrip("/") + "/health", timeout=10)
    except httpx.HTTPError as error:
        return type(error).__name__
    try:
        healthy = response.status_code == 200 and response.json() is True
    except ValueError:  # the UI answers every path with its HTML page
        healthy = False
    if not healthy:
        return f"HTTP {response.status_code}, not Prefect's API: does the URL end in /api?"
    return None


def _deployment_taken(name: str, parameters: dict) -> str | None:
    """Why `name` cannot be used: a deployment of that name serves another corpus or folder."""
    from prefect.client.orchestration import get_client
    from prefect.exceptions import ObjectNotFound

    with get_client(sync_client=True) as client:
        try:
            existing = client.read_deployment_by_name(f"claims-extract/{name}")
        except ObjectNotFound:
            return None
    theirs = (existing.parameters.get("corpus"), existing.parameters.get("out"))
    if theirs == (parameters["corpus"], parameters["out"]):
        return None  # the same job scheduled again: its settings are updated
    return (
        f"the deployment claims-extract/{name} already extracts {theirs[0]} into {theirs[1]}; "
        "pass --name to schedule this corpus and folder under another name"
    )


def _evaluate(args: argparse.Namespace) -> int:
    from pipeline.evaluation.evaluate import evaluate, format_report
    from pipeline.storage.tables import TablesError

    if args.show < 0:
        print(f"claims: --show must be at least 0, got {args.show}", file=sys.stderr)
        return 2
    try:
        evaluation = evaluate(args.gold, args.tables)
    except (ValueError, OSError, TablesError) as error:
        print(f"claims: {error}", file=sys.stderr)
        return 2
    for warning in evaluation.warnings():
        print(f"claims: warning: {warning}", file=sys.stderr)
    print(format_report(evaluation, args.show), end="")
    if args.report:
        try:
            args.report.write_text(json.dumps(evaluation.to_json(), indent=2) + "\n")
        except OSError as error:
            print(f"claims: cannot write {args.report}: {error.strerror}", file=sys.stderr)
            return 2
    return 0


def _evaluate_hedges(args: argparse.Namespace) -> int:
    from pipeline import load
    from pipeline.evaluation.hedge_corpora import CorpusMissing
    from pipeline.evaluation.hedge_eval import evaluate_detector, format_report

    nlp = load(args.model)
    try:
        alone, shipped = evaluate_detector(nlp, args.split, args.corpora, args.limit)
    except (CorpusMissing, ValueError) as error:
        print(f"claims: {error}", file=sys.stderr)
        return 2
    where = "held-out test documents" if args.split == "test" else "dev documents"
    print(format_report(alone, f"Hedge and negation detector, trained model alone ({where})"))
    print()
    print(format_report(shipped, f"As shipped: model + phrase lexicon ({where})"))
    if args.report:
        figures = {"split": args.split, "model": alone.to_json(), "shipped": shipped.to_json()}
        args.report.parent.mkdir(parents=True, exist_ok=True)
        args.report.write_text(json.dumps(figures, indent=2) + "\n")
    return 0


def _evaluate_strength(args: argparse.Namespace) -> int:
    from pipeline import load
    from pipeline.evaluation.strength import evaluate_strength, format_report

    try:
        import sklearn  # noqa: F401
    except ImportError:
        print(
            "claims: evaluate strength needs scikit-learn: pip install 'health-claims[train]'",
            file=sys.stderr,
        )
        return 2
    nlp = load(args.model)
    try:
        figures = evaluate_strength(nlp, args.corpora, folds=args.folds, limit=args.limit)
    except (FileNotFoundError, ValueError) as error:
        print(f"claims: {error}", file=sys.stderr)
        return 2
    print(format_report(figures))
    if args.report:
        args.report.parent.mkdir(parents=True, exist_ok=True)
        args.report.write_text(json.dumps(_plain(figures), indent=2) + "\n")
    return 0


def _plain(value: object) -> object:
    """Figures as JSON: confusion counters keyed by (gold, predicted) become nested dicts."""
    if isinstance(value, dict):
        if value and all(isinstance(k, tuple) for k in value):
            nested: dict = {}
            for (gold, predicted), n in value.items():
                nested.setdefault(gold, {})[predicted] = n
            return nested
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def _review(args: argparse.Namespace) -> int:
    import socket

    import uvicorn

    from pipeline.review.app import create_app, is_loopback

    token = args.token or os.environ.get(TOKEN_ENV) or None
    if not is_loopback(args.host) and not token:
        token = secrets.token_urlsafe(24)
    try:
        family = socket.AF_INET6 if ":" in args.host else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((args.host, args.port))
        sock.listen(128)  # connections wait in the backlog until the server accepts them
    except OSError as error:
        print(
            f"claims: cannot listen on {args.host}:{args.port}: {error.strerror}"
            + (" (pass --port with another number, or 0)" if error.errno == 98 else ""),
            file=sys.stderr,
        )
        return 2
    port = sock.getsockname()[1]
    app = create_app(args.tables, db_path=args.db, token=token, bind_host=args.host)
    settings = app.state.settings
    shown_host = f"[{args.host}]" if ":" in args.host else args.host
    address = f"http://{shown_host}:{port}/" + (f"?token={quote(token)}" if token else "")
    print(f"Reviewing the claims in {settings.tables_dir}", flush=True)
    print(f"Verdicts are kept in {settings.db_path}", flush=True)
    print(f"Open {address}   (Ctrl+C to stop)", flush=True)
    config = uvicorn.Config(app, log_level="warning", access_log=False, lifespan="off")
    uvicorn.Server(config).run(sockets=[sock])
    return 0


def _export_reviews(args: argparse.Namespace) -> int:
    from pipeline.review.export import NothingToExport, export_reviews
    from pipeline.review.verdicts import VerdictError

    try:
        table, where = export_reviews(args.tables, db=args.db, out=args.out)
    except (NothingToExport, VerdictError, StoreBusy, RuntimeError) as error:
        print(f"claims: {error}", file=sys.stderr)
        return 2
    latest = sum(table.column("is_latest").to_pylist())
    print(f"{table.num_rows} verdicts ({latest} latest per reviewer and claim) written to {where}")
    return 0


def _report(args: argparse.Namespace) -> int:
    from pipeline.reports.html_report import write_report
    from pipeline.storage.tables import TablesError

    try:
        path = write_report(args.tables, path=args.out)
    except TablesError as error:
        print(f"claims: {error}", file=sys.stderr)
        return 2
    print(f"report written to {path}")
    return 0


def _count(number: int, noun: str) -> str:
    return f"{number:,} {noun}" + ("" if number == 1 else "s")


def _held(out_dir: str) -> str:
    """What the tables of `out_dir` hold, for a run that added nothing to them."""
    import warnings

    from pipeline.storage import tables

    try:
        with warnings.catch_warnings():  # the report names older articles; not this line
            warnings.simplefilter("ignore")
            pinned = tables.snapshot(out_dir, ["documents", "claims"])
        articles = pinned.read("documents", ["doc_id"]).num_rows
        claims = pinned.read("claims", ["claim_id"]).num_rows
    except tables.TablesError as error:
        return f"the tables cannot be read ({error})"
    return (
        f"every source read was already in the tables, which hold "
        f"{_count(articles, 'article')} and {_count(claims, 'claim')} from earlier runs"
    )


def print_summary(summary: dict) -> None:
    """The end-of-run table an analyst reads."""
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"Run {summary['run_id']}", show_header=False, title_justify="left")
    table.add_column(style="bold")
    table.add_column(justify="right")
    known = summary.get("known_failed", 0)
    failed = f"{summary['failed']:,}"
    if known:
        failed += f" ({known:,} known from earlier runs)"
    rows = [
        ("documents seen", f"{summary['seen']:,}"),
        ("processed", f"{summary['processed']:,}"),
        ("skipped: unchanged", f"{summary['skipped'] - summary.get('duplicates', 0):,}"),
        ("skipped: duplicate of another source", f"{summary.get('duplicates', 0):,}"),
        ("failed", failed),
        ("sentences", f"{summary['sentences']:,}"),
        ("claims written", f"{summary['claims']:,}"),
        ("new claims", f"{summary['new_claims']:,}"),
        ("words", f"{summary['words']:,}"),
        ("time", f"{summary['seconds']:.1f} s"),
        ("words per second", f"{summary['words_per_second']:,.0f}"),
        ("pipeline", summary["pipeline_version"]),
    ]
    for label, value in rows:
        table.add_row(label, value)
    console = Console()
    console.print(table)
    new_failures = summary["failed"] - known
    if new_failures:
        kinds = ", ".join(f"{k}: {v}" for k, v in sorted(summary["errors_by_type"].items()))
        console.print(
            f"[yellow]{_count(new_failures, 'new failure')}[/] (all failures of this run by "
            f"kind: {kinds})"
        )
    elif known:
        console.print(
            f"{_count(known, 'source')} failed as in earlier runs (unchanged); no new failures"
        )
    if summary["status"] == "failed":
        console.print("[red]Nothing could be processed.[/]")
    elif summary["processed"] == 0:
        console.print(f"Nothing new: {_held(summary['out_dir'])}")
    # Paths on lines of their own, never wrapped or cut by a narrow terminal or a pipe.
    print(f"tables: {summary['out_dir']}")
    if summary["failed"]:
        print(f"errors: {summary['out_dir']}/errors")
    print(f"report: {summary['report'] or 'not written (see the log)'}")


if __name__ == "__main__":
    sys.exit(main())
