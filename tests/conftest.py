"""Shared fixtures. Prefect is pointed at a throwaway home before anything imports it."""

from __future__ import annotations

import os
import shutil
import socket
import tempfile
from pathlib import Path

import pytest

_PREFECT_HOME = tempfile.mkdtemp(prefix="claims-prefect-")
os.environ["PREFECT_HOME"] = _PREFECT_HOME
os.environ["PREFECT_SERVER_ANALYTICS_ENABLED"] = "false"
os.environ["DO_NOT_TRACK"] = "1"
os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")

PROJECT_DIR = Path(__file__).resolve().parent.parent
SAMPLE_CORPUS = PROJECT_DIR / "corpus"
KRATOM = "kratom_major_depressive_disorder.txt"
MDMA = "mdma_depression.txt"


def free_port() -> int:
    """A TCP port nothing listens on right now (for servers a test starts)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def subprocess_env(tmp_path: Path, **settings: str) -> dict[str, str]:
    """Environment for a `claims`/`prefect` subprocess: its own Prefect home, no telemetry,
    no API URL inherited from this session (so `claims run` starts its own server)."""
    env = {
        **os.environ,
        "PREFECT_HOME": str(tmp_path / "prefect"),
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "DO_NOT_TRACK": "1",
        **settings,
    }
    env.pop("PREFECT_API_URL", None)
    return env


CHROMIUM = os.environ.get("CLAIMS_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
# As root in a closed network: no sandbox, and no background calls home.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def _browser_missing() -> str | None:
    try:
        import playwright  # noqa: F401
    except ImportError:
        return "playwright is not installed (pip install -e '.[test]')"
    if not Path(CHROMIUM).exists():
        return f"Chromium not found at {CHROMIUM} (apt-get install chromium)"
    return None


@pytest.fixture(scope="module")
def browser():
    """Debian's headless Chromium through Playwright. Skips with the reason when missing,
    unless CLAIMS_REQUIRE_BROWSER=1 (set by .ci/run) makes that a failure."""
    missing = _browser_missing()
    if missing:
        if os.environ.get("CLAIMS_REQUIRE_BROWSER") == "1":
            pytest.fail(f"browser tests required but {missing}")
        pytest.skip(missing)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture(scope="session")
def prefect_server():
    """One Prefect test server for the whole session (starting one takes seconds)."""
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=180):
        yield


@pytest.fixture(scope="session")
def nlp():
    from pipeline import load

    return load()


@pytest.fixture(scope="session")
def rules_nlp():
    """The shipped pipeline with the rule extractor deciding claims (`claims_extractor`), as
    it did before the learned `claims_edges`: the rules still propose its candidates."""
    from pipeline import load

    nlp = load()
    nlp.replace_pipe("claims_edges", "claims_extractor")
    return nlp


@pytest.fixture(scope="session")
def rules_model(rules_nlp, tmp_path_factory) -> str:
    """`rules_nlp` saved as a model folder, for runs whose claims were counted by hand."""
    path = tmp_path_factory.mktemp("rules_model") / "claims_rules"
    rules_nlp.to_disk(path)
    return str(path)


@pytest.fixture
def seed_corpus(tmp_path: Path) -> Path:
    """A writable copy of the two sample articles."""
    corpus = tmp_path / "corpus"
    shutil.copytree(SAMPLE_CORPUS, corpus)
    return corpus


# An article from an untrusted source: markup in its title, text and URL must stay text.
UNTRUSTED_RECORD = {
    "id": "untrusted-1",
    "title": "<script>window.__xss = 'title'</script>MDMA & serotonin",
    "url": "javascript:window.__xss = 'url'",
    "text": "MDMA stimulates the release of serotonin <img src=x "
    "onerror=\"window.__xss = 'img'\"> in the brain.\n"
    "Some say <script>window.__xss = 'script'</script> kratom may reduce anxiety.",
}


@pytest.fixture(scope="session")
def review_tables(tmp_path_factory) -> Path:
    """A run's output folder over the two seed articles plus the untrusted one."""
    import json

    from pipeline.runs.runner import run_corpus

    root = tmp_path_factory.mktemp("review")
    corpus = root / "corpus"
    shutil.copytree(SAMPLE_CORPUS, corpus)
    (corpus / "untrusted.jsonl").write_text(json.dumps(UNTRUSTED_RECORD) + "\n")
    summary = run_corpus(corpus, root / "out")
    assert summary.processed == 3, summary
    return root / "out"


@pytest.fixture(scope="session")
def corpora() -> Path:
    from pipeline.paths import corpora_dir

    path = corpora_dir()
    if not path.is_dir():
        pytest.skip(f"shared corpora not found at {path} (set CLAIMS_CORPORA)")
    return path


def pytest_sessionfinish(session, exitstatus):
    shutil.rmtree(_PREFECT_HOME, ignore_errors=True)
