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


def open_report(browser, path: Path, width: int = 1200):
    """A new page showing the HTML file at `path`, with what went wrong recorded from the
    start: `page.problems` (console errors and warnings, page errors) and `page.requests`
    (every URL it fetched; a self-contained report fetches only itself)."""
    page = browser.new_page(viewport={"width": width, "height": 900})
    page.problems, page.requests = [], []
    page.on(
        "console",
        lambda m: (
            page.problems.append(f"{m.type}: {m.text}") if m.type in ("error", "warning") else None
        ),
    )
    page.on("pageerror", lambda e: page.problems.append(f"page error: {e}"))
    page.on("request", lambda r: page.requests.append(r.url))
    page.goto(path.as_uri())
    return page


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


# Four short articles on three sites, built by hand (no model) so that some claims are
# certainly flagged causal_from_observational and some (substance, effect) and
# (substance, target) rows certainly contested. Per claim: the sentence it is in, the words
# of its substance, target and effect (norms after "="), and the epistemics the pipeline
# would have given it.
#   kratom -> pain: d1 asserts it from a cohort study (flagged), d2 denies it: contested.
#   kratom -> anxiety: d1 hedges, d3 links it to harm, d4 asserts a benefit: contested.
#   mdma -> serotonin (target): d3 asserts it (flagged, with an effect), d4 denies: contested.
#   kratom -> opioid receptors, caffeine -> alertness, mitragynine -> opioid receptors: one
#   article each, not contested.
HAND_ARTICLES = [
    {
        "name": "d1",
        "title": "Kratom eases pain, cohort finds",
        "url": "https://www.health-a.com/kratom-pain",
        "sentences": [
            "Kratom relieves chronic pain, a cohort study of 2,000 users found.",
            "Kratom may reduce anxiety.",
        ],
        "claims": [
            dict(
                sentence=0,
                substance="Kratom",
                effect="chronic pain=pain",
                mechanism="relieves",
                polarity="benefit",
                strength="direct_causal",
                designs=["observational"],
                flagged=True,
            ),
            dict(
                sentence=1,
                substance="Kratom",
                effect="anxiety",
                mechanism="reduce",
                polarity="benefit",
                hedge="may",
                strength="conditional_causal",
            ),
        ],
    },
    {
        "name": "d2",
        "title": "Trial: kratom no better than placebo",
        "url": "http://news-b.org/kratom-trial",
        "sentences": [
            "Kratom did not reduce chronic pain in a randomised trial.",
            "Kratom binds to opioid receptors.",
        ],
        "claims": [
            dict(
                sentence=0,
                substance="Kratom",
                effect="chronic pain=pain",
                mechanism="reduce",
                polarity="benefit",
                negation="not",
                strength="direct_causal",
                designs=["trial"],
            ),
            dict(
                sentence=1,
                substance="Kratom",
                target="opioid receptors",
                mechanism="binds",
                strength="none",
            ),
        ],
    },
    {
        "name": "d3",
        "title": "Kratom and anxiety",
        "url": "https://health-a.com/kratom-anxiety",
        "sentences": [
            "Kratom use was linked to anxiety in a survey of users.",
            "MDMA increases serotonin release, which improves mood, researchers reported in an "
            "early cohort study.",
        ],
        "claims": [
            dict(
                sentence=0,
                substance="Kratom",
                effect="anxiety",
                mechanism="linked",
                polarity="harm",
                strength="correlational",
                designs=["observational"],
            ),
            dict(
                sentence=1,
                substance="MDMA",
                target="serotonin",
                effect="mood",
                mechanism="increases release",
                polarity="benefit",
                strength="direct_causal",
                designs=["observational"],
                flagged=True,
                preliminary=True,
                attribution=("researchers", "researcher"),
            ),
        ],
    },
    {
        "name": "d4",
        "title": "What users say",
        "url": None,
        "sentences": [
            "Kratom reduces anxiety, users say.",
            "MDMA does not increase serotonin levels.",
            "Caffeine improves alertness.",
            "Mitragynine activates opioid receptors.",
        ],
        "claims": [
            dict(
                sentence=0,
                substance="Kratom",
                effect="anxiety",
                mechanism="reduces",
                polarity="benefit",
                strength="direct_causal",
                designs=["anecdote"],
                attribution=("users", "lay"),
            ),
            dict(
                sentence=1,
                substance="MDMA",
                target="serotonin",
                mechanism="increase",
                negation="not",
                strength="direct_causal",
            ),
            dict(
                sentence=2,
                substance="Caffeine",
                effect="alertness",
                mechanism="improves",
                polarity="benefit",
                strength="direct_causal",
            ),
            dict(
                sentence=3,
                substance="Mitragynine",
                target="opioid receptors",
                mechanism="activates",
                strength="direct_causal",
            ),
        ],
    },
]


def build_hand_tables(out: Path, articles: list[dict] = HAND_ARTICLES) -> Path:
    """Publish `articles` (see HAND_ARTICLES) as a run's output folder, through the store
    with `claim_summary` derived as a run derives it. Returns `out`."""
    import hashlib
    import json
    from datetime import UTC, datetime

    from pipeline.storage.claim_summary import summarise_snapshot
    from pipeline.storage.schemas import SCHEMA_VERSION, TABLES, to_table
    from pipeline.storage.store import TableStore

    run_id = "20260101T000000Z-hand00"
    version = "hand-built"
    now = datetime(2026, 1, 1, tzinfo=UTC)

    def digest(*parts: object) -> str:
        return hashlib.sha256("\x1f".join(map(str, parts)).encode()).hexdigest()[:16]

    def row(table: str, **values: object) -> dict:
        return {name: None for name in TABLES[table].names} | values

    rows: dict[str, list[dict]] = {"documents": [], "sentences": [], "claims": [], "cues": []}
    for article in articles:
        text = "\n".join([article["title"], *article["sentences"]])
        doc_id = hashlib.sha256(text.encode()).hexdigest()[:16]
        source = f"/hand/{article['name']}.txt"
        starts, offset = [], len(article["title"]) + 1
        for index, sentence in enumerate(article["sentences"]):
            starts.append(offset)
            rows["sentences"].append(
                row(
                    "sentences",
                    sentence_id=f"{doc_id}:{index + 1}",
                    doc_id=doc_id,
                    index=index + 1,
                    paragraph=index + 1,
                    is_heading=False,
                    kind="prose",
                    text=sentence,
                    start_char=offset,
                    end_char=offset + len(sentence),
                )
            )
            offset += len(sentence) + 1
        rows["sentences"].append(
            row(
                "sentences",
                sentence_id=f"{doc_id}:0",
                doc_id=doc_id,
                index=0,
                paragraph=0,
                is_heading=True,
                kind="heading",
                text=article["title"],
                start_char=0,
                end_char=len(article["title"]),
            )
        )
        rows["documents"].append(
            row(
                "documents",
                doc_id=doc_id,
                source=source,
                format="txt",
                encoding="utf-8",
                title=article["title"],
                url=article["url"],
                text=text,
                n_chars=len(text),
                n_words=len(text.split()),
                n_sentences=len(article["sentences"]) + 1,
                pipeline_version=version,
                run_id=run_id,
                processed_at=now,
                repairs=[],
            )
        )
        for spec in article["claims"]:
            index = spec["sentence"]
            sentence = article["sentences"][index]
            start = starts[index]
            sentence_id = f"{doc_id}:{index + 1}"

            def span(words: str | None, sentence: str = sentence, start: int = start) -> tuple:
                if words is None:
                    return None, None, None, None
                written, _, norm = words.partition("=")
                at = start + sentence.index(written)
                return written, (norm or written).lower(), at, at + len(written)

            substance, substance_norm, s_start, s_end = span(spec["substance"])
            target, target_norm, t_start, t_end = span(spec.get("target"))
            effect, effect_norm, e_start, e_end = span(spec.get("effect"))
            hedge, negation = spec.get("hedge"), spec.get("negation")
            for kind, cue in (("hedge", hedge), ("negation", negation)):
                if cue is None:
                    continue
                at = start + sentence.index(f" {cue} ") + 1
                rows["cues"].append(
                    row(
                        "cues",
                        cue_id=digest(doc_id, kind, at),
                        doc_id=doc_id,
                        sentence_id=sentence_id,
                        kind=kind,
                        cue=cue,
                        type="epistemic" if kind == "hedge" else "negation",
                        cue_start=at,
                        cue_end=at + len(cue),
                        scope=text[at : start + len(sentence) - 1],
                        scope_start=at,
                        scope_end=start + len(sentence) - 1,
                        source="lexicon",
                    )
                )
            who, who_class = spec.get("attribution", (None, None))
            rows["claims"].append(
                row(
                    "claims",
                    claim_id=digest(doc_id, s_start, t_start, e_start),
                    doc_id=doc_id,
                    source=source,
                    sentence_id=sentence_id,
                    sentence=sentence,
                    sentence_start=start,
                    sentence_end=start + len(sentence),
                    substance=substance,
                    substance_norm=substance_norm,
                    substance_start=s_start,
                    substance_end=s_end,
                    mechanism=spec.get("mechanism"),
                    target=target,
                    target_norm=target_norm,
                    target_start=t_start,
                    target_end=t_end,
                    effect=effect,
                    effect_norm=effect_norm,
                    effect_start=e_start,
                    effect_end=e_end,
                    polarity=spec.get("polarity"),
                    hedged=hedge is not None,
                    negated=negation is not None,
                    certainty="hedged" if hedge else "negated" if negation else "asserted",
                    hedge_cues=[hedge] if hedge else [],
                    hedge_types=["epistemic"] if hedge else [],
                    negation_cues=[negation] if negation else [],
                    study_design=spec.get("designs", []),
                    preliminary=spec.get("preliminary", False),
                    attribution=who,
                    attribution_class=who_class,
                    strength=spec["strength"],
                    causal_from_observational=spec.get("flagged", False),
                    rule="svo",
                    template=False,
                    pipeline_version=version,
                )
            )
    n_words = sum(d["n_words"] for d in rows["documents"])
    run = row(
        "runs",
        run_id=run_id,
        started_at=now,
        finished_at=now,
        corpus="/hand",
        parameters=json.dumps({}),
        pipeline_version=version,
        schema_version=SCHEMA_VERSION,
        status="completed",
        n_seen=len(articles),
        n_processed=len(articles),
        n_skipped=0,
        n_failed=0,
        n_sentences=len(rows["sentences"]),
        n_words=n_words,
        seconds=1.0,
        words_per_second=float(n_words),
    )
    added = {name: [to_table(name, table_rows)] for name, table_rows in rows.items()}
    added["runs"] = [to_table("runs", [run])]
    TableStore(out).commit(
        added,
        derive={"claim_summary": lambda staged, before: summarise_snapshot(staged, before, run_id)},
    )
    return out


@pytest.fixture(scope="session")
def hand_tables(tmp_path_factory) -> Path:
    """An output folder of HAND_ARTICLES: flagged and contested claims for certain."""
    return build_hand_tables(tmp_path_factory.mktemp("hand") / "out")


@pytest.fixture(scope="session")
def corpora() -> Path:
    from pipeline.paths import corpora_dir

    path = corpora_dir()
    if not path.is_dir():
        pytest.skip(f"shared corpora not found at {path} (set CLAIMS_CORPORA)")
    return path


def pytest_sessionfinish(session, exitstatus):
    shutil.rmtree(_PREFECT_HOME, ignore_errors=True)
