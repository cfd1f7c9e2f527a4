"""Scheduled runs: the deployment we build, and a real Prefect server serving it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import httpx
import pandas as pd
import pytest
from conftest import SAMPLE_CORPUS, free_port, subprocess_env

from flows.cli import main
from flows.schedule import build_deployment, deployment_name, make_schedule, parse_interval

CLAIMS = str(Path(sys.executable).with_name("claims"))
PREFECT = str(Path(sys.executable).with_name("prefect"))


@pytest.mark.parametrize(
    ("text", "seconds"), [("90", 90), ("90s", 90), ("15m", 900), ("6h", 21600), ("1d", 86400)]
)
def test_parse_interval(text, seconds):
    assert parse_interval(text) == timedelta(seconds=seconds)


@pytest.mark.parametrize("text", ["", "soon", "-5", "0", "0.5s", "5 w"])
def test_parse_interval_refuses_nonsense(text):
    with pytest.raises(ValueError):
        parse_interval(text)


def test_deployment_carries_parameters_schedule_and_a_limit_of_one_run():
    parameters = {"corpus": "/data/corpus", "out": "/data/out", "workers": 2, "retries": 3}
    deployment = build_deployment(
        "nightly", parameters, make_schedule(cron="0 2 * * *", timezone="Europe/Berlin"), "skip"
    )
    assert deployment.name == "nightly"
    assert deployment.flow_name == "claims-extract"
    assert deployment.entrypoint == "flows.extract.extract_corpus"  # importable anywhere
    assert deployment.parameters == parameters
    (schedule,) = deployment.schedules
    assert schedule.schedule.cron == "0 2 * * *"
    assert schedule.schedule.timezone == "Europe/Berlin"
    assert deployment.concurrency_limit == 1
    assert deployment.concurrency_options.collision_strategy.value == "CANCEL_NEW"
    queued = build_deployment("q", parameters, make_schedule(interval=timedelta(hours=6)), "queue")
    assert queued.schedules[0].schedule.interval == timedelta(hours=6)
    assert queued.concurrency_options.collision_strategy.value == "ENQUEUE"


def test_schedule_needs_exactly_one_of_cron_and_interval():
    with pytest.raises(ValueError):
        make_schedule()
    with pytest.raises(ValueError):
        make_schedule(cron="0 2 * * *", interval=timedelta(hours=1))
    with pytest.raises(SystemExit):  # argparse: one of --cron/--interval is required
        main(["schedule", str(SAMPLE_CORPUS)])


def test_deployment_names_are_safe():
    assert deployment_name("my corpus/2026") == "my-corpus-2026"
    assert deployment_name("...") == "corpus"


def test_schedule_without_a_server_says_how_to_start_one(tmp_path, capsys):
    port = free_port()  # nothing listens there
    code = main(
        [
            "schedule",
            str(SAMPLE_CORPUS),
            "--out",
            str(tmp_path / "out"),
            "--interval",
            "60",
            "--api-url",
            f"http://127.0.0.1:{port}/api",
        ]
    )
    assert code == 2
    error = capsys.readouterr().err
    assert "no Prefect server answers" in error and "prefect server start" in error


def test_a_url_answered_by_the_ui_is_not_taken_for_the_api(monkeypatch):
    from flows.cli import _server_problem

    html = httpx.Response(200, text="<!doctype html><title>Prefect</title>")
    monkeypatch.setattr(httpx, "get", lambda url, timeout: html)
    assert "/api" in _server_problem("http://127.0.0.1:4200")
    monkeypatch.setattr(httpx, "get", lambda url, timeout: httpx.Response(200, json=True))
    assert _server_problem("http://127.0.0.1:4200/api") is None


def test_schedule_refuses_a_bad_cron_before_serving(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr("flows.cli._server_problem", lambda url: None)
    code = main(
        [
            "schedule",
            str(SAMPLE_CORPUS),
            "--out",
            str(tmp_path / "out"),
            "--cron",
            "every night",
            "--api-url",
            "http://127.0.0.1:9/api",
        ]
    )
    assert code == 2
    assert "every night" in capsys.readouterr().err


@pytest.mark.slow
def test_a_served_deployment_runs_on_schedule_on_a_real_server(
    seed_corpus, tmp_path, monkeypatch, capsys
):
    """`prefect server start` (SQLite) + `claims schedule --interval`: a run completes."""
    port = free_port()
    api = f"http://127.0.0.1:{port}/api"
    env = subprocess_env(
        tmp_path,
        PREFECT_UI_ENABLED="false",
        PREFECT_SERVER_SERVICES_SCHEDULER_LOOP_SECONDS="2",
        PREFECT_RUNNER_POLL_FREQUENCY="2",
        PREFECT_LOGGING_LEVEL="INFO",
        # as the README says: leases survive a server restart, so a slot cannot stay taken
        PREFECT_SERVER_CONCURRENCY_LEASE_STORAGE="prefect.server.concurrency.lease_storage.filesystem",
    )
    out = tmp_path / "out"
    logs = tmp_path / "logs"
    logs.mkdir()
    server = _start(
        [PREFECT, "server", "start", "--host", "127.0.0.1", "--port", str(port)],
        env,
        logs / "server.log",
    )
    serving = None
    try:
        _wait_for(lambda: _healthy(api), 180, "the Prefect server to start", logs)
        # Every 2 s, while a run (a fresh process loading the model) takes longer than that.
        command = [CLAIMS, "schedule", str(seed_corpus), "--out", str(out), "--interval", "2"]
        command += ["--name", "seeds-test", "--api-url", api]
        serving = _start(
            command,
            env,
            logs / "serve.log",
        )
        completed = _wait_for(
            lambda: _runs(api, "COMPLETED"), 240, "a scheduled run to complete", logs
        )
        run = completed[0]
        assert run["deployment_id"] and run["auto_scheduled"]
        assert run["parameters"]["out"] == str(out)

        # The run wrote the tables, and its summary is an artifact in the UI.
        runs = pd.read_parquet(out / "runs")
        assert run["id"] in set(runs["flow_run_id"])
        assert len(pd.read_parquet(out / "sentences")) == 123
        artifacts = _post(
            api, "/artifacts/filter", {"artifacts": {"key": {"any_": ["claims-run"]}}}
        )
        mine = [a for a in artifacts if a["flow_run_id"] == run["id"]]
        assert mine and mine[0]["type"] == "markdown"
        assert "| processed (new or changed) | 2 |" in mine[0]["data"]
        assert "| `mdma` |" in mine[0]["data"]

        # One run at a time: runs falling due meanwhile are cancelled, none clashes.
        _wait_for(lambda: _runs(api, "CANCELLED"), 120, "an overlapping run to be skipped", logs)
        assert not _runs(api, "FAILED") and not _runs(api, "CRASHED")

        # Another corpus under the same name is refused; the deployment keeps its job.
        other = tmp_path / "other"
        other.mkdir()

        def must_not_serve(deployment):
            raise AssertionError("a deployment serving another corpus was taken over")

        monkeypatch.setattr("flows.schedule.serve_deployment", must_not_serve)
        code = main(
            [
                "schedule",
                str(other),
                "--out",
                str(tmp_path / "o"),
                "--interval",
                "60",
                "--name",
                "seeds-test",
                "--api-url",
                api,
            ]
        )
        assert code == 2
        assert "already extracts" in capsys.readouterr().err

        deployment = _post(api, "/deployments/filter", {})[0]
        assert deployment["name"] == "seeds-test"
        assert deployment["global_concurrency_limit"]["limit"] == 1
        assert deployment["parameters"]["retries"] == 2
        assert deployment["parameters"]["corpus"] == str(seed_corpus.resolve())

        serving.send_signal(signal.SIGINT)  # Ctrl+C: stop serving, pause the schedule
        serving.wait(timeout=60)
        assert _post(api, "/deployments/filter", {})[0]["paused"] is True
    finally:
        for process in (serving, server):
            if process is not None and process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
                try:
                    process.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    os.killpg(process.pid, signal.SIGKILL)


def _start(command: list[str], env: dict, log: Path) -> subprocess.Popen:
    handle = log.open("w")
    return subprocess.Popen(
        command, env=env, stdout=handle, stderr=subprocess.STDOUT, start_new_session=True
    )


def _wait_for(check, seconds: float, what: str, logs: Path):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        result = check()
        if result:
            return result
        time.sleep(1)
    tails = "\n".join(f"--- {p.name}\n{p.read_text()[-3000:]}" for p in sorted(logs.iterdir()))
    pytest.fail(f"timed out waiting for {what}\n{tails}")


def _healthy(api: str) -> bool:
    try:
        return httpx.get(f"{api}/health", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


def _post(api: str, path: str, body: dict) -> list[dict]:
    response = httpx.post(f"{api}{path}", json=body, timeout=10)
    response.raise_for_status()
    return response.json()


def _runs(api: str, state: str) -> list[dict]:
    body = {"flow_runs": {"state": {"type": {"any_": [state]}}}}
    return _post(api, "/flow_runs/filter", body)
