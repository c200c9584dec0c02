"""Small SVG charts for the dashboard, drawn on the server: no script, nothing fetched, every text escaped.

Each chart says what it shows in its ``<title>`` and ``<desc>`` (read by screen readers), and the page
shows the same numbers as a table or a sentence. Colour is never the only carrier of meaning: the
commune a chart marks is also drawn larger, with another shape, and labelled.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from html import escape
from typing import Any

__all__ = ["distribution_svg", "map_svg", "sparkline_svg", "trend_svg"]

WIDTH, HEIGHT, PAD = 320, 64, 12
INK, MUTED, MARK, BOX = "#1d2433", "#6b7280", "#0b5cad", "#dbe4f0"


def _scale(low: float, high: float, width: float) -> Callable[[float], float]:
    span = (high - low) or 1.0

    def at(value: float) -> float:
        return PAD + (value - low) / span * (width - 2 * PAD)

    return at


def _svg(
    body: list[str], title: str, description: str, *, width: int = WIDTH, height: int = HEIGHT, kind: str = "chart"
) -> str:
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" width="100%" role="img" '
        f'class="{kind}" preserveAspectRatio="xMidYMid meet"><title>{escape(title)}</title>'
        f"<desc>{escape(description)}</desc>" + "".join(body) + "</svg>"
    )


def distribution_svg(
    *,
    values: Sequence[float],
    q1: float,
    median: float,
    q3: float,
    marked: float | None,
    marked_label: str,
    title: str,
    description: str,
    number: Callable[[float], str],
) -> str:
    """A strip of every value with the middle half as a box and the median as a line; ``marked`` stands out."""
    everything = [*values, *([marked] if marked is not None else [])]
    low, high = (min(everything), max(everything)) if everything else (0.0, 1.0)
    at = _scale(low, high, WIDTH)
    mid = 26
    body = [
        f'<rect x="{at(q1):.1f}" y="{mid - 10}" width="{max(1.0, at(q3) - at(q1)):.1f}" height="20" fill="{BOX}"/>',
        (
            f'<line x1="{at(median):.1f}" y1="{mid - 12}" x2="{at(median):.1f}" y2="{mid + 12}" stroke="{INK}" '
            'stroke-width="2"/>'
        ),
    ]
    body += [f'<circle cx="{at(v):.1f}" cy="{mid}" r="2.5" fill="{MUTED}" fill-opacity="0.7"/>' for v in values]
    if marked is not None:
        x = at(marked)
        body.append(
            f'<path d="M{x:.1f} {mid - 9} L{x + 7:.1f} {mid} L{x:.1f} {mid + 9} L{x - 7:.1f} {mid} Z" '
            f'fill="{MARK}" stroke="{INK}" stroke-width="1"/>'
        )
        anchor = "end" if x > WIDTH * 0.7 else "start"
        shift = -9 if anchor == "end" else 9
        body.append(
            f'<text x="{x + shift:.1f}" y="{mid + 26}" font-size="11" text-anchor="{anchor}" fill="{INK}">'
            f"{escape(marked_label)}</text>"
        )
    body += [
        f'<text x="{PAD}" y="{HEIGHT - 2}" font-size="10" fill="{MUTED}">{escape(number(low))}</text>',
        (
            f'<text x="{WIDTH - PAD}" y="{HEIGHT - 2}" font-size="10" text-anchor="end" fill="{MUTED}">'
            f"{escape(number(high))}</text>"
        ),
    ]
    return _svg(body, title, description)


def trend_svg(
    points: Sequence[tuple[str, float]], *, title: str, description: str, number: Callable[[float], str]
) -> str:
    """A line through ``points`` (period, value), each period labelled under its point."""
    if not points:
        return _svg([], title, description)
    values = [value for _, value in points]
    low, high = min(values), max(values)
    x_at = _scale(0, max(1, len(points) - 1), WIDTH)
    span = (high - low) or 1.0

    def y_at(value: float) -> float:
        return 8 + (1 - (value - low) / span) * (HEIGHT - 30)

    path = " ".join(f"{'M' if i == 0 else 'L'}{x_at(i):.1f} {y_at(v):.1f}" for i, v in enumerate(values))
    body = [f'<path d="{path}" fill="none" stroke="{MARK}" stroke-width="2"/>']
    for index, (period, value) in enumerate(points):
        x, y = x_at(index), y_at(value)
        body.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3" fill="{MARK}"/>')
        body.append(
            f'<text x="{x:.1f}" y="{HEIGHT - 4}" font-size="10" text-anchor="middle" fill="{MUTED}">'
            f"{escape(period)}</text>"
        )
    return _svg(body, title, description)


def sparkline_svg(points: Sequence[tuple[str, float]], *, title: str, description: str) -> str:
    """A small line through ``points`` (period, value), the last one marked: a table cell's trend.

    Its periods and values are in ``description``; the page says the trend in words beside it.
    """
    width, height = 120, 28
    values = [value for _, value in points]
    if len(values) < 2:  # a line needs two points
        return _svg([], title, description, width=width, height=height, kind="spark")
    low, high = min(values), max(values)
    span = (high - low) or 1.0
    step = (width - 8) / (len(values) - 1)

    def at(index: int, value: float) -> tuple[float, float]:
        return 4 + index * step, 4 + (1 - (value - low) / span) * (height - 8)

    path = " ".join(
        f"{'M' if i == 0 else 'L'}{x:.1f} {y:.1f}" for i, (x, y) in enumerate(at(i, v) for i, v in enumerate(values))
    )
    x, y = at(len(values) - 1, values[-1])
    body = [
        f'<path d="{path}" fill="none" stroke="{MARK}" stroke-width="1.5"/>',
        f'<circle cx="{x:.1f}" cy="{y:.1f}" r="2.5" fill="{MARK}"/>',
    ]
    return _svg(body, title, description, width=width, height=height, kind="spark")


def map_svg(
    shapes: dict[str, Any],
    colours: dict[str, str],
    labels: dict[str, str],
    *,
    title: str,
    description: str,
) -> str:
    """Chile's communes (``shapes``: the packaged map), each filled with ``colours[cut]`` and titled
    ``labels[cut]``; the caller says in a legend and a table what the colours mean."""
    body = [
        f'<path d="{escape(path)}" fill="{escape(colours.get(cut, "#eceff1"))}" stroke="#ffffff" stroke-width="0.4">'
        f"<title>{escape(labels.get(cut, cut))}</title></path>"
        for cut, path in shapes["paths"].items()
    ]
    return _svg(body, title, description, width=int(shapes["width"]), height=int(shapes["height"]), kind="map")
