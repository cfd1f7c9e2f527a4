"""The review app in a real headless Chromium (Debian's package), driven by Playwright.

`claims review serve` runs as a subprocess, as a reviewer would start it. Without Chromium these
tests skip with the reason, unless CLAIMS_REQUIRE_BROWSER=1 (set by .ci/run) makes that a
failure, so CI cannot go green without having run them.
"""

from __future__ import annotations

import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest
from conftest import PROJECT_DIR, free_port

from pipeline.review.verdicts import VerdictStore

SCREENSHOT = PROJECT_DIR / "outputs" / "review_claim_mdma.png"
FLAGGED_SCREENSHOT = PROJECT_DIR / "outputs" / "review_claim_flagged.png"

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def serve(review_tables, tmp_path_factory) -> Iterator:
    """Start `claims review serve` on a free port; returns (base URL, verdict DB) per call.
    It serves `review_tables` unless given another folder (`tables=`)."""
    servers: list[subprocess.Popen] = []

    def start(*options: str, tables: Path | None = None) -> tuple[str, Path]:
        db = tmp_path_factory.mktemp("verdicts") / "reviews.sqlite"
        port = free_port()
        command = [
            sys.executable,
            "-m",
            "flows.cli",
            "review",
            "serve",
            "--tables",
            str(tables or review_tables),
        ]
        command += ["--db", str(db), "--port", str(port), *options]
        process = subprocess.Popen(
            command, cwd=PROJECT_DIR, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
        )
        servers.append(process)
        for line in process.stdout:  # the address line comes once the socket listens
            if line.startswith("Open http"):
                break
        else:
            pytest.fail(f"claims review did not start (exit {process.wait()})")
        return f"http://127.0.0.1:{port}", db

    yield start
    for process in servers:
        process.terminate()
        process.wait(timeout=10)


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    tab = context.new_page()
    tab.problems = []  # console errors, page errors and dialogs: none may happen
    tab.on("console", lambda m: m.type == "error" and tab.problems.append(f"console: {m.text}"))
    tab.on("pageerror", lambda e: tab.problems.append(f"page error: {e}"))

    def dialog(d):
        tab.problems.append(f"dialog: {d.message}")
        d.dismiss()

    tab.on("dialog", dialog)
    yield tab
    context.close()


def _claims(tables: Path) -> pd.DataFrame:
    return pd.read_parquet(tables / "claims")


def test_review_a_claim_by_keyboard(serve, page, review_tables):
    base, db = serve()
    page.goto(base + "/")
    page.fill("#reviewer-name", "Ada")
    page.click("form.who button")
    page.wait_for_selector("#start")  # named: the review button appears
    # review.js is deferred: until the page's load event, a filter change has no listener
    # to submit it (the test raced it on a loaded machine)
    page.wait_for_load_state()
    page.select_option("select[name=substance]", "mdma")
    page.wait_for_url("**/?substance=mdma*")
    claims = _claims(review_tables)
    mdma = claims[claims.substance_norm == "mdma"]
    assert page.inner_text("#counts").startswith(f"{len(mdma)} of {len(claims)} claims")
    shown = page.locator("#claims tbody tr").evaluate_all(
        "rows => rows.map(row => row.dataset.claimId)"
    )
    assert len(shown) == min(len(mdma), 50) and set(shown) <= set(mdma.claim_id)

    page.locator("#claims tbody td.substance a").first.click()
    page.wait_for_url("**/claims/**")
    page.wait_for_load_state()  # review.js is loaded: keys work from here
    claim_url = page.url
    claim_id = page.get_attribute("#claim", "data-claim-id")
    assert claims.set_index("claim_id").loc[claim_id].substance_norm == "mdma"
    page.keyboard.press("i")
    assert page.is_visible("#reasons")
    page.keyboard.press("3")  # wrong target
    page.keyboard.press("Enter")
    page.wait_for_selector("#saved")  # the next unjudged claim came up by itself
    page.wait_for_load_state()
    assert page.get_attribute("#claim", "data-claim-id") != claim_id

    page.goto(claim_url)
    page.reload()
    page.wait_for_load_state()
    assert "incorrect" in page.inner_text("#my-verdict")
    assert "wrong target" in page.inner_text("#my-verdict")
    assert page.is_checked("input[name=reason][value=wrong_target]")
    [verdict] = VerdictStore(db).history(claim_id)
    assert (verdict.reviewer, verdict.verdict, verdict.reasons) == (
        "Ada",
        "incorrect",
        ("wrong_target",),
    )

    page.keyboard.press("c")  # change of mind, by keyboard too; the history keeps both
    page.wait_for_selector("#saved")
    page.wait_for_load_state()
    assert [v.verdict for v in VerdictStore(db).history(claim_id)] == ["incorrect", "correct"]
    page.keyboard.press("p")  # back to the claim just judged, the one before in the list
    page.wait_for_url(lambda url: "saved=" not in url)
    assert page.get_attribute("#claim", "data-claim-id") == claim_id
    assert "correct" in page.inner_text("#my-verdict")
    assert page.problems == []


def test_untrusted_article_runs_no_script(serve, page, review_tables):
    base, _ = serve()
    claims = _claims(review_tables)
    untrusted = claims.loc[claims["source"].str.endswith("#untrusted-1")]
    page.goto(f"{base}/?doc={untrusted.doc_id.iloc[0]}")
    assert page.locator("#claims tbody tr").count() == len(untrusted)
    shown = []
    for claim_id in untrusted.claim_id:
        page.goto(f"{base}/claims/{claim_id}")
        page.wait_for_load_state("load")
        assert page.evaluate("window.__xss") is None
        assert page.locator("img").count() == 0
        title = page.inner_text("#doc-title")
        assert title == "<script>window.__xss = 'title'</script>MDMA & serotonin"
        shown.append(page.inner_text("#context"))
    assert any("<img src=x onerror=" in text for text in shown)  # shown as text, not run
    assert page.problems == []


def test_claim_view_screenshot_of_an_mdma_claim(serve, page, review_tables):
    base, _ = serve()
    claims = _claims(review_tables)
    claim = claims.loc[
        (claims.substance_norm == "mdma")
        & (claims.target_norm == "serotonin")
        & claims.effect.str.startswith("alleviate", na=False)
        & claims.sentence.str.startswith("By increasing serotonin levels, MDMA may help")
    ].iloc[0]
    page.goto(base + "/")
    page.fill("#reviewer-name", "Ada")
    page.click("form.who button")
    page.goto(f"{base}/claims/{claim.claim_id}?substance=mdma")
    marked = {
        role: page.locator(f"#sentence .hl-{role}").all_inner_texts()
        for role in ("substance", "target", "effect", "hedge")
    }
    assert marked == {
        "substance": ["MDMA"],
        "target": ["serotonin"],
        "effect": ["alleviate some symptoms of depression"],
        "hedge": ["may"],
    }
    labels = page.locator("#sentence .tag").all_inner_texts()
    assert [label.lower() for label in labels] == [
        "target",
        "substance",
        "hedge · epistemic",
        "effect",
    ]
    colours = page.evaluate(
        """() => ['substance', 'target', 'effect', 'hedge', 'negation'].map(role =>
            getComputedStyle(document.querySelector('.legend .tag-' + role)).backgroundColor)"""
    )
    assert len(set(colours)) == 5  # a distinct colour per role
    page.keyboard.press("i")  # show the reasons a reviewer picks from
    SCREENSHOT.parent.mkdir(exist_ok=True)
    page.screenshot(path=str(SCREENSHOT), full_page=True)
    assert SCREENSHOT.stat().st_size > 20_000
    assert page.problems == []


def test_token_is_required_when_set(serve, page):
    base, _ = serve("--token", "s3cret-token")
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(base + "/", timeout=10)
    assert refused.value.code == 401
    response = page.goto(base + "/")
    assert response.status == 401
    assert "Access token required" in page.inner_text("h1")
    page.goto(base + "/?token=s3cret-token")
    assert page.url == base + "/"  # swapped for a cookie, gone from the address bar
    assert page.locator("#claims").count() == 1
    page.goto(base + "/summary")
    assert "How precise is the extractor?" in page.inner_text("h1")


def _contested_ids(tables_dir: Path) -> set[str]:
    """Claims whose (substance, effect) or (substance, target) summary row is contested."""
    from pipeline.storage import tables

    claims = tables.frame(tables_dir, "claims")
    summary = tables.frame(tables_dir, "claim_summary")
    contested = summary.loc[summary["contested"].fillna(False).astype(bool)]
    ids: set[str] = set()
    for level, column in (("effect", "effect_norm"), ("target", "target_norm")):
        keys = contested.loc[contested["level"] == level, ["substance", level]]
        ids |= set(
            claims.merge(keys, left_on=["substance_norm", column], right_on=["substance", level])[
                "claim_id"
            ]
        )
    return ids


def test_contested_and_flagged_filters_and_the_flag_on_a_claim(serve, page, hand_tables):
    base, _ = serve(tables=hand_tables)
    claims = _claims(hand_tables)
    expected = _contested_ids(hand_tables)
    assert 0 < len(expected) < len(claims)
    page.goto(base + "/")
    page.wait_for_load_state()  # review.js submits the filters on change once loaded
    page.select_option("select[name=contested]", "yes")
    page.wait_for_url("**/?*contested=yes*")
    assert page.inner_text("#counts").startswith(f"{len(expected)} of {len(claims)} claims")
    assert page.inner_text("#count-contested") == str(len(expected))
    rows = page.locator("#claims tbody tr")
    shown = rows.evaluate_all("rows => rows.map(row => row.dataset.claimId)")
    assert set(shown) == expected
    for index in range(rows.count()):  # every row listed carries the contested badge
        assert rows.nth(index).locator(".badge-contested").count() == 1
    # A second filter narrows within the first: the flagged among the contested.
    page.wait_for_load_state()
    page.select_option("select[name=flagged]", "yes")
    page.wait_for_url("**flagged=yes*")
    flagged = claims.loc[claims.claim_id.isin(expected) & claims.causal_from_observational]
    assert page.inner_text("#counts").startswith(f"{len(flagged)} of {len(claims)} claims")
    assert page.locator("#claims tbody tr .badge-flag").count() == len(flagged) == 2

    # The claim page of a flagged claim: strength, the flag with its explanation, designs,
    # preliminary and who says it, each in its own field.
    page.locator("#claims tbody tr", has_text="MDMA").locator("td.substance a").click()
    page.wait_for_url("**/claims/**")
    page.wait_for_load_state()
    assert page.inner_text("#strength-badge") == "direct causal"
    flag = page.locator("#flag-badge")
    assert flag.is_visible() and "causal from observational" in flag.inner_text()
    assert "observational" in flag.get_attribute("title")
    assert page.is_visible("#contested-badge")
    assert page.inner_text("#study-design") == "observational"
    assert page.inner_text("#preliminary").startswith("yes")
    assert page.inner_text("#attribution") == "researchers researcher"
    assert page.inner_text("#attribution-class") == "researcher"
    assert page.locator("#agreement tbody tr").count() == 2  # effect and target rows
    # The flag badge stands out: a colour of its own beside the certainty badge.
    colours = page.evaluate(
        """() => ['#flag-badge', '#strength-badge', '.triple .badge-asserted'].map(selector =>
            getComputedStyle(document.querySelector(selector)).backgroundColor)"""
    )
    assert len(set(colours)) == 3
    FLAGGED_SCREENSHOT.parent.mkdir(exist_ok=True)
    page.screenshot(path=str(FLAGGED_SCREENSHOT), full_page=True)
    assert page.problems == []


def test_the_list_shows_snippets_sources_and_filters_that_default_to_all(
    serve, page, review_tables
):
    base, _ = serve()
    page.goto(base + "/")
    page.wait_for_load_state()
    # Every filter reads "all" until the reviewer picks a value; the order, reading order.
    shown = page.eval_on_selector_all(
        "#filters select",
        "selects => selects.map(s => [s.name, s.options[s.selectedIndex].text])",
    )
    assert {name: text for name, text in shown if name != "sort"} == {
        name: "all" for name, _ in shown if name != "sort"
    }
    assert dict(shown)["sort"].startswith("reading order")
    claims = _claims(review_tables).set_index("claim_id")
    rows = page.locator("#claims tbody tr")
    assert rows.count() == min(len(claims), 50)
    for index in range(rows.count()):
        row = rows.nth(index)
        claim = claims.loc[row.get_attribute("data-claim-id")]
        snippet = row.locator("td.snippet")
        assert snippet.is_visible()
        text = snippet.inner_text().strip("…")
        assert text and text in claim.sentence
        if "+subject" not in claim.rule:  # the sentence names the substance: marked
            assert snippet.locator(".hl-substance").first.inner_text() == claim.substance
        document = row.locator("td.doc").inner_text()
        assert not document.startswith("/") and "/tmp" not in document
        assert Path(claim.source).name in document
    # The source of the untrusted record: its title, then the file and record, relative.
    untrusted = page.locator("#claims tbody tr", has_text="untrusted.jsonl#untrusted-1")
    assert untrusted.count() >= 1
    assert "MDMA & serotonin" in untrusted.first.locator(".doc-title").inner_text()
    assert page.problems == []


def test_the_claim_header_shows_the_resolved_substance_and_idle_cues_look_apart(
    serve, page, review_tables
):
    base, _ = serve()
    claims = _claims(review_tables)
    resolved = claims.loc[claims.substance.str.lower() != claims.substance_norm].iloc[0]
    page.goto(f"{base}/claims/{resolved.claim_id}")
    header = page.locator("h1.triple")
    assert header.locator("#substance-written").inner_text() == resolved.substance
    assert header.locator("#substance-resolved").inner_text() == f"→ {resolved.substance_norm}"
    assert header.locator("#substance-resolved").is_visible()
    assert page.locator("#doc-source").inner_text() == Path(resolved.source).name

    # An asserted claim in a sentence with a cue that governs something else.
    cues = pd.read_parquet(review_tables / "cues")
    idle = None
    for claim in claims.loc[claims.certainty == "asserted"].itertuples():
        named = set(claim.hedge_cues) | set(claim.negation_cues)
        if (~cues.loc[cues.sentence_id == claim.sentence_id, "cue"].isin(named)).any():
            idle = claim
            break
    assert idle is not None
    page.goto(f"{base}/claims/{idle.claim_id}")
    assert page.locator("#sentence .hl-cue-other").count() >= 1
    assert page.locator("#sentence .hl-hedge, #sentence .hl-negation").count() == 0
    assert "not this claim" in page.locator("#sentence .tag-cue-other").first.inner_text().lower()
    looks = page.evaluate(
        """() => ['.legend .tag-cue-other', '.legend .tag-hedge', '.legend .tag-negation'].map(
            s => getComputedStyle(document.querySelector(s)).backgroundColor)"""
    )
    assert len(set(looks)) == 3
    assert page.problems == []


def test_the_least_confident_queue_in_the_browser(serve, page, review_tables):
    base, _ = serve()
    claims = _claims(review_tables)
    page.goto(base + "/")
    page.fill("#reviewer-name", "Ada")
    page.click("form.who button")
    page.wait_for_selector("#least-confident")
    page.click("#least-confident")
    page.wait_for_url("**/claims/**")
    page.wait_for_load_state()
    first = page.get_attribute("#claim", "data-claim-id")
    assert claims.set_index("claim_id").loc[first, "confidence"] == claims.confidence.min()
    page.keyboard.press("c")
    page.wait_for_selector("#saved")
    page.wait_for_load_state()
    second = page.get_attribute("#claim", "data-claim-id")
    ranked = claims.sort_values("confidence", kind="stable")
    later = ranked.loc[ranked.claim_id != first, "confidence"].min()
    assert claims.set_index("claim_id").loc[second, "confidence"] == later
    assert "sort=confidence" in page.url
    assert page.problems == []
