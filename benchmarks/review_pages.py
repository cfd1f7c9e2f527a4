"""How long the review app takes to answer, on a real run's tables.

    python benchmarks/review_pages.py --tables DIR [--verdicts N] [--repeat N]

Records N verdicts (two reviewers, a third of them overlapping) into a throwaway database,
then times each page through Starlette's test client, in process (no network): the list,
a filtered list, a claim, recording a verdict (with the redirect to the next claim), and the
precision summary. Prints the median milliseconds of each. The tables are only read.
"""

from __future__ import annotations

import argparse
import random
import statistics
import tempfile
import time
import warnings
from pathlib import Path

import pandas as pd

warnings.filterwarnings("ignore", message="Using `httpx` with `starlette.testclient`")
from starlette.testclient import TestClient  # noqa: E402 (after the filter)

from pipeline.review.app import COOKIE_CSRF, COOKIE_REVIEWER, create_app  # noqa: E402
from pipeline.review.verdicts import REASONS, VerdictStore  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tables", type=Path, required=True, help="a run's output folder")
    parser.add_argument("--verdicts", type=int, default=2000, help="verdicts to record first")
    parser.add_argument("--repeat", type=int, default=7, help="timed requests per page")
    args = parser.parse_args()

    claims = pd.read_parquet(args.tables / "claims")
    documents = claims["doc_id"].nunique()
    rows = claims.sample(frac=1.0, random_state=7).to_dict("records")
    with tempfile.TemporaryDirectory() as scratch:
        db = Path(scratch) / "reviews.sqlite"
        store = VerdictStore(db)
        rng = random.Random(7)
        started = time.perf_counter()
        for index in range(args.verdicts):
            claim = rows[index % len(rows)]
            reviewer = "Ada" if index % 3 else "Grace"
            wrong = rng.random() < 0.3
            reasons = [rng.choice(list(REASONS))] if wrong else []
            store.record(claim, reviewer, "incorrect" if wrong else "correct", reasons)
        per_verdict = (time.perf_counter() - started) / max(args.verdicts, 1) * 1000

        client = TestClient(create_app(args.tables, db_path=db), base_url="http://127.0.0.1")
        client.cookies.set(COOKIE_REVIEWER, "QWRh")  # "Ada"
        client.get("/")  # warm the table cache, get the CSRF cookie
        csrf = client.cookies[COOKIE_CSRF]
        top = claims["substance_norm"].value_counts().index[0]
        targets = iter(rows[args.verdicts :] or rows)

        def verdict() -> None:
            claim_id = next(targets)["claim_id"]
            answer = client.post(
                f"/claims/{claim_id}/verdict",
                data={"verdict": "correct", "csrf": csrf},
                follow_redirects=False,
            )
            assert answer.status_code == 303, answer.status_code

        pages = {
            "list (all claims)": lambda: client.get("/"),
            f"list (substance={top}, todo)": lambda: client.get(
                "/", params={"substance": top, "status": "todo"}
            ),
            "claim view": lambda: client.get(f"/claims/{rows[0]['claim_id']}"),
            "record a verdict + next": verdict,
            "precision summary": lambda: client.get("/summary"),
        }
        print(
            f"{len(claims):,} claims in {documents:,} documents; {args.verdicts:,} verdicts "
            f"recorded at {per_verdict:.2f} ms each\n"
        )
        print("| page | median ms |")
        print("|---|---|")
        for name, request in pages.items():
            times = []
            for _ in range(args.repeat):
                start = time.perf_counter()
                response = request()
                times.append((time.perf_counter() - start) * 1000)
                if response is not None:
                    assert response.status_code == 200, (name, response.status_code)
            print(f"| {name} | {statistics.median(times):.0f} |")


if __name__ == "__main__":
    main()
