"""The review app over real tables, through Starlette's test client (no browser).

The browser tests (test_review_browser.py) drive the same app in Chromium; these check what
a browser cannot show directly: the HTML as sent, refusals, headers, and the verdicts kept.
"""

from __future__ import annotations

import base64
import re
import shutil
from html import escape, unescape
from pathlib import Path

import pandas as pd
import pytest
from starlette.testclient import TestClient

from flows.cli import main
from pipeline.review.app import COOKIE_CSRF, COOKIE_REVIEWER, create_app
from pipeline.review.data import Mark, segments
from pipeline.review.verdicts import VerdictStore

BASE = "http://127.0.0.1:8765"


def _client(tables: Path, db: Path, **options) -> TestClient:
    return TestClient(create_app(tables, db_path=db, **options), base_url=BASE)


def _reviewer(client: TestClient, name: str) -> None:
    client.cookies.set(COOKIE_REVIEWER, base64.urlsafe_b64encode(name.encode()).decode())


def _csrf(client: TestClient) -> str:
    client.get("/")
    return client.cookies[COOKIE_CSRF]


def _claims(tables: Path) -> pd.DataFrame:
    return pd.read_parquet(tables / "claims")


def _mdma_serotonin(tables: Path) -> pd.Series:
    claims = _claims(tables)
    rows = claims.loc[
        (claims["substance_norm"] == "mdma")
        & (claims["target_norm"] == "serotonin")
        & claims["sentence"].str.startswith("Upon ingestion, MDMA stimulates")
    ]
    assert len(rows) == 1, rows
    return rows.iloc[0]


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return tmp_path / "reviews.sqlite"


def test_list_filters_and_counts(review_tables, db):
    client = _client(review_tables, db)
    claims = _claims(review_tables)
    page = client.get("/")
    assert page.status_code == 200
    assert f"<strong>{len(claims)}</strong> of {len(claims)} claims" in page.text
    assert ">nan<" not in page.text  # missing targets and effects show as blanks
    mdma = client.get("/", params={"substance": "mdma", "certainty": "asserted"})
    expected = claims[(claims.substance_norm == "mdma") & (claims.certainty == "asserted")]
    assert f"<strong>{len(expected)}</strong> of {len(claims)} claims" in mdma.text
    shown = re.findall(r'<tr data-claim-id="([0-9a-f]{16})"', mdma.text)
    assert len(shown) == min(len(expected), 50) and set(shown) <= set(expected.claim_id)
    # Facet counts: the substance select counts MDMA claims among asserted ones.
    assert f">mdma ({len(expected)})</option>" in mdma.text


def test_claim_view_highlights_roles_and_cues(review_tables, db):
    client = _client(review_tables, db)
    claim = _mdma_serotonin(review_tables)
    page = client.get(f"/claims/{claim.claim_id}")
    assert page.status_code == 200
    sentence = re.search(r'<p class="sentence" id="sentence">(.*?)</p>', page.text, re.S).group(1)
    assert '<span class="tag tag-substance">substance</span>' in sentence
    assert '<span class="hl hl-substance">MDMA</span>' in sentence
    assert (
        '<span class="tag tag-target">target</span><span class="hl hl-target">serotonin</span>'
        in (sentence)
    )
    # The paragraph around it, the document, and the rule that produced it.
    assert "Serotonin is widely known to play a critical role" in page.text
    assert "mdma_depression.txt" in page.text
    assert f'<code id="rule">{escape(claim.rule)}</code>' in page.text  # "learned&lt;svo"


def test_hedge_cue_and_scope_are_marked(review_tables, db):
    client = _client(review_tables, db)
    claims = _claims(review_tables)
    hedged = claims.loc[claims["hedge_cues"].map(lambda cues: "may" in list(cues))].iloc[0]
    page = client.get(f"/claims/{hedged.claim_id}").text
    sentence = re.search(r'<p class="sentence" id="sentence">(.*?)</p>', page, re.S).group(1)
    assert re.search(
        r'tag-hedge">hedge · \w+</span><span class="hl hl-hedge[^"]*">may</span>', sentence
    )
    assert "hl-scope" in sentence


def test_segments_split_overlapping_marks():
    marks = [Mark("effect", 10, 20, "effect"), Mark("substance", 15, 18, "substance")]
    pieces = segments("0123456789abcdefghijKLM", 0, marks)
    assert [(p.text, p.roles) for p in pieces] == [
        ("0123456789", []),
        ("abcde", ["effect"]),
        ("fgh", ["effect", "substance"]),
        ("ij", ["effect"]),
        ("KLM", []),
    ]
    assert [m.role for m in pieces[1].opens] == ["effect"]


def test_untrusted_article_is_escaped(review_tables, db):
    client = _client(review_tables, db)
    claims = _claims(review_tables)
    untrusted = claims.loc[claims["source"].str.endswith("#untrusted-1")]
    assert len(untrusted) >= 1
    listing = client.get("/", params={"doc": untrusted.doc_id.iloc[0]}).text
    for claim_id in untrusted.claim_id:
        page = client.get(f"/claims/{claim_id}").text
        for html in (page, listing):
            assert "<script>window" not in html
            assert "<img" not in html
            assert 'href="javascript:' not in html
        assert (
            "&lt;script&gt;window.__xss = &#39;title&#39;&lt;/script&gt;MDMA &amp; serotonin"
            in page
        )
        if "<img" in untrusted.set_index("claim_id").loc[claim_id, "sentence"]:
            assert "&lt;img src=x onerror=&#34;window.__xss = &#39;img&#39;&#34;&gt;" in page
        assert 'id="source-link"' not in page  # a javascript: URL is shown as nothing


def test_security_headers(review_tables, db):
    response = _client(review_tables, db).get("/")
    assert "script-src 'self'" in response.headers["content-security-policy"]
    assert "unsafe-inline" not in response.headers["content-security-policy"]
    assert response.headers["x-frame-options"] == "DENY"
    assert response.headers["referrer-policy"] == "same-origin"


def test_verdict_needs_csrf_and_same_origin(review_tables, db):
    client = _client(review_tables, db)
    _reviewer(client, "Ada")
    claim = _mdma_serotonin(review_tables)
    url = f"/claims/{claim.claim_id}/verdict"
    csrf = _csrf(client)
    assert client.post(url, data={"verdict": "correct"}).status_code == 403
    assert client.post(url, data={"verdict": "correct", "csrf": "forged"}).status_code == 403
    cross = client.post(
        url,
        data={"verdict": "correct", "csrf": csrf},
        headers={"origin": "http://evil.example"},
    )
    assert cross.status_code == 403
    assert VerdictStore(db).history(claim.claim_id) == []
    ok = client.post(url, data={"verdict": "correct", "csrf": csrf}, follow_redirects=False)
    assert ok.status_code == 303
    assert [v.verdict for v in VerdictStore(db).history(claim.claim_id)] == ["correct"]


def test_verdict_flow_moves_to_the_next_unjudged_claim(review_tables, db):
    client = _client(review_tables, db)
    claims = _claims(review_tables)
    csrf = _csrf(client)
    claim = _mdma_serotonin(review_tables)
    url = f"/claims/{claim.claim_id}/verdict"
    anonymous = client.post(url, data={"verdict": "correct", "csrf": csrf})
    assert anonymous.status_code == 400 and "Enter your name" in anonymous.text
    _reviewer(client, "Ada")
    no_reason = client.post(url, data={"verdict": "incorrect", "csrf": csrf})
    assert no_reason.status_code == 400
    form = {
        "verdict": "incorrect",
        "reason": ["wrong_target", "hedging_wrong"],
        "comment": "the target is <b>release</b>",
        "csrf": csrf,
        "substance": "mdma",
    }
    answer = client.post(url, data=form, follow_redirects=False)
    assert answer.status_code == 303
    following = re.match(r"/claims/([0-9a-f]{16})\?(.*)", answer.headers["location"])
    assert following and following.group(1) != claim.claim_id
    assert "substance=mdma" in following.group(2) and f"saved={claim.claim_id}" in following.group(
        2
    )
    next_claim = claims.set_index("claim_id").loc[following.group(1)]
    assert next_claim.substance_norm == "mdma"
    page = client.get(f"/claims/{claim.claim_id}").text
    assert 'id="my-verdict"' in page and "wrong target" in page and "hedging wrong" in page
    assert "the target is &lt;b&gt;release&lt;/b&gt;" in page
    [verdict] = VerdictStore(db).history(claim.claim_id)
    assert verdict.reviewer == "Ada" and verdict.reasons == ("wrong_target", "hedging_wrong")
    assert verdict.sentence == claim.sentence and verdict.rule == claim.rule


def test_verdicts_survive_a_rerun_of_the_pipeline(review_tables, db, tmp_path):
    client = _client(review_tables, db)
    _reviewer(client, "Ada")
    csrf = _csrf(client)
    claim = _mdma_serotonin(review_tables)
    client.post(f"/claims/{claim.claim_id}/verdict", data={"verdict": "correct", "csrf": csrf})
    # A full re-run into a fresh folder: the same articles give the same claim ids.
    from pipeline.runs.runner import run_corpus

    corpus = tmp_path / "corpus"
    corpus.mkdir()
    shutil.copy(Path(claim.source), corpus / Path(claim.source).name)
    run_corpus(corpus, tmp_path / "rerun")
    again = _client(tmp_path / "rerun", db)
    _reviewer(again, "Ada")
    page = again.get(f"/claims/{claim.claim_id}").text
    assert 'id="my-verdict"' in page and "badge-correct" in page


def test_summary_gives_precision_and_agreement(review_tables, db):
    claims = _claims(review_tables).head(4).to_dict("records")
    store = VerdictStore(db)
    for claim in claims:
        store.record(claim, "Ada", "correct")
    store.record(claims[0], "Grace", "correct")
    store.record(claims[1], "Grace", "incorrect", ["wrong_effect"])
    page = _client(review_tables, db).get("/summary").text
    assert re.search(r'id="overall">83\.3%<', page)  # 5 of 6 judgments correct
    agreement = re.search(r'<table class="figures" id="agreement">(.*?)</table>', page, re.S)
    row = re.sub(r">\s+<", "><", agreement.group(1))
    assert "<td>Ada · Grace</td><td>2</td><td>1</td><td>50.0%</td><td>0.00</td>" in row  # κ 0
    reasons = re.search(r'id="reasons">(.*?)</table>', page, re.S).group(1)
    assert "<td>wrong effect</td><td>1</td>" in reasons


def test_access_token_guards_every_route(review_tables, db):
    client = _client(review_tables, db, token="s3cret")
    for path in ("/", "/summary", "/static/review.js", f"/claims/{'0' * 16}"):
        assert client.get(path).status_code == 401, path
    assert client.get("/", headers={"authorization": "Bearer wrong"}).status_code == 401
    assert client.get("/", headers={"authorization": "Bearer s3cret"}).status_code == 200
    swap = client.get("/summary?token=s3cret", follow_redirects=False)
    assert swap.status_code == 303 and swap.headers["location"] == "/summary"
    assert client.get("/summary").status_code == 200  # the cookie carries it from now on


def test_foreign_host_header_is_refused_on_loopback(review_tables, db):
    client = _client(review_tables, db)
    assert client.get("/", headers={"host": "attacker.example"}).status_code == 400
    assert client.get("/", headers={"host": "localhost:8765"}).status_code == 200


def test_missing_or_empty_tables_give_a_clear_page(tmp_path, db):
    missing = _client(tmp_path / "nowhere", db)
    for path in ("/", "/summary", f"/claims/{'0' * 16}"):
        page = missing.get(path)
        assert page.status_code == 503
        assert "There is no output folder" in page.text and "Traceback" not in page.text
    from pipeline.storage.store import TableStore

    store = TableStore(tmp_path / "empty")
    with store.lock():
        store.commit({})
    empty = _client(tmp_path / "empty", db).get("/")
    assert empty.status_code == 200 and "No claims yet" in empty.text
    (tmp_path / "unrun").mkdir()
    unrun = _client(tmp_path / "unrun", db).get("/")
    assert unrun.status_code == 503 and "has no tables yet" in unrun.text


def test_export_reviews_writes_the_reviews_table(review_tables, tmp_path, capsys):
    out = tmp_path / "out"
    shutil.copytree(review_tables, out, symlinks=True)
    db = out / "reviews.sqlite"
    claims = _claims(out).head(2).to_dict("records")
    store = VerdictStore(db)
    store.record(claims[0], "Ada", "incorrect", ["not_a_claim"])
    store.record(claims[0], "Ada", "correct")
    store.record(claims[1], "Grace", "correct")
    assert main(["review", "export", "--tables", str(out)]) == 0
    reviews = pd.read_parquet(out / "reviews")
    assert len(reviews) == 3
    assert reviews["is_latest"].tolist() == [False, True, True]
    assert reviews["claim_present"].all()
    assert "3 verdicts (2 latest" in capsys.readouterr().out
    assert len(pd.read_parquet(out / "claims")) == len(_claims(review_tables))
    # Exported again: replaced, not appended.
    assert (
        main(["review", "export", "--tables", str(out), "--out", str(tmp_path / "r.parquet")]) == 0
    )
    assert main(["review", "export", "--tables", str(out)]) == 0
    assert len(pd.read_parquet(out / "reviews")) == 3
    assert len(pd.read_parquet(tmp_path / "r.parquet")) == 3


def test_export_reviews_is_a_library_function(review_tables, tmp_path):
    from pipeline.review.export import NothingToExport, export_reviews

    out = tmp_path / "out"
    shutil.copytree(review_tables, out, symlinks=True)
    with pytest.raises(NothingToExport, match="no verdict database"):
        export_reviews(out)
    claim = _claims(out).head(1).to_dict("records")[0]
    VerdictStore(out / "reviews.sqlite").record(claim, "Ada", "correct")
    table, where = export_reviews(out)
    assert (table.num_rows, where) == (1, out / "reviews")
    assert pd.read_parquet(out / "reviews")["reviewer"].tolist() == ["Ada"]


def test_export_reviews_without_a_database_is_a_usage_error(tmp_path, capsys):
    assert main(["review", "export", "--tables", str(tmp_path)]) == 2
    assert "no verdict database" in capsys.readouterr().err


def test_tables_from_an_older_schema_give_a_clear_page(review_tables, tmp_path, db):
    import pyarrow.parquet as pq

    out = tmp_path / "old"
    shutil.copytree(review_tables, out, symlinks=True)
    for part in (out / "claims").glob("*.parquet"):
        old = pq.read_table(part).drop_columns(["certainty", "hedge_cues", "study_design"])
        part.unlink()  # hard-linked with the original: write a new file, not through it
        pq.write_table(old, part)
    page = _client(out, db).get("/")
    assert page.status_code == 503
    assert "comes from an older pipeline" in page.text and "certainty" in page.text


def test_a_new_run_shows_up_without_restart_and_keeps_verdicts(review_tables, tmp_path, db):
    from pipeline.runs.runner import run_corpus

    out = tmp_path / "out"
    shutil.copytree(review_tables, out, symlinks=True)
    client = _client(out, db)
    _reviewer(client, "Ada")
    csrf = _csrf(client)
    claim = _mdma_serotonin(out)
    client.post(f"/claims/{claim.claim_id}/verdict", data={"verdict": "correct", "csrf": csrf})
    assert main(["review", "export", "--tables", str(out), "--db", str(db)]) == 0
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "new.txt").write_text("Psilocybin binds to serotonin receptors in the brain.\n")
    run_corpus(corpus, out)  # same folder: the app is running and must see the new snapshot
    listing = client.get("/", params={"substance": "psilocybin"}).text
    assert "<strong>1</strong> of" in listing
    page = client.get(f"/claims/{claim.claim_id}").text
    assert 'id="my-verdict"' in page
    assert len(pd.read_parquet(out / "reviews")) == 1  # a run carries the exported table over


def test_cross_site_fetch_is_refused_even_with_the_token_cookie(review_tables, db):
    client = _client(review_tables, db)
    _reviewer(client, "Ada")
    csrf = _csrf(client)
    claim = _mdma_serotonin(review_tables)
    answer = client.post(
        f"/claims/{claim.claim_id}/verdict",
        data={"verdict": "correct", "csrf": csrf},
        headers={"sec-fetch-site": "cross-site"},
    )
    assert answer.status_code == 403
    assert VerdictStore(db).history() == []


def test_token_guards_forms_and_headers_are_always_set(review_tables, db):
    client = _client(review_tables, db, token="s3cret")
    claim = _mdma_serotonin(review_tables)
    refused = client.post(f"/claims/{claim.claim_id}/verdict", data={"verdict": "correct"})
    assert refused.status_code == 401
    assert str(review_tables) not in refused.text  # nothing about the server before the token
    assert client.get("/?token=wrong").status_code == 401
    swap = client.get("/static/review.css?token=s3cret", follow_redirects=False)
    for response in (refused, swap, client.get("/static/review.css")):
        assert "script-src 'self'" in response.headers["content-security-policy"]


def test_redirects_stay_inside_the_app():
    from pipeline.review.app import local_path

    assert local_path("/claims/abc?substance=mdma") == "/claims/abc?substance=mdma"
    for outside in ("//evil.example/x", "/\\evil.example", "https://evil.example/", "claims"):
        assert local_path(outside) == "/"


def test_bound_elsewhere_the_app_requires_a_token(review_tables, db):
    with pytest.raises(ValueError, match="access token"):
        create_app(review_tables, db_path=db, bind_host="0.0.0.0")
    client = TestClient(
        create_app(review_tables, db_path=db, token="t", bind_host="0.0.0.0"),
        base_url="http://review.lab.example:8765",
    )
    assert client.get("/").status_code == 401
    assert client.get("/", headers={"authorization": "Bearer t"}).status_code == 200


def test_reviewer_names_match_however_they_are_typed(review_tables, db):
    client = _client(review_tables, db)
    csrf = _csrf(client)
    decomposed = "Zoe\u0308"  # "Zoë" typed as e + combining diaeresis
    client.post("/reviewer", data={"reviewer": decomposed, "csrf": csrf, "next": "/"})
    claim = _mdma_serotonin(review_tables)
    client.post(f"/claims/{claim.claim_id}/verdict", data={"verdict": "correct", "csrf": csrf})
    [verdict] = VerdictStore(db).history()
    assert verdict.reviewer == "Zo\u00eb"
    assert 'id="my-verdict"' in client.get(f"/claims/{claim.claim_id}").text
    assert "<span>1</span> judged by you" in client.get("/").text


def test_negated_filter_includes_hedged_negations(review_tables, db):
    claims = _claims(review_tables)
    client = _client(review_tables, db)
    for certainty, expected in (
        ("negated", claims.negated.sum()),
        ("hedged", claims.hedged.sum()),
        ("asserted", (claims.certainty == "asserted").sum()),
    ):
        page = client.get("/", params={"certainty": certainty}).text
        assert f"<strong>{expected}</strong> of {len(claims)} claims" in page, certainty


def test_statuses_follow_the_summary_definition():
    from pipeline.review.data import claim_statuses
    from pipeline.review.summary import review_status

    latest = pd.DataFrame(
        [
            ("a", "Ada", "correct"),
            ("b", "Ada", "incorrect"),
            ("c", "Ada", "correct"),
            ("c", "Grace", "incorrect"),
            ("d", "Grace", "correct"),
            ("d", "Ada", "correct"),
        ],
        columns=["claim_id", "reviewer", "verdict"],
    )
    statuses = claim_statuses(pd.Series(["a", "b", "c", "d", "e"]), latest, "Ada")
    assert statuses.status.tolist() == ["correct", "incorrect", "disputed", "correct", "unreviewed"]
    assert statuses.my_verdict.tolist()[:4] == ["correct", "incorrect", "correct", "correct"]
    assert pd.isna(statuses.my_verdict.iloc[4])
    for claim_id, expected in zip(statuses.claim_id, statuses.status, strict=True):
        rows = latest[latest.claim_id == claim_id]
        as_verdicts = {r.reviewer: _FakeVerdict(r.verdict) for r in rows.itertuples()}
        assert review_status(as_verdicts) == expected


class _FakeVerdict:
    def __init__(self, verdict: str):
        self.verdict = verdict
        self.is_correct = verdict == "correct"


def test_next_unjudged_wraps_and_survives_a_claim_dropping_out():
    from pipeline.review.data import neighbours, next_todo

    ordered = pd.DataFrame(
        {
            "claim_id": ["a", "b", "c", "d"],
            "order": [0, 1, 2, 3],
            "my_verdict": [None, "correct", None, "correct"],
        }
    )
    assert next_todo(ordered, 0) == "c"
    assert next_todo(ordered, 2) == "a"  # wraps round to the start
    assert next_todo(ordered, None) == "a"
    todo = ordered[ordered.my_verdict.isna()]
    # Under status=todo the claim just judged (order 1) is no longer listed: still found.
    assert next_todo(todo, 1) == "c"
    assert neighbours(todo, 1) == ("a", "c")
    assert neighbours(ordered, 0) == (None, "b")
    assert next_todo(ordered.assign(my_verdict="correct"), 0) is None


def test_the_cue_that_reaches_the_claim_is_the_one_marked():
    from pipeline.review.data import covering_cues

    claim = {
        "hedge_cues": ["potential"],
        "negation_cues": [],
        "substance_start": 40,
        "substance_end": 46,
        "target_start": None,
        "target_end": None,
        "effect_start": 50,
        "effect_end": 60,
    }
    cues = [
        {"cue": "potential", "scope_start": 0, "scope_end": 20},
        {"cue": "potential", "scope_start": 30, "scope_end": 70},
    ]
    assert [c["covers_claim"] for c in covering_cues(claim, cues)] == [False, True]


# Strength, the causal-from-observational flag and contested claims ----------------------


def _expected_contested(tables_dir: Path) -> set[str]:
    """Claim ids whose (substance, effect) or (substance, target) claim_summary row is
    contested, joined here with pandas, apart from the app's code."""
    from pipeline.storage import tables

    claims = tables.frame(tables_dir, "claims")
    summary = tables.frame(tables_dir, "claim_summary")
    contested = summary.loc[summary["contested"].fillna(False).astype(bool)]
    ids: set[str] = set()
    for level, column in (("effect", "effect_norm"), ("target", "target_norm")):
        rows = contested.loc[contested["level"] == level, ["substance", level]]
        joined = claims.merge(
            rows, left_on=["substance_norm", column], right_on=["substance", level]
        )
        ids |= set(joined["claim_id"])
    return ids


def test_hand_tables_hold_flagged_and_contested_claims(hand_tables):
    from pipeline.review.data import load_tables

    data = load_tables(hand_tables)
    claims = data.claims
    assert len(claims) == 10 and data.summary_note is None
    assert set(claims.loc[claims["contested"], "claim_id"]) == _expected_contested(hand_tables)
    assert int(claims["contested"].sum()) == 7  # pain and anxiety claims, mdma -> serotonin
    by_sentence = claims.set_index("sentence")
    mdma = by_sentence.loc["MDMA does not increase serotonin levels."]
    assert (mdma.contested_target, mdma.contested_effect) == (True, False)  # through its target
    caffeine = by_sentence.loc["Caffeine improves alertness."]
    assert not caffeine.contested
    flagged = claims.loc[claims["causal_from_observational"].astype(bool), "sentence"]
    assert sorted(s.split()[0] for s in flagged) == ["Kratom", "MDMA"]
    # The claim page's rows: the effect row, then the target row.
    claim = data.claim(
        claims.loc[claims["sentence"].str.startswith("MDMA increases")].claim_id.iloc[0]
    )
    rows = data.agreement(claim)
    assert [(r["level"], r["substance"], r["target"], r["effect"]) for r in rows] == [
        ("effect", "mdma", None, "mood"),
        ("target", "mdma", "serotonin", None),
    ]
    assert [r["contested"] for r in rows] == [False, True]
    assert rows[1]["n_articles"] == 2 and rows[1]["articles_no_effect_share"] == 0.5


def test_filters_for_strength_flag_and_contested(hand_tables):
    from pipeline.review.data import Filters, apply_filters, facet_counts, load_tables

    claims = load_tables(hand_tables).claims
    assert len(apply_filters(claims, Filters(contested="yes"))) == 7
    assert len(apply_filters(claims, Filters(contested="no"))) == 3
    flagged = apply_filters(claims, Filters(flagged="yes"))
    assert flagged["causal_from_observational"].astype(bool).all() and len(flagged) == 2
    direct = apply_filters(claims, Filters(strength="direct_causal"))
    assert (direct["strength"] == "direct_causal").all() and len(direct) == 7
    both = apply_filters(claims, Filters(strength="direct_causal", contested="yes"))
    assert len(both) == 5  # d1 and d2 on pain, d4 on anxiety, both mdma -> serotonin claims
    # Facets count the other filters' selection; strength in order of strength.
    assert facet_counts(claims, Filters(contested="yes"), "strength") == [
        ("correlational", 1),
        ("conditional_causal", 1),
        ("direct_causal", 5),
    ]
    assert facet_counts(claims, Filters(strength="direct_causal"), "flagged") == [
        ("yes", 2),
        ("no", 5),
    ]
    assert facet_counts(claims, Filters(), "contested") == [("yes", 7), ("no", 3)]
    # Only yes and no are values of the yes/no filters.
    assert Filters.from_query({"flagged": "maybe", "contested": "yes"}) == Filters(contested="yes")
    assert Filters(flagged="yes", strength="none").query() == "strength=none&flagged=yes"


def test_tables_without_the_new_columns_read_as_unknown_and_not_contested():
    from pipeline.review.data import (
        Filters,
        apply_filters,
        contested_keys,
        facet_counts,
        flag_count,
        mark_contested,
        summary_rows,
    )

    # Claims and a summary as written before schema version 10: no strength, no flag, no
    # level, no contested.
    claims = pd.DataFrame(
        {
            "claim_id": ["a", "b"],
            "substance_norm": ["kratom", "kratom"],
            "target_norm": [None, "opioid receptors"],
            "effect_norm": ["pain", None],
            "sentence": ["Kratom relieves pain.", "Kratom binds opioid receptors."],
        }
    )
    summary = pd.DataFrame(
        {"substance": ["kratom"], "target": [None], "effect": ["pain"], "n_articles": [2]}
    )
    assert contested_keys(summary) == {"effect": set(), "target": set()}
    marked = mark_contested(claims, summary)
    assert marked["contested"].tolist() == [False, False]
    assert apply_filters(marked, Filters(flagged="yes")).empty
    assert len(apply_filters(marked, Filters(flagged="no"))) == 2
    assert apply_filters(marked, Filters(strength="direct_causal")).empty
    assert apply_filters(marked, Filters(contested="yes")).empty
    assert facet_counts(marked, Filters(), "strength") == []
    assert facet_counts(marked, Filters(), "flagged") == [("yes", 0), ("no", 2)]
    assert flag_count(claims, "contested") == 0  # even before mark_contested
    assert summary_rows(summary, marked.iloc[0].to_dict()) == []  # rows without level: claims
    assert summary_rows(pd.DataFrame(), marked.iloc[0].to_dict()) == []

    # Null values (the documented reading of older rows) behave the same.
    nulls = summary.assign(
        level=pd.array([None], dtype="string"), contested=pd.array([None], dtype="boolean")
    )
    assert contested_keys(nulls) == {"effect": set(), "target": set()}
    old = claims.assign(
        strength=pd.array([None, None], dtype="string"),
        causal_from_observational=pd.array([None, None], dtype="boolean"),
    )
    assert apply_filters(old, Filters(flagged="yes")).empty
    assert facet_counts(old, Filters(), "strength") == []


def test_contested_keys_take_effect_and_target_rows_only():
    from pipeline.review.data import contested_keys, mark_contested

    summary = pd.DataFrame(
        {
            "level": pd.array(["claim", "effect", "target", "effect", None], dtype="string"),
            "substance": ["kratom", "kratom", "mdma", "caffeine", "mdma"],
            "target": [None, None, "serotonin", None, None],
            "effect": ["sleep", "pain", None, "alertness", "mood"],
            "contested": pd.array([True, True, True, False, True], dtype="boolean"),
        }
    )
    assert contested_keys(summary) == {
        "effect": {("kratom", "pain")},
        "target": {("mdma", "serotonin")},
    }
    claims = pd.DataFrame(
        {
            "substance_norm": ["kratom", "kratom", "mdma", "mdma", "caffeine"],
            "target_norm": pd.array([None, None, "serotonin", None, None], dtype="string"),
            "effect_norm": pd.array(["pain", "sleep", "mood", "mood", "alertness"], dtype="string"),
        }
    )
    marked = mark_contested(claims, summary)
    assert marked["contested_effect"].tolist() == [True, False, False, False, False]
    assert marked["contested_target"].tolist() == [False, False, True, False, False]
    # a contested claim row alone (kratom -> sleep; a null level is a claim row) marks nothing
    assert marked["contested"].tolist() == [True, False, True, False, False]


def test_strength_labels_follow_the_classifier():
    from pipeline.nlp.strength import STRENGTHS
    from pipeline.review.data import STRENGTH_LABELS

    assert tuple(STRENGTH_LABELS) == STRENGTHS


def test_list_and_claim_pages_show_strength_flag_and_contested(hand_tables, db):
    client = _client(hand_tables, db)
    claims = _claims(hand_tables)
    expected = _expected_contested(hand_tables)
    page = client.get("/", params={"contested": "yes"}).text
    assert f"<strong>{len(expected)}</strong> of {len(claims)} claims" in page
    shown = re.findall(r'<tr data-claim-id="([0-9a-f]{16})"', page)
    assert set(shown) == expected
    assert '<span id="count-contested">7</span>' in page
    assert ">articles disagree on its effect or target (7)</option>" in page
    flagged = client.get("/", params={"flagged": "yes"}).text
    assert "<strong>2</strong> of 10 claims" in flagged
    assert flagged.count("⚠ observational</span>") == 2
    assert ">direct causal (“reduces”) (2)</option>" in flagged  # facet within the flagged

    mdma = claims.loc[claims.sentence.str.startswith("MDMA increases")].iloc[0]
    view = client.get(f"/claims/{mdma.claim_id}").text
    assert 'id="strength-badge"' in view and ">direct causal</span>" in view
    badge = re.search(r'<span class="badge badge-flag" id="flag-badge" title="([^"]+)">', view)
    assert badge and "observational" in badge.group(1) and "trial" in badge.group(1)
    assert 'id="contested-badge"' in view
    assert '<dd id="study-design">observational</dd>' in view
    assert '<dd id="preliminary">yes' in view
    assert re.search(
        r'<dd id="attribution">researchers <span class="badge" id="attribution-class">'
        r"researcher</span></dd>",
        view,
    )
    assert "evidence cited" not in view
    agreement = view[view.index('id="agreement"') :]
    assert 'data-level="effect"' in agreement and 'data-level="target"' in agreement
    assert agreement.count("badge-contested") == 1  # the target row, not the effect row

    caffeine = claims.loc[claims.sentence.str.startswith("Caffeine")].iloc[0]
    view = client.get(f"/claims/{caffeine.claim_id}").text
    assert 'id="flag-badge"' not in view and 'id="contested-badge"' not in view
    assert '<dd id="flag">no</dd>' in view and '<dd id="attribution">–</dd>' in view


def test_an_unreadable_claim_summary_leaves_the_claims_reviewable(hand_tables, tmp_path, db):
    import pyarrow.parquet as pq

    out = tmp_path / "old"
    shutil.copytree(hand_tables, out, symlinks=True)
    for part in (out / "claim_summary").glob("*.parquet"):
        old = pq.read_table(part).drop_columns(["level", "contested"])
        part.unlink()  # hard-linked with the original: write a new file, not through it
        pq.write_table(old, part)
    client = _client(out, db)
    page = client.get("/").text
    assert "<strong>10</strong> of 10 claims" in page
    assert 'id="summary-note"' in page and "claim_summary" in page
    assert "<strong>0</strong> of 10 claims" in client.get("/", params={"contested": "yes"}).text
    claims = _claims(out)
    view = client.get(f"/claims/{claims.claim_id.iloc[0]}")
    assert view.status_code == 200 and "could not be read" in view.text


# What a reviewer sees first: the list and the claim's header -----------------------------


def _rows(page: str) -> list[str]:
    return re.findall(r'<tr data-claim-id="[0-9a-f]{16}">(.*?)</tr>', page, re.S)


def test_list_shows_the_snippet_the_source_and_the_document(review_tables, db):
    client = _client(review_tables, db)
    claims = _claims(review_tables).set_index("claim_id")
    documents = pd.read_parquet(review_tables / "documents")
    titles = dict(
        zip(documents.doc_id, documents.title.where(documents.title.notna()), strict=True)
    )
    page = client.get("/", params={"substance": "mdma"}).text
    ids = re.findall(r'<tr data-claim-id="([0-9a-f]{16})"', page)
    assert ids
    for claim_id, row in zip(ids, _rows(page), strict=True):
        claim = claims.loc[claim_id]
        snippet = re.search(r'<td class="snippet">(.*?)</td>', row, re.S).group(1)
        start, end = claim.sentence_start, claim.sentence_start + len(claim.sentence)
        if start <= claim.substance_start and claim.substance_end <= end:
            assert f'<span class="hl hl-substance">{escape(claim.substance)}</span>' in snippet
        else:  # "+subject": the sentence does not name it
            assert "hl-substance" not in snippet and "+subject" in claim.rule
        text = unescape(re.sub(r"<[^>]+>", "", snippet))
        assert text.strip("…") in claim.sentence
        doc = re.search(r'<td class="doc">(.*?)</td>', row, re.S).group(1)
        # the title, else the file relative to the corpus the run read (not the absolute
        # path); below it the site, else that file, unless the title already is it
        relative = Path(claim.source).name
        title = titles.get(claim.doc_id)
        title = None if pd.isna(title) else title
        shown = unescape(re.search(r'<span class="doc-title">(.*?)</span>', doc).group(1))
        site = re.search(r'<small class="site"[^>]*>(.*?)</small>', doc)
        if title is None:
            assert shown == relative and site is None
        else:
            assert shown == title and unescape(site.group(1)) == relative
        assert str(review_tables.parent) not in doc


def test_snippet_cuts_a_long_sentence_around_the_claim_at_word_boundaries():
    from pipeline.review.data import snippet

    words = " ".join(f"word{i}" for i in range(100))
    sentence = f"{words} aspirin lowers the risk of cancer {words}."
    start = sentence.index("aspirin")
    claim = {
        "sentence": sentence,
        "sentence_start": 1000,
        "substance_start": 1000 + start,
        "substance_end": 1000 + start + len("aspirin"),
        "effect_start": 1000 + sentence.index("the risk"),
        "effect_end": 1000 + sentence.index(" word", start),
        "target_start": None,
        "target_end": None,
    }
    before, pieces, after = snippet(claim, width=120)
    text = "".join(p.text for p in pieces)
    assert before and after
    assert "aspirin lowers the risk of cancer" in text
    assert len(text) <= 120
    assert text.split()[0].startswith("word") and text.split()[-1].startswith("word")
    assert sentence[sentence.index(text) - 1] == " "  # starts at a word
    assert [p.text for p in pieces if p.roles] == ["aspirin", "the risk of cancer"]
    short = {**claim, "sentence": "aspirin lowers the risk of cancer."}
    short.update(substance_start=1000, substance_end=1007, effect_start=1015, effect_end=1033)
    assert snippet(short)[0] is False and snippet(short)[2] is False


def test_claim_header_shows_the_substance_as_written_and_resolved(review_tables, db):
    client = _client(review_tables, db)
    claims = _claims(review_tables)
    resolved = claims.loc[claims.substance.str.lower() != claims.substance_norm].iloc[0]
    page = client.get(f"/claims/{resolved.claim_id}").text
    header = re.search(r'<h1 class="triple">(.*?)</h1>', page, re.S).group(1)
    assert f'<span id="substance-written">{escape(resolved.substance)}</span>' in header
    assert re.search(
        rf'id="substance-resolved"[^>]*>→ {re.escape(resolved.substance_norm)}<', header
    )
    plain = claims.loc[claims.substance.str.lower() == claims.substance_norm].iloc[0]
    header = re.search(
        r'<h1 class="triple">(.*?)</h1>', client.get(f"/claims/{plain.claim_id}").text, re.S
    )
    assert "substance-resolved" not in header.group(1)  # nothing to resolve, nothing shown


def test_the_claim_page_shows_the_source_relative_to_the_corpus(review_tables, db):
    client = _client(review_tables, db)
    claims = _claims(review_tables)
    claim = claims.loc[claims.source.str.endswith("#untrusted-1")].iloc[0]
    page = client.get(f"/claims/{claim.claim_id}").text
    shown = re.search(r'<code id="doc-source"[^>]*>(.*?)</code>', page).group(1)
    assert shown == "untrusted.jsonl#untrusted-1"
    assert 'id="doc-site"' not in page  # a javascript: URL names no site


def test_shown_source_is_relative_to_the_corpus_folder_or_file():
    from pipeline.storage.sources import shown_source

    assert shown_source("/data/news/2020/a.html", "/data/news") == "2020/a.html"
    assert shown_source("/data/news.jsonl#r7", "/data/news.jsonl") == "news.jsonl#r7"
    assert shown_source("/elsewhere/a.txt", "/data/news") == "/elsewhere/a.txt"
    # a run of another corpus wrote it: any run's corpus will do
    assert shown_source("/old/b.txt", "/data/news", ["/data/news", "/old"]) == "b.txt"
    assert shown_source("/data/newsroom/c.txt", "/data/news") == "/data/newsroom/c.txt"


def test_site_of_matches_the_sites_claim_summary_counts():
    from pipeline.storage.claim_summary import site_of

    assert site_of("https://www.NYTimes.com/2020/01/x.html") == "nytimes.com"
    assert site_of("http://web.archive.org/web/2019/https://www.statnews.com/x") == "statnews.com"
    assert site_of("en.wikipedia.org/wiki/MDMA") == "en.wikipedia.org"
    assert site_of(None) is None and site_of("") is None and site_of(float("nan")) is None


def test_cues_that_do_not_govern_the_claim_look_different(review_tables, db):
    client = _client(review_tables, db)
    claims = _claims(review_tables)
    cues = pd.read_parquet(review_tables / "cues")
    found = 0
    for claim in claims.itertuples():
        named = set(claim.hedge_cues) | set(claim.negation_cues)
        others = cues.loc[(cues.sentence_id == claim.sentence_id) & ~cues.cue.isin(named)]
        if claim.certainty != "asserted" or others.empty:
            continue
        page = client.get(f"/claims/{claim.claim_id}").text
        sentence = re.search(r'<p class="sentence" id="sentence">(.*?)</p>', page, re.S).group(1)
        for cue in others.cue:
            assert re.search(
                rf'tag-cue-other">[^<]*not this claim[^<]*</span>'
                rf'<span class="hl hl-cue-other[^"]*">{re.escape(cue)}<',
                sentence,
            )
        assert "hl-hedge" not in sentence and "hl-negation" not in sentence
        assert "hl-scope" not in sentence  # a cue that does not govern shows no scope
        found += 1
    assert found >= 3


def test_references_fold_and_the_rest_is_text():
    from pipeline.review.data import segments

    def reference_parts(text: str) -> list[tuple[str, bool]]:
        return [part for piece in segments(text, 0, []) for part in piece.parts]

    folded = {
        "causes seizures.[12] Rare": ["causes seizures.", "[12]", " Rare"],
        "causes seizures [3, 4][5–7] in rats": ["causes seizures", "[3, 4][5–7]", " in rats"],
        "is toxic[citation needed].": ["is toxic", "[citation needed]", "."],
        "a note[a] and [note 2] here": ["a note", "[a]", " and", "[note 2]", " here"],
        "dead [dead link ] link [SMW]": ["dead", "[dead link ]", " link", "[SMW]"],
    }
    for text, pieces in folded.items():
        parts = reference_parts(text)
        assert [p for p, _ in parts] == pieces, text
        assert [ref for _, ref in parts] == [p.startswith("[") for p in pieces], text
    kept = [
        "([11C]Cimbi-36) was synthesized",
        "ions [M+H] and [M+Na]",
        "Custodio et al. (2019) evaluated",
        "the 5-HT[2A] receptor",
        "receptor[s] of the brain",
        "works [in cloned rat tissues] well",
    ]
    for text in kept:
        assert reference_parts(text) == [(text, False)], text


def test_a_long_paragraph_shows_the_sentence_in_context_and_folds_the_rest(tmp_path, db):
    from pipeline.runs.runner import run_corpus

    corpus = tmp_path / "corpus"
    corpus.mkdir()
    # (The sentence splitter does not split at "drugs.[6] MDMA": references go before the
    # full stop here.)
    filler = [f"Sentence number {i} says nothing about drugs [{i}]." for i in range(1, 13)]
    claim = "MDMA stimulates the release of serotonin in the brain[13][14]."
    (corpus / "long.txt").write_text(" ".join([*filler[:6], claim, *filler[6:]]) + "\n")
    run_corpus(corpus, tmp_path / "out")
    client = _client(tmp_path / "out", db)
    claims = _claims(tmp_path / "out")
    row = claims.loc[claims.sentence.str.startswith("MDMA stimulates")].iloc[0]
    page = client.get(f"/claims/{row.claim_id}").text
    context = re.search(r'<p class="paragraph" id="context">(.*?)</p>', page, re.S).group(1)
    text = re.sub(r"<[^>]+>", "", context)
    assert "Sentence number 6 says" in text and "Sentence number 7 says" in text
    assert "Sentence number 5" not in text and "Sentence number 8" not in text
    assert '<sup class="ref" title="[13][14]">[…]</sup>' in context
    assert "[13]" not in text.replace('title="[13][14]"', "")
    whole = re.search(
        r'<details class="whole-paragraph" id="whole-paragraph">(.*?)</details>', page, re.S
    )
    assert whole and "(13 sentences)" in whole.group(1)
    assert "Sentence number 1 says" in whole.group(1)


def test_sort_by_confidence_and_the_least_confident_queue(review_tables, db):
    client = _client(review_tables, db)
    claims = _claims(review_tables)
    assert claims.confidence.notna().any()
    ranked = claims.sort_values(["confidence"], kind="stable", na_position="last")
    page = client.get("/", params={"sort": "confidence"}).text
    shown = re.findall(r'<tr data-claim-id="([0-9a-f]{16})"', page)
    confidences = claims.set_index("claim_id").loc[shown, "confidence"].tolist()
    assert confidences == sorted(confidences) and shown[0] in set(
        ranked.loc[ranked.confidence == ranked.confidence.min(), "claim_id"]
    )
    descending = re.findall(
        r'<tr data-claim-id="([0-9a-f]{16})"', client.get("/", params={"sort": "-confidence"}).text
    )
    top = claims.set_index("claim_id").loc[descending, "confidence"].tolist()
    assert top == sorted(top, reverse=True)
    # The queue: the least confident claim first, and after a verdict the next least.
    _reviewer(client, "Ada")
    page = client.get("/").text
    queue = re.search(r'id="least-confident" href="([^"]+)"', page).group(1)
    first = client.get(queue.replace("&amp;", "&"), follow_redirects=False)
    assert first.headers["location"].startswith(f"/claims/{shown[0]}?sort=confidence")
    csrf = _csrf(client)
    after = client.post(
        f"/claims/{shown[0]}/verdict",
        data={"verdict": "correct", "csrf": csrf, "sort": "confidence"},
        headers={"origin": BASE},
        follow_redirects=False,
    )
    assert after.headers["location"].startswith(f"/claims/{shown[1]}?sort=confidence")
    # Next and previous follow the order too.
    view = client.get(f"/claims/{shown[1]}", params={"sort": "confidence"}).text
    assert f'id="next" href="/claims/{shown[2]}?sort=confidence"' in view
    assert f'id="prev" href="/claims/{shown[0]}?sort=confidence"' in view
    assert "0." in re.search(r'<dd id="confidence">(.*?)</dd>', view).group(1)


def test_an_unknown_sort_is_reading_order(review_tables, db):
    from pipeline.review.data import Filters

    assert Filters.from_query({"sort": "bogus"}).sort == ""
    client = _client(review_tables, db)
    assert _rows(client.get("/", params={"sort": "bogus"}).text) == _rows(client.get("/").text)


def test_an_empty_value_is_no_option_and_every_filter_defaults_to_all(
    review_tables, db, monkeypatch
):
    """Claims whose effect is an empty string (not null) once made the Effect filter read
    " (27)": an option with no text, selected because it equalled the empty filter."""
    import dataclasses

    from pipeline.review import data as review_data

    original = review_data.load_tables

    def with_empty_effects(tables_dir):
        loaded = original(tables_dir)
        claims = loaded.claims.copy()
        claims.loc[claims["effect_norm"].isna(), "effect_norm"] = ""
        claims.loc[claims["target_norm"].isna(), "target_norm"] = ""
        return dataclasses.replace(loaded, claims=claims)

    monkeypatch.setattr(review_data, "load_tables", with_empty_effects)
    page = _client(review_tables, db).get("/").text
    for name in ("substance", "target", "effect", "polarity", "doc", "rule", "strength"):
        select = re.search(rf'<select name="{name}"[^>]*>(.*?)</select>', page, re.S).group(1)
        options = re.findall(r'<option value="([^"]*)" ?(selected)?>([^<]*)</option>', select)
        assert options[0] == ("", "", "all"), name
        assert not any(selected for _, selected, _ in options), name
        assert all(value and not text.startswith(" (") for value, _, text in options[1:]), name


def test_a_reference_cut_by_a_highlight_folds_once():
    from pipeline.review.data import Mark, segments, without_references

    sentence = "It raises the heart rate [citation needed] in adults."
    start = sentence.index("heart")
    effect = Mark("effect", start, sentence.index("needed") + len("needed"), "effect")
    pieces = segments(sentence, 0, [effect])
    shown = "".join("[…]" if ref else text for piece in pieces for text, ref in piece.parts)
    assert shown == "It raises the heart rate[…] in adults."
    folded = [piece for piece in pieces if piece.ref]
    assert len(folded) == 1 and folded[0].ref == "[citation needed]"
    assert without_references("Increased heart rate [citation needed") == "Increased heart rate"
    assert without_references("heart rate[4][5]") == "heart rate"
    assert without_references("the 5-HT2A receptor [") == "the 5-HT2A receptor ["
    assert without_references("[11C]Cimbi-36") == "[11C]Cimbi-36"


def test_the_document_filter_tells_same_titled_articles_apart(review_tables, db):
    client = _client(review_tables, db)
    claims = _claims(review_tables)
    page = client.get("/").text
    select = re.search(r'<select name="doc"[^>]*>(.*?)</select>', page, re.S).group(1)
    labels = re.findall(r"<option value=\"[0-9a-f]+\" >([^<]*)</option>", select)
    labels = [unescape(label) for label in labels]
    untrusted = int(claims.source.str.endswith("#untrusted-1").sum())
    # a title, then where the article is from; a file without a title is named once
    assert any(label.endswith(f" · untrusted.jsonl#untrusted-1 ({untrusted})") for label in labels)
    assert any(label.startswith("mdma_depression.txt (") for label in labels), labels
    assert not any("mdma_depression.txt · mdma_depression.txt" in label for label in labels)
    # A chosen document keeps its own count, even when it is not among the options shown.
    from pipeline.review import data as review_data

    doc = claims.doc_id.iloc[0]
    shown = review_data.facet_counts(
        claims.assign(status="unreviewed", my_verdict=None),
        review_data.Filters(doc=doc),
        "doc",
        limit=0,
    )
    assert shown == [(doc, int((claims.doc_id == doc).sum()))]


def test_the_claim_page_says_which_order_it_follows(review_tables, db):
    client = _client(review_tables, db)
    claim = _claims(review_tables).iloc[0]
    page = client.get(f"/claims/{claim.claim_id}", params={"sort": "confidence"}).text
    assert '<strong id="order-shown">least confident first</strong>' in page
    assert 'id="order-shown"' not in client.get(f"/claims/{claim.claim_id}").text


def test_the_precision_page_says_a_picked_sample_is_not_the_corpus(review_tables, db):
    page = _client(review_tables, db).get("/summary").text
    caveat = re.search(r'<p class="notice warn" id="sample-caveat">(.*?)</p>', page, re.S)
    text = " ".join(caveat.group(1).split())
    assert "only when those claims are a random sample" in text
    assert "least confident first" in text
