"""Net return against copy delay, one line per book with its bootstrap interval: an SVG
that needs nothing to draw (docs/edge.md embeds the ones ``jobs/replay.py --chart`` wrote)."""

from __future__ import annotations

from collections.abc import Mapping
from html import escape

from walltrack.trading.backtest.metrics import RunFigures

COLOURS = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b")
W, H, LEFT, RIGHT, TOP, BOTTOM = 640, 360, 64, 150, 30, 44


def delay_chart(books: Mapping[str, Mapping[str, RunFigures]], *, title: str) -> str:
    """``books``: book → delay (seconds, as text) → figures."""
    delays = sorted({float(d) for by in books.values() for d in by})
    values = [v for by in books.values() for f in by.values()
              for v in (f.net_return, *f.net_return_ci)]
    if not delays or not values:
        return f'<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="60">' \
               f'<text x="10" y="30">{escape(title)}: no runs</text></svg>'
    lo, hi = min(0.0, *values), max(0.0, *values)
    pad = (hi - lo) * 0.08 or 0.01
    lo, hi = lo - pad, hi + pad
    slots = {d: i for i, d in enumerate(delays)}  # evenly spaced: 0, 2, 5, 15, 60 s

    def x(d: float) -> float:
        return LEFT + (W - LEFT - RIGHT) * (slots[d] / max(1, len(delays) - 1))

    def y(v: float) -> float:
        return TOP + (H - TOP - BOTTOM) * (hi - v) / (hi - lo)

    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" '
           f'font-family="sans-serif" font-size="12">',
           f'<text x="{LEFT}" y="18" font-size="14">{escape(title)}</text>',
           f'<line x1="{LEFT}" x2="{W - RIGHT}" y1="{y(0):.1f}" y2="{y(0):.1f}" '
           'stroke="#999" stroke-dasharray="4 3"/>']
    for k in range(5):
        v = lo + (hi - lo) * k / 4
        out.append(f'<text x="{LEFT - 6}" y="{y(v) + 4:.1f}" text-anchor="end">'
                   f'{100 * v:+.1f} %</text>')
    for d in delays:
        out.append(f'<text x="{x(d):.1f}" y="{H - BOTTOM + 18}" text-anchor="middle">'
                   f'{d:g} s</text>')
    out.append(f'<text x="{(LEFT + W - RIGHT) / 2:.0f}" y="{H - 8}" text-anchor="middle">'
               'copy delay</text>')
    for i, (book, by) in enumerate(books.items()):
        colour = COLOURS[i % len(COLOURS)]
        points = sorted((float(d), f) for d, f in by.items())
        dx = (i - (len(books) - 1) / 2) * 4  # books side by side at each delay
        path = " ".join(f"{x(d) + dx:.1f},{y(f.net_return):.1f}" for d, f in points)
        out.append(f'<polyline points="{path}" fill="none" stroke="{colour}" '
                   'stroke-width="2"/>')
        for d, f in points:
            low, high = f.net_return_ci
            out.append(f'<line x1="{x(d) + dx:.1f}" x2="{x(d) + dx:.1f}" y1="{y(low):.1f}" '
                       f'y2="{y(high):.1f}" stroke="{colour}" stroke-opacity="0.5"/>')
            out.append(f'<circle cx="{x(d) + dx:.1f}" cy="{y(f.net_return):.1f}" r="3" '
                       f'fill="{colour}"/>')
        ly = TOP + 16 * i + 10
        out.append(f'<rect x="{W - RIGHT + 12}" y="{ly - 9}" width="10" height="10" '
                   f'fill="{colour}"/><text x="{W - RIGHT + 28}" y="{ly}">{escape(book)}</text>')
    out.append("</svg>")
    return "\n".join(out)
