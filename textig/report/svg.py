"""Geometry of the inline SVG bar charts (the markup is in ``templates/_macros.html.j2``).

Bars are horizontal and signed around a centre line, so IG and gradient-times-input charts of the
same label are comparable when they share a ``limit``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from textig.report.colors import score_color

ROW_HEIGHT = 18
LABEL_WIDTH = 56
BAR_SPACE = 220
VALUE_WIDTH = 80


@dataclass(frozen=True)
class Bar:
    """One bar: its row label, value and rectangle."""

    name: str
    value: float
    x: float
    y: float
    width: float
    height: float
    fill: str


@dataclass(frozen=True)
class BarChart:
    """A chart ready to draw: its size, centre line and bars."""

    width: int
    height: int
    centre: float
    bars: list[Bar]


def bar_chart(items: Sequence[tuple[int, float]], limit: float | None = None) -> BarChart:
    """Bars for (feature index, value) pairs; ``limit`` is the |value| that fills half the width."""
    scale = limit if limit else max((abs(v) for _, v in items), default=0.0)
    half = BAR_SPACE / 2
    centre = LABEL_WIDTH + half
    bars = []
    for row, (index, value) in enumerate(items):
        length = half * min(abs(value) / scale, 1.0) if scale > 0 else 0.0
        bars.append(
            Bar(
                name=f"dim {index}",
                value=value,
                x=centre - length if value < 0 else centre,
                y=row * ROW_HEIGHT + 3,
                width=length,
                height=ROW_HEIGHT - 6,
                fill=score_color(float(np.sign(value)), 1.0),
            )
        )
    height = max(len(bars), 1) * ROW_HEIGHT
    return BarChart(LABEL_WIDTH + BAR_SPACE + VALUE_WIDTH, height, centre, bars)
