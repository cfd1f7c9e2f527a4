"""Does any label of a run report's diagram overlap another label or a band? Chromium says.

    python benchmarks/report_layout.py OUT_DIR [--report PATH] [--screenshot PNG]

Opens OUT_DIR/report.html (or PATH) in Debian's Chromium through Playwright and measures,
as the browser draws them, the substance -> target -> effect diagram's labels and bands
(`sankey-label-*`, `sankey-heading-*`, `sankey-band-*`): no two labels may intersect, no
label may touch a band, and every label must be inside its SVG. Every other chart's text
must be inside its SVG too. Prints the number of labels and bands and each problem, writes a
full-page screenshot, and exits 1 when there is a problem. `tests/test_html_report.py` runs
the same check, `check_layout`.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
from dataclasses import dataclass, field
from pathlib import Path

CHROMIUM = os.environ.get("CLAIMS_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--no-first-run"]

# Labels are boxes (getBoundingClientRect). A band is a curved shape whose box covers much
# more than the band, so a label near a band's box is tested against the shape itself: the
# band's outline, sampled every px, must not enter the label's box, and the box's centre must
# not lie inside the band's fill.
_MEASURE = """
(svg) => {
  const box = (el) => el.getBoundingClientRect();
  const meets = (a, b) =>
    a.left < b.right - 0.5 && b.left < a.right - 0.5 &&
    a.top < b.bottom - 0.5 && b.top < a.bottom - 0.5;
  const inside = (a, b) =>
    a.left >= b.left - 0.5 && a.right <= b.right + 0.5 &&
    a.top >= b.top - 0.5 && a.bottom <= b.bottom + 0.5;
  const problems = [];
  const frame = box(svg);
  const labels = [...svg.querySelectorAll('[id^="sankey-label-"], [id^="sankey-heading-"]')]
    .map((el) => ({ id: el.id, box: box(el) }));
  const bands = [...svg.querySelectorAll('[id^="sankey-band-"]')];
  for (const [i, a] of labels.entries()) {
    if (!inside(a.box, frame)) problems.push(`${a.id} is not inside the svg`);
    for (const b of labels.slice(i + 1)) {
      if (meets(a.box, b.box)) problems.push(`${a.id} overlaps ${b.id}`);
    }
  }
  for (const band of bands) {
    const near = labels.filter((a) => meets(a.box, box(band)));
    const hit = new Set();
    for (const path of near.length ? band.querySelectorAll("path") : []) {
      const toScreen = path.getScreenCTM();
      const toPath = toScreen.inverse();
      const length = path.getTotalLength();
      for (let s = 0; s <= length; s += 1) {
        const p = path.getPointAtLength(s).matrixTransform(toScreen);
        for (const a of near) {
          const b = a.box;
          const within = p.x > b.left + 0.5 && p.x < b.right - 0.5;
          if (within && p.y > b.top + 0.5 && p.y < b.bottom - 0.5) hit.add(a.id);
        }
      }
      for (const a of near) {
        const c = new DOMPoint((a.box.left + a.box.right) / 2, (a.box.top + a.box.bottom) / 2);
        if (path.isPointInFill(c.matrixTransform(toPath))) hit.add(a.id);
      }
    }
    for (const id of hit) problems.push(`${id} overlaps ${band.id}`);
  }
  return { labels: labels.length, bands: bands.length, problems };
}
"""

_TEXT_INSIDE = """
() => {
  const problems = [];
  for (const svg of document.querySelectorAll("svg")) {
    const f = svg.getBoundingClientRect();
    for (const text of svg.querySelectorAll("text")) {
      const t = text.getBoundingClientRect();
      const chart = svg.getAttribute("aria-label");
      if (t.left < f.left - 0.5 || t.right > f.right + 0.5 || t.top < f.top - 0.5 ||
          t.bottom > f.bottom + 0.5)
        problems.push(`"${text.textContent}" is outside its chart (${chart})`);
    }
  }
  return problems;
}
"""


@dataclass
class Layout:
    """What Chromium measured: the diagram's labels and bands, and what is wrong."""

    labels: int = 0
    bands: int = 0
    problems: list[str] = field(default_factory=list)


def check_layout(page: object, diagram: str = "#diagram svg") -> Layout:
    """The overlaps on `page` (a Playwright page with a report open); no diagram, none."""
    layout = Layout(problems=page.evaluate(_TEXT_INSIDE))
    if page.locator(diagram).count():
        found = page.locator(diagram).first.evaluate(_MEASURE)
        layout.labels, layout.bands = found["labels"], found["bands"]
        layout.problems += found["problems"]
    return layout


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out_dir", type=Path, help="a run's output folder")
    parser.add_argument("--report", type=Path, help="the report to open (OUT_DIR/report.html)")
    parser.add_argument("--screenshot", type=Path, help="a full-page PNG to write")
    parser.add_argument("--width", type=int, default=1100, help="the window's width in px")
    args = parser.parse_args()
    report = (args.report or args.out_dir / "report.html").resolve()
    if not report.exists():
        parser.error(f"no report at {report}")

    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": args.width, "height": 900})
        page.goto(report.as_uri())
        layout = check_layout(page)
        if args.screenshot:
            args.screenshot.parent.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(args.screenshot), full_page=True)
        browser.close()
    print(f"{report}: {layout.labels} labels, {layout.bands} bands in the diagram")
    print(f"{len(layout.problems)} overlaps (or labels outside their chart)")
    for problem in layout.problems:
        print(f"  {problem}")
    if args.screenshot:
        print(f"screenshot: {args.screenshot}")
    return 1 if layout.problems else 0


if __name__ == "__main__":
    sys.exit(main())
