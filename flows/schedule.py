"""Serve the extraction flow as a scheduled deployment on a Prefect server.

`claims schedule` builds one deployment per corpus and output folder and serves it from
this process: the Prefect server keeps the schedule and the run history (the UI shows
both, and each run's summary artifact), and this process starts each due run in a
subprocess. At most one run per deployment is active at a time, since a run holds its
output folder; a run that falls due while the previous one is still going is skipped
(`overlap="skip"`) or waits for it (`overlap="queue"`).
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

from prefect.client.schemas.objects import ConcurrencyLimitConfig, ConcurrencyLimitStrategy
from prefect.deployments.runner import RunnerDeployment
from prefect.schedules import Cron, Interval, Schedule
from prefect.types.entrypoint import EntrypointType

from flows.extract import extract_corpus

OVERLAP = {"skip": ConcurrencyLimitStrategy.CANCEL_NEW, "queue": ConcurrencyLimitStrategy.ENQUEUE}
_INTERVAL = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhd]?)\s*$")
_UNIT_SECONDS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_interval(text: str) -> timedelta:
    """'90', '90s', '15m', '6h' or '1d' as a timedelta; at least one second."""
    match = _INTERVAL.match(text)
    if not match:
        raise ValueError(f"not an interval: {text!r} (use seconds, or 15m, 6h, 1d)")
    seconds = float(match.group(1)) * _UNIT_SECONDS[match.group(2)]
    if seconds < 1:
        raise ValueError(f"interval must be at least one second, got {text!r}")
    return timedelta(seconds=seconds)


def make_schedule(
    cron: str | None = None, interval: timedelta | None = None, timezone: str | None = None
) -> Schedule:
    """A cron or interval schedule (exactly one of them)."""
    if (cron is None) == (interval is None):
        raise ValueError("give either a cron expression or an interval")
    if cron is not None:
        return Cron(cron, timezone=timezone)
    return Interval(interval, timezone=timezone)


def deployment_name(text: str) -> str:
    """A deployment name from a folder name: letters, digits, dots, dashes, underscores."""
    name = re.sub(r"[^A-Za-z0-9._-]+", "-", text).strip("-.")
    return name or "corpus"


def build_deployment(
    name: str,
    parameters: dict[str, Any],
    schedule: Schedule,
    overlap: str = "skip",
) -> RunnerDeployment:
    """The deployment of `extract_corpus` with these parameters on this schedule.

    The entrypoint is the module path, so runs start from the installed package wherever
    the serving process was started.
    """
    if overlap not in OVERLAP:
        raise ValueError(f"overlap must be one of {', '.join(OVERLAP)}, got {overlap!r}")
    return extract_corpus.to_deployment(
        name=name,
        schedules=[schedule],
        parameters=parameters,
        concurrency_limit=ConcurrencyLimitConfig(limit=1, collision_strategy=OVERLAP[overlap]),
        tags=["claims"],
        description=(
            f"Extract the new and changed articles of {parameters['corpus']} into the "
            f"Parquet tables in {parameters['out']}."
        ),
        entrypoint_type=EntrypointType.MODULE_PATH,
    )


def serve_deployment(deployment: RunnerDeployment) -> None:
    """Serve until interrupted; the schedule is paused when this process stops.

    No limit on this process: a limit here would hold due runs back as Scheduled (then
    Late), and the deployment's own limit of one run would never get to skip them.
    """
    from prefect import serve

    serve(deployment, pause_on_shutdown=True)
