"""Charts as inline SVG, drawn by matplotlib when the report is built: no script, no network.

A report is opened from disk, mailed, archived; it must show the same figures years later
without fetching anything. matplotlib (a `Figure` and its SVG backend, no pyplot) draws and
measures; this module lays the charts out and adds what matplotlib's SVG lacks. Text stays
text (`svg.fonttype` none, DejaVu Sans), so the report is searchable; no label is read as
mathtext or TeX (a substance called `$x$` shows as written); every corpus string is escaped
(a substance called `<script>` is text); long labels are shortened with an ellipsis and the
full text is kept in a tooltip. matplotlib writes no `<title>`: each bar, band, node and
label gets a `gid`, and its title goes into that group afterwards. Each chart carries
`role="img"` and an `aria-label`, and the same figures give the same bytes (a fixed hash
salt, no date).

rcParams are global to the process: they are set for the time of one chart, under a lock,
so reports built at once in threads never see each other's settings.
"""

from __future__ import annotations

import io
import threading
import warnings
import xml.etree.ElementTree as ET
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache, wraps
from itertools import pairwise
from typing import ParamSpec

import matplotlib
import numpy as np
from markupsafe import Markup
from matplotlib.axes import Axes
from matplotlib.backends.backend_svg import FigureCanvasSVG, RendererSVG
from matplotlib.figure import Figure
from matplotlib.font_manager import FontProperties
from matplotlib.legend import Legend
from matplotlib.patches import PathPatch, Rectangle
from matplotlib.path import Path
from matplotlib.textpath import text_to_path

# Tableau 10 as Tableau has it now: distinguishable, and readable by most colour-blind
# readers. matplotlib's tab10 is Tableau's older set (the same first four hues, then purple,
# brown, pink, grey, olive, cyan): kept as it was, so the report's colours keep their
# meaning (PALETTE[9] is the grey of "none").
PALETTE = (
    "#4e79a7",
    "#f28e2b",
    "#59a14f",
    "#e15759",
    "#76b7b2",
    "#edc948",
    "#b07aa1",
    "#ff9da7",
    "#9c755f",
    "#bab0ac",
)
FONT = FontProperties(family="DejaVu Sans", size=12)  # Debian's Chromium has it too
_RC = {
    "svg.fonttype": "none",  # <text>: searchable, selectable
    "svg.hashsalt": "health-claims",  # stable ids
    "text.parse_math": False,
    "text.usetex": False,
    "font.family": FONT.get_family(),
    "font.size": FONT.get_size(),
}
_LOCK = threading.RLock()
_SVG = "http://www.w3.org/2000/svg"
ET.register_namespace("", _SVG)
ROW = 24  # px per bar
_P = ParamSpec("_P")


@dataclass(frozen=True)
class Category:
    """One segment kind of a stacked bar (e.g. asserted, in blue)."""

    name: str
    colour: str


def shorten(text: str, limit: int) -> str:
    """`text` on one line, cut to `limit` characters with an ellipsis."""
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: max(limit - 1, 1)] + "…"


def _fmt(value: float) -> str:
    return f"{value:,.0f}" if float(value).is_integer() else f"{value:,.2f}"


@lru_cache(maxsize=4096)
def _width(text: str) -> float:
    """A label's width in px as matplotlib sets it (a browser with the same font agrees)."""
    return text_to_path.get_text_width_height_descent(text, FONT, ismath=False)[0]


def _styled(draw: Callable[_P, Markup]) -> Callable[_P, Markup]:
    """`draw` under the report's rcParams, one chart at a time."""

    @wraps(draw)
    def styled(*args: _P.args, **kwargs: _P.kwargs) -> Markup:
        with _LOCK, matplotlib.rc_context(_RC), warnings.catch_warnings():
            # A glyph DejaVu Sans lacks (CJK, emoji): the browser falls back to another font.
            warnings.filterwarnings("ignore", "Glyph .* missing from font")
            return draw(*args, **kwargs)

    return styled


def _figure(width: float, height: float) -> Figure:
    """A figure in px: at 72 dpi a point is a px of the SVG's viewBox. No background."""
    figure = Figure(figsize=(width / 72, height / 72), dpi=72)
    figure.patch.set_visible(False)
    return figure


def _svg(figure: Figure, label: str, titles: dict[str, str], key: str) -> Markup:
    """The figure as inline SVG: tooltips in; XML prolog, metadata, style and ids out."""
    buffer = io.StringIO()
    FigureCanvasSVG(figure).print_svg(buffer, metadata={"Date": None})
    root = ET.fromstring(buffer.getvalue())  # the prolog and DOCTYPE stay behind
    for child in root.findall(f"{{{_SVG}}}metadata") + root.findall(f"{{{_SVG}}}defs"):
        root.remove(child)  # RDF, and a `*{...}` style that would reach the whole page
    for element in root.iter():
        element.attrib.pop("clip-path", None)  # nothing is clipped; its <defs> is gone
        if element.get("transform", "").startswith("rotate(-0 "):
            del element.attrib["transform"]  # text turned by 0 degrees
        if element.tail and not element.tail.strip():
            element.tail = None  # matplotlib's indentation
        if element.text and not element.text.strip() and len(element):
            element.text = None
        ident = element.attrib.pop("id", None)  # matplotlib's (figure_1, patch_3, ...) go
        if ident in titles:
            title = ET.Element(f"{{{_SVG}}}title")
            title.text = titles[ident]
            element.insert(0, title)
        if ident and ident.startswith(f"{key}-"):
            element.set("id", ident)
    box = root.get("viewBox", "")
    root.attrib.clear()
    root.attrib.update(
        viewBox=box, width="100%", role="img", **{"aria-label": label},
        style=f"max-width: {box.split()[2]}px; height: auto; "
        "stroke-linejoin: round; stroke-linecap: butt",
    )  # fmt: skip
    return Markup(ET.tostring(root, encoding="unicode"))


def _rows(
    names: list[str], tips: list[str], key: str, width: float, right: float, top: float = 0
) -> tuple[Figure, Axes, dict[str, str]]:
    """A figure for one bar per name (row N at y N), the names in a gutter on the left."""
    left = max(map(_width, names)) + 8
    height = top + len(names) * ROW
    figure = _figure(width, height)
    ax = figure.add_axes((left / width, 0, 1 - (left + right) / width, 1 - top / height))
    ax.set_axis_off()
    ax.set_ylim(len(names) - 0.5, -0.5)
    for index, name in enumerate(names):
        ax.annotate(
            name, (0, index), xytext=(-6, 0), textcoords="offset points", ha="right",
            va="center", gid=f"{key}-label-{index}", parse_math=False, usetex=False,
        )  # fmt: skip
    return figure, ax, {f"{key}-label-{index}": tip for index, tip in enumerate(tips)}


@_styled
def bar_chart(
    rows: Sequence[tuple[str, float, str]],
    label: str,
    colour: str | Sequence[str] = PALETTE[0],
    width: int = 500,
    label_chars: int = 26,
    key: str = "bar",
) -> Markup:
    """Horizontal bars: (name, value, tooltip) per row, largest expected first; `colour`
    one for all bars, or one per row.

    Ids: `{key}-bar-N`, `{key}-label-N`. Give each chart of a page its own `key`.
    """
    if not rows:
        return Markup("")
    values = [value for _, value, _ in rows]
    names = [shorten(name, label_chars) for name, _, _ in rows]
    right = max(_width(_fmt(value)) for value in values) + 8
    figure, ax, titles = _rows(names, [tip for *_, tip in rows], key, width, right)
    ax.set_xlim(0, max(values) or 1)
    bars = ax.barh(range(len(rows)), values, height=0.75, color=colour, clip_on=False)
    ax.bar_label(bars, [_fmt(value) for value in values], padding=4, parse_math=False)
    for index, bar in enumerate(bars):
        bar.set_gid(f"{key}-bar-{index}")
        titles[bar.get_gid()] = rows[index][2]
    return _svg(figure, label, titles, key)


@_styled
def stacked_shares(
    rows: Sequence[tuple[str, Sequence[float]]],
    categories: Sequence[Category],
    label: str,
    width: int = 500,
    label_chars: int = 26,
    key: str = "share",
) -> Markup:
    """One 100% bar per row, split into `categories` by count; percentages inside.

    The legend goes above, in as many lines as the width needs. Ids: `{key}-N-M` (row N,
    category M), `{key}-label-N`.
    """
    if not rows:
        return Markup("")
    names = [shorten(name, label_chars) for name, _ in rows]
    room = width - max(map(_width, names)) - 8 - 4  # the bars' width

    def legend(where: Figure | Axes, columns: int) -> Legend:
        n = len(categories)  # matplotlib fills a legend column by column: read row by row
        shown = [categories[k] for j in range(columns) for k in range(j, n, columns)]
        return where.legend(
            [Rectangle((0, 0), 1, 1, color=category.colour) for category in shown],
            [category.name for category in shown], ncols=columns, loc="lower left",
            bbox_to_anchor=(0, 1), frameon=False, borderpad=0, borderaxespad=0.3,
            handlelength=1, handleheight=1, columnspacing=1.2,
        )  # fmt: skip

    renderer = RendererSVG(width, 100, io.StringIO())
    for columns in range(len(categories), 0, -1):  # the widest legend that fits
        box = legend(_figure(width, 100), columns).get_window_extent(renderer)
        if box.width <= room:
            break
    figure, ax, titles = _rows(names, [name for name, _ in rows], key, width, 4, box.height + 10)
    legend(ax, columns)
    ax.set_xlim(0, 1)
    counts = np.array([counts for _, counts in rows], dtype=float).reshape(len(rows), -1)
    totals = counts.sum(axis=1)
    shares = counts / np.maximum(totals, 1)[:, None]
    for column, category in enumerate(categories):
        part, start = shares[:, column], shares[:, :column].sum(axis=1)
        bars = ax.barh(range(len(rows)), part, left=start, height=0.75, color=category.colour)
        inside = [f"{share:.0%}" if share * room >= 34 else "" for share in part]
        ax.bar_label(bars, inside, label_type="center", color="white", parse_math=False)
        for index, bar in enumerate(bars):
            bar.set(gid=f"{key}-{index}-{column}", clip_on=False)
            titles[bar.get_gid()] = (
                f"{rows[index][0]}: {category.name} {counts[index, column]:,.0f} of "
                f"{totals[index]:,.0f} ({part[index]:.0%})"
            )
    return _svg(figure, label, titles, key)


@dataclass(frozen=True)
class Flow:
    """One claim for the diagram: substance -> target -> effect, `weight` wide.

    Without a target its band goes from the substance to the effect, through the target
    column below its nodes; without an effect it ends at its target.
    """

    substance: str
    target: str | None
    effect: str | None
    weight: float
    tooltip: str = ""


NODE = 10  # a node's width, px
GAP = 8  # between two nodes of a column
PAD = 6  # between a node and its label
LINE = 17  # the least slot of a labelled node: a 12px label is 14px tall in a browser
HOP = 90  # the least width of the bands between two columns
BANDS = 300  # px of all the weight in one column
HEAD = 24  # the column headings


@_styled
def sankey(
    flows: Sequence[Flow],
    label: str,
    width: int = 1000,
    label_chars: int = 40,
    key: str = "sankey",
) -> Markup:
    """Substance -> target -> effect bands, each flow coloured by its substance.

    No label overlaps another or a band: substance labels sit left of their nodes, effect
    labels right of theirs, a target's label between its node and a second bar that its
    bands leave from; every node has a slot at least as tall as its label; labels are
    shortened until the bands between the columns have room. The height grows with the
    busiest column. A band is at least 1 px thick. Ids: `{key}-band-N` (flow N),
    `{key}-node-C-N` and `{key}-label-C-N` (node N of column C: 0 substance, 1 target,
    2 effect; a target's second bar is `{key}-node-1-N-out`), `{key}-heading-C`.
    """
    flows = [f for f in flows if f.weight > 0 and (f.target or f.effect)]
    if not flows:
        return Markup("")
    roles = ("substance", "target", "effect")
    columns = [_nodes(flows, role) for role in roles]

    def gutter(c: int, chars: int) -> float:  # a column's widest label, and room around it
        texts = [roles[c], *(_node_label(name, value, chars) for name, value in columns[c])]
        return max(map(_width, texts)) + PAD + 2 if columns[c] else 0.0

    # [labels][node] bands [node][labels][bar] bands [node][labels]
    for chars in range(max(label_chars, 8), 7, -2):  # shorter labels until the bands fit
        left, right = gutter(0, chars), gutter(2, chars)
        middle = 2 * NODE + PAD + gutter(1, chars) if columns[1] else 0.0
        hops = 2 if columns[1] and columns[2] else 1
        room = (width - left - NODE - middle - (NODE + right if columns[2] else 0)) / hops
        if room >= HOP:
            break
    xs = (left, left + NODE + room, width - right - NODE)  # each column's nodes
    onward = xs[1] + middle - NODE  # a target's second bar, which its bands leave from

    total = sum(flow.weight for flow in flows)
    thick = [max(flow.weight * BANDS / total, 1.0) for flow in flows]
    routes = [  # each flow's stops, (column, node); without a target, a node of its own (i)
        [(0, f.substance), *([(1, f.target or i)] if columns[1] else [])]
        + ([(2, f.effect)] if f.effect else [])
        for i, f in enumerate(flows)
    ]
    size: list[dict[object, float]] = [defaultdict(float) for _ in roles]  # px of its bands
    leaving: dict[object, float] = defaultdict(float)  # px of bands leaving a target
    for i, stops in enumerate(routes):
        for s, (c, node) in enumerate(stops):
            size[c][node] += thick[i]
            if c == 1 and s + 1 < len(stops):
                leaving[node] += thick[i]

    # Slots top to bottom, a labelled node's at least LINE tall, each node centred in its
    # slot; the flows without a target pass through the target column below its nodes.
    order = [{name: n for n, (name, _) in enumerate(column)} for column in columns]
    through = sorted(
        (i for i in size[1] if isinstance(i, int)),
        key=lambda i: (order[0][flows[i].substance], order[2][flows[i].effect]),
    )
    tops: list[dict[object, float]] = []
    heights = []
    for c, column in enumerate(columns):
        slots = [(name, max(size[c][name], LINE), GAP) for name, _ in column]
        slots += [(i, size[1][i], 2.0) for i in through] if c == 1 else []
        tops.append({})
        y = 0.0
        for node, slot, gap in slots:
            tops[c][node] = y + (slot - size[c][node]) / 2
            y += slot + gap
        heights.append(y)
    body = max(heights)
    for c, column_tops in enumerate(tops):  # centred on the busiest column
        for node in column_tops:
            column_tops[node] += HEAD + (body - heights[c]) / 2

    def centre(stop: tuple[int, object]) -> float:
        return tops[stop[0]][stop[1]] + size[stop[0]][stop[1]] / 2

    # At each node, bands stack in the order of where they go (or come from): few crossings.
    ends: dict[tuple[int, int, int], float] = {}  # (flow, stop, 1 leaving / -1 arriving)
    for step in (1, -1):
        queues: dict[tuple[int, object], list] = defaultdict(list)
        for i, stops in enumerate(routes):
            for s, stop in enumerate(stops):
                if 0 <= s + step < len(stops):
                    further = stops[s + 1 :] if step == 1 else stops[s - 1 :: -1]
                    queues[stop].append((tuple(map(centre, further)), i, s))
        for (c, node), queue in queues.items():
            y = tops[c][node]
            for _, i, s in sorted(queue):
                ends[i, s, step] = y
                y += thick[i]

    figure = _figure(width, HEAD + body)
    ax = figure.add_axes((0, 0, 1, 1), xlim=(0, width), ylim=(HEAD + body, 0))  # px, y down
    ax.set_axis_off()
    colours = {name: PALETTE[n % len(PALETTE)] for n, (name, _) in enumerate(columns[0])}
    titles = {}
    for i, stops in enumerate(routes):
        pieces: list[list[tuple[float, float]]] = [[]]  # the band's top edge, left to right
        for s, (c, node) in enumerate(stops):
            if s:
                pieces[-1].append((xs[c], ends[i, s, -1]))
            if s + 1 < len(stops):
                if s and not isinstance(node, int):
                    pieces.append([])  # it stops at a target's node, leaves from its bar
                pieces[-1].append((onward + NODE if c == 1 else xs[c] + NODE, ends[i, s, 1]))
        colour = colours[flows[i].substance]
        band = PathPatch(_band(pieces, thick[i]), color=colour, alpha=0.45, linewidth=0)
        ax.add_artist(band).set(gid=f"{key}-band-{i}", clip_on=False)
        titles[band.get_gid()] = flows[i].tooltip or _flow_text(flows[i])
    for c, column in enumerate(columns):
        for n, (name, value) in enumerate(column):
            y, tall = tops[c][name], size[c][name]
            bars = [(xs[c], tall, "")]
            if c == 1 and leaving.get(name):
                bars.append((onward, leaving[name], "-out"))
            for x, h, suffix in bars:
                node = Rectangle((x, y), NODE, h, color=colours[name] if c == 0 else "#555")
                ax.add_artist(node).set(gid=f"{key}-node-{c}-{n}{suffix}", clip_on=False)
                titles[node.get_gid()] = f"{name}: {_fmt(value)}"
            x, align = (xs[0] - PAD, "right") if c == 0 else (xs[c] + NODE + PAD, "left")
            _text(
                ax, x, y + tall / 2, _node_label(name, value, chars), f"{key}-label-{c}-{n}", align
            )
            titles[f"{key}-label-{c}-{n}"] = f"{name}: {_fmt(value)}"
        if column:
            x, align = (xs[0] + NODE, "right") if c == 0 else (xs[c], "left")
            _text(ax, x, HEAD / 2, roles[c], f"{key}-heading-{c}", align, fontweight="bold")
    return _svg(figure, label, titles, key)


def _nodes(flows: Sequence[Flow], role: str) -> list[tuple[str, float]]:
    """The named nodes of a column, heaviest first."""
    totals: dict[str, float] = defaultdict(float)
    for flow in flows:
        if getattr(flow, role):
            totals[getattr(flow, role)] += flow.weight
    return sorted(totals.items(), key=lambda kv: (-kv[1], kv[0]))


def _node_label(name: str, value: float, chars: int) -> str:
    return f"{shorten(name, chars)} ({_fmt(value)})"


def _text(ax: Axes, x: float, y: float, text: str, gid: str, ha: str, **style: object) -> None:
    ax.text(x, y, text, gid=gid, ha=ha, va="center", parse_math=False, usetex=False, **style)


def _band(pieces: list[list[tuple[float, float]]], thick: float) -> Path:
    """A band `thick` px wide below each top edge in `pieces`: an S-curve between two
    columns, straight through a column it passes."""
    vertices: list[tuple[float, float]] = []
    codes: list[int] = []
    for edge in pieces:
        bottom = [(x, y + thick) for x, y in reversed(edge)]
        vertices += [edge[0]]
        codes += [Path.MOVETO]
        for line in (edge, bottom):
            for (xa, ya), (xb, yb) in pairwise(line):
                vertices += [((xa + xb) / 2, ya), ((xa + xb) / 2, yb), (xb, yb)]
                codes += [Path.CURVE4] * 3
            vertices += [bottom[0] if line is edge else edge[0]]
            codes += [Path.LINETO if line is edge else Path.CLOSEPOLY]
    return Path(vertices, codes)


def _flow_text(flow: Flow) -> str:
    steps = [flow.substance, flow.target, flow.effect]
    return " → ".join(step for step in steps if step) + f": {_fmt(flow.weight)}"
