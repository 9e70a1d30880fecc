"""Inline SVG charts: drawn on the server, no chart library, a few hundred bytes each."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from html import escape


def _fmt(x: float) -> str:
    return f"{x:.1f}".rstrip("0").rstrip(".")


NICE_STEPS = (1, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10)


def nice_top(peak: float, intervals: int = 4) -> float:
    """The smallest axis top of `intervals` round steps (NICE_STEPS × 10^k) at or above `peak`."""
    if peak <= 0:
        return 1.0
    raw = peak / intervals
    scale: float = 10 ** math.floor(math.log10(raw))
    step = next(m * scale for m in NICE_STEPS if m * scale >= raw)
    return step * intervals


def bar(probability: float, level: str) -> str:
    """A probability bar; decorative, since the phrase and percentage next to it say the same."""
    width = _fmt(max(0.0, min(1.0, probability)) * 100)
    return (
        '<svg class="bar" viewBox="0 0 100 6" preserveAspectRatio="none" aria-hidden="true"'
        ' focusable="false"><rect class="track" width="100" height="6"/>'
        f'<rect class="fill {level}" width="{width}" height="6"/></svg>'
    )


def sparkline(values: Sequence[float], label: str, width: int = 120, height: int = 32) -> str:
    """A tiny trend line scaled to its own maximum."""
    if not values:
        return ""
    top = max(values) or 1.0
    pad = 2
    step = (width - 2 * pad) / max(1, len(values) - 1)
    points = " ".join(
        f"{_fmt(pad + i * step)},{_fmt(height - pad - (v / top) * (height - 2 * pad))}"
        for i, v in enumerate(values)
    )
    return (
        f'<svg class="spark" viewBox="0 0 {width} {height}" role="img"'
        f' aria-label="{escape(label)}" focusable="false">'
        f'<polyline class="line" points="{points}"/></svg>'
    )


def line_chart(
    values: Sequence[float | None],
    slot_starts_ms: Sequence[int],
    title: str,
    description: str,
    y_label: Callable[[float], str],
    x_label: Callable[[int], str | None],
    y_max: float | None = None,
    css_class: str = "",
) -> str:
    """A labelled line chart; gaps (None) break the line instead of drawing zeros.

    `x_label(slot_start_ms)` returns a tick label for slots that start a new day (else None).
    """
    w, h, left, right, top, bottom = 400, 200, 44, 8, 10, 24
    plot_w, plot_h = w - left - right, h - top - bottom
    present = [v for v in values if v is not None]
    peak = y_max if y_max is not None else nice_top(max(present, default=0.0))
    n = max(1, len(values) - 1)

    def x(i: int) -> float:
        return left + i * plot_w / n

    def y(v: float) -> float:
        return top + plot_h - (v / peak) * plot_h

    parts = [
        f'<svg class="chart {css_class}" viewBox="0 0 {w} {h}" role="img"'
        f' aria-labelledby="{css_class}-t {css_class}-d">'
        f'<title id="{css_class}-t">{escape(title)}</title>'
        f'<desc id="{css_class}-d">{escape(description)}</desc>'
    ]
    for k in range(5):
        level = peak * k / 4
        parts.append(
            f'<line class="grid" x1="{left}" x2="{w - right}" y1="{_fmt(y(level))}"'
            f' y2="{_fmt(y(level))}"/><text class="ylab" x="{left - 4}" y="{_fmt(y(level) + 4)}">'
            f"{escape(y_label(level))}</text>"
        )
    for i, start_ms in enumerate(slot_starts_ms):
        label = x_label(start_ms)
        if label:
            parts.append(
                f'<line class="grid" x1="{_fmt(x(i))}" x2="{_fmt(x(i))}" y1="{top}"'
                f' y2="{top + plot_h}"/><text class="xlab" x="{_fmt(x(i))}" y="{h - 6}">'
                f"{escape(label)}</text>"
            )
    segment: list[str] = []
    for i, v in enumerate([*values, None]):
        if v is not None:
            segment.append(f"{_fmt(x(i))},{_fmt(y(v))}")
        elif segment:
            if len(segment) == 1:
                cx, cy = segment[0].split(",")
                parts.append(f'<circle class="dot" cx="{cx}" cy="{cy}" r="2"/>')
            else:
                parts.append(f'<polyline class="line" points="{" ".join(segment)}"/>')
            segment = []
    parts.append("</svg>")
    return "".join(parts)
