"""Screenshots of the review app and the run report on a run's tables, in Chromium.

    python benchmarks/screenshots.py --tables DIR [--out DIR] [--db FILE] [--claim ID]

Starts `claims review serve` on the folder (verdicts in --db, a throwaway database unless
given), then writes full-page PNGs of the list, the list in least-confident order, one claim
(--claim, else the first whose substance was resolved from what the sentence wrote), the
precision summary, and DIR/report.html. Debian's Chromium through Playwright, as the tests.
Nothing is written to the tables.
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import subprocess
import sys
import tempfile
from pathlib import Path

import pandas as pd

CHROMIUM = os.environ.get("CLAIMS_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _resolved_claim(tables: Path) -> str:
    claims = pd.read_parquet(
        tables / "claims", columns=["claim_id", "substance", "substance_norm", "target", "effect"]
    )
    resolved = claims.loc[
        (claims.substance.str.lower() != claims.substance_norm)
        & claims.target.notna()
        & claims.effect.notna()
    ]
    return (resolved if len(resolved) else claims).claim_id.iloc[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tables", type=Path, required=True, help="a run's output folder")
    parser.add_argument(
        "--out",
        type=Path,
        default=Path("outputs/screenshots"),
        help="(default outputs/screenshots)",
    )
    parser.add_argument("--db", type=Path, default=None, help="verdict database (default: none)")
    parser.add_argument("--claim", default=None, help="claim id to show (default: see above)")
    parser.add_argument("--width", type=int, default=1400, help="viewport width (default 1400)")
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    args.out.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix="claims-screens-"))
    db = args.db or scratch / "reviews.sqlite"
    port = _free_port()
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "flows.cli",
            "review",
            "serve",
            "--tables",
            str(args.tables),
            "--db",
            str(db),
            "--port",
            str(port),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        for line in server.stdout:
            if line.startswith("Open http"):
                break
        else:
            raise SystemExit(f"claims review serve did not start (exit {server.wait()})")
        base = f"http://127.0.0.1:{port}"
        claim = args.claim or _resolved_claim(args.tables)
        pages = {
            "review-list.png": "/",
            "review-list-least-confident.png": "/?sort=confidence",
            "review-claim.png": f"/claims/{claim}",
            "review-summary.png": "/summary",
            "report.png": (args.tables / "report.html").resolve().as_uri(),
        }
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"]
            )
            page = browser.new_page(viewport={"width": args.width, "height": 900})
            for name, address in pages.items():
                page.goto(address if address.startswith("file:") else base + address)
                page.wait_for_load_state()
                page.screenshot(path=str(args.out / name), full_page=True)
                print(f"{args.out / name}  {address}")
            browser.close()
    finally:
        server.terminate()
        server.wait(timeout=10)
        shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    main()
