"""Charts as inline SVG, drawn when the report is built: no script, no network, no library.

A report is opened from disk, mailed, archived; it must show the same figures years later
without fetching anything. SVG written here is plain markup: every label from the corpus is
escaped (a substance called `<script>` is text), long labels are shortened with the full
text kept in a tooltip (`<title>`), and each chart carries an `aria-label`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from markupsafe import Markup, escape

# Tableau 10: distinguishable, and readable by most colour-blind readers.
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
FONT = "font-family: system-ui, sans-serif; font-size: 12px"
_CHAR_WIDTH = 6.6  # average width of a 12px system-ui character, for layout


@dataclass(frozen=True)
class Category:
    """One segment kind of a stacked bar (e.g. asserted, in blue)."""

    name: str
    colour: str


def shorten(text: str, limit: int) -> str:
    """`text` cut to `limit` characters with an ellipsis."""
    return text if len(text) <= limit else text[: max(limit - 1, 1)] + "…"


def _fmt(value: float) -> str:
    return f"{value:,.0f}" if float(value).is_integer() else f"{value:,.2f}"


def _svg(width: float, height: float, label: str, body: list[str]) -> Markup:
    return Markup(
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width:.0f} {height:.0f}" '
        f'width="100%" role="img" aria-label="{escape(label)}" style="{FONT}; '
        f'max-width: {width:.0f}px">' + "".join(body) + "</svg>"
    )


def bar_chart(
    rows: Sequence[tuple[str, float, str]],
    label: str,
    colour: str = PALETTE[0],
    width: int = 460,
    label_chars: int = 26,
) -> Markup:
    """Horizontal bars: (name, value, tooltip) per row, largest expected first."""
    if not rows:
        return Markup("")
    bar_height, gap, label_width, value_width = 18, 6, label_chars * _CHAR_WIDTH + 8, 56
    top = max(value for _, value, _ in rows) or 1
    room = width - label_width - value_width
    height = len(rows) * (bar_height + gap)
    body = []
    for index, (name, value, tooltip) in enumerate(rows):
        y = index * (bar_height + gap)
        length = max(room * value / top, 1 if value else 0)
        body.append(
            f"<g><title>{escape(tooltip)}</title>"
            f'<text x="{label_width - 8:.0f}" y="{y + 13}" text-anchor="end">'
            f"{escape(shorten(name, label_chars))}</text>"
            f'<rect x="{label_width:.0f}" y="{y}" width="{length:.1f}" height="{bar_height}" '
            f'fill="{colour}"/>'
            f'<text x="{label_width + length + 4:.1f}" y="{y + 13}">{_fmt(value)}</text></g>'
        )
    return _svg(width, height, label, body)


def stacked_shares(
    rows: Sequence[tuple[str, Sequence[float]]],
    categories: Sequence[Category],
    label: str,
    width: int = 620,
    label_chars: int = 26,
) -> Markup:
    """One 100% bar per row, split into `categories` by count; percentages inside."""
    if not rows:
        return Markup("")
    bar_height, gap, label_width, legend = 18, 6, label_chars * _CHAR_WIDTH + 8, 26
    room = width - label_width - 8
    body = []
    x = label_width
    for category in categories:  # legend
        body.append(
            f'<rect x="{x:.0f}" y="2" width="12" height="12" fill="{category.colour}"/>'
            f'<text x="{x + 16:.0f}" y="12">{escape(category.name)}</text>'
        )
        x += 16 + len(category.name) * _CHAR_WIDTH + 18
    for index, (name, counts) in enumerate(rows):
        y = legend + index * (bar_height + gap)
        total = sum(counts)
        parts = [
            f'<text x="{label_width - 8:.0f}" y="{y + 13}" text-anchor="end">'
            f"<title>{escape(name)}</title>{escape(shorten(name, label_chars))}</text>"
        ]
        x = label_width
        for category, count in zip(categories, counts, strict=True):
            if not count:
                continue
            share = count / total
            length = room * share
            parts.append(
                f"<g><title>{escape(name)}: {escape(category.name)} {count:,} of {total:,} "
                f"({share:.0%})</title>"
                f'<rect x="{x:.1f}" y="{y}" width="{length:.1f}" height="{bar_height}" '
                f'fill="{category.colour}"/>'
            )
            if length >= 34:
                parts.append(
                    f'<text x="{x + length / 2:.1f}" y="{y + 13}" text-anchor="middle" '
                    f'fill="#fff">{share:.0%}</text>'
                )
            parts.append("</g>")
            x += length
        body.append("<g>" + "".join(parts) + "</g>")
    height = legend + len(rows) * (bar_height + gap)
    return _svg(width, height, label, body)


@dataclass(frozen=True)
class Flow:
    """One claim for the diagram: substance -> target -> effect, `weight` wide.

    A missing target or effect passes through a grey "none named" node, so every flow
    crosses all three columns.
    """

    substance: str
    target: str | None
    effect: str | None
    weight: float
    tooltip: str = ""


NO_TARGET = "(no target named)"
NO_EFFECT = "(no effect named)"


def sankey(
    flows: Sequence[Flow],
    label: str,
    width: int = 960,
    height: int | None = None,
    label_chars: int = 24,
) -> Markup:
    """Substance -> target -> effect bands, each flow coloured by its substance.

    Without a `height`, the diagram grows with its busiest column so labels do not collide.
    """
    flows = [f for f in flows if f.weight > 0]
    if not flows:
        return Markup("")
    node_width, gap = 12, 10
    side = (label_chars + 8) * _CHAR_WIDTH + 12  # the label and its count
    xs = (side, (width - node_width) / 2, width - side - node_width)
    keys = [
        [f.substance for f in flows],
        [f.target or NO_TARGET for f in flows],
        [f.effect or NO_EFFECT for f in flows],
    ]
    placeholders = {NO_TARGET, NO_EFFECT}
    columns: list[list[tuple[str, float]]] = []
    for names in keys:
        totals: dict[str, float] = {}
        for name, flow in zip(names, flows, strict=True):
            totals[name] = totals.get(name, 0) + flow.weight
        columns.append(
            sorted(totals.items(), key=lambda kv: (kv[0] in placeholders, -kv[1], kv[0]))
        )
    total = sum(f.weight for f in flows)
    most_nodes = max(len(column) for column in columns)
    if height is None:
        height = max(360, 30 * most_nodes)
    scale = (height - gap * (most_nodes - 1)) / total
    positions: list[dict[str, float]] = []  # node top y per column
    for column in columns:
        used = sum(value for _, value in column) * scale + gap * (len(column) - 1)
        y = (height - used) / 2
        tops = {}
        for name, value in column:
            tops[name] = y
            y += value * scale + gap
        positions.append(tops)
    colours = {name: PALETTE[i % len(PALETTE)] for i, (name, _) in enumerate(columns[0])}
    order = [{name: i for i, (name, _) in enumerate(column)} for column in columns]
    body: list[str] = []
    # Bands: hop 0 (substance -> target) and hop 1 (target -> effect). At each node, bands
    # stack in the order of the node at their other end, which keeps crossings down.
    for hop in (0, 1):
        out_offset: dict[str, float] = {}
        in_offset: dict[str, float] = {}
        ranked = sorted(
            range(len(flows)),
            key=lambda i, hop=hop: (order[hop][keys[hop][i]], order[hop + 1][keys[hop + 1][i]]),
        )
        incoming = sorted(
            range(len(flows)),
            key=lambda i, hop=hop: (order[hop + 1][keys[hop + 1][i]], order[hop][keys[hop][i]]),
        )
        starts: dict[int, float] = {}
        for i in ranked:
            name = keys[hop][i]
            starts[i] = positions[hop][name] + out_offset.get(name, 0)
            out_offset[name] = out_offset.get(name, 0) + flows[i].weight * scale
        ends: dict[int, float] = {}
        for i in incoming:
            name = keys[hop + 1][i]
            ends[i] = positions[hop + 1][name] + in_offset.get(name, 0)
            in_offset[name] = in_offset.get(name, 0) + flows[i].weight * scale
        x0, x1 = xs[hop] + node_width, xs[hop + 1]
        middle = (x0 + x1) / 2
        for i in ranked:
            thick = max(flows[i].weight * scale, 1)
            y0, y1 = starts[i], ends[i]
            path = (
                f"M{x0:.1f},{y0:.1f} C{middle:.1f},{y0:.1f} {middle:.1f},{y1:.1f} "
                f"{x1:.1f},{y1:.1f} "
                f"L{x1:.1f},{y1 + thick:.1f} C{middle:.1f},{y1 + thick:.1f} {middle:.1f},"
                f"{y0 + thick:.1f} {x0:.1f},{y0 + thick:.1f} Z"
            )
            tooltip = flows[i].tooltip or _flow_text(flows[i])
            body.append(
                f'<path d="{path}" fill="{colours[flows[i].substance]}" fill-opacity="0.45">'
                f"<title>{escape(tooltip)}</title></path>"
            )
    for column_index, column in enumerate(columns):
        x = xs[column_index]
        for name, value in column:
            y = positions[column_index][name]
            size = max(value * scale, 1)
            fill = "#bbb" if name in placeholders else colours.get(name, "#555")
            if column_index == 0:
                anchor, text_x = "end", x - 6
            else:
                anchor, text_x = "start", x + node_width + 6
            text = f"{shorten(name, label_chars)} ({_fmt(value)})"
            body.append(
                f"<g><title>{escape(name)}: {_fmt(value)}</title>"
                f'<rect x="{x:.1f}" y="{y:.1f}" width="{node_width}" height="{size:.1f}" '
                f'fill="{fill}"/>'
                f'<text x="{text_x:.1f}" y="{y + size / 2 + 4:.1f}" text-anchor="{anchor}" '
                f'paint-order="stroke" stroke="#fff" stroke-width="3">{escape(text)}</text></g>'
            )
    headings = [
        f'<text x="{x + node_width / 2:.1f}" y="13" text-anchor="middle" '
        f'font-weight="bold">{heading}</text>'
        for x, heading in zip(xs, ("substance", "target", "effect"), strict=True)
    ]
    # The diagram sits below its column headings.
    shifted = [*headings, f'<g transform="translate(0, 24)">{"".join(body)}</g>']
    return _svg(width, height + 30, label, shifted)


def _flow_text(flow: Flow) -> str:
    target = flow.target or NO_TARGET
    effect = flow.effect or NO_EFFECT
    return f"{flow.substance} → {target} → {effect}: {_fmt(flow.weight)}"
