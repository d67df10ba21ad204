"""The alert's chart over time (sent, delivered, answered per minute) as geometry for a server-rendered SVG.

Why SVG drawn on the server rather than a charting library: three series of at most a few hundred points need no
library, the page stays usable without JavaScript and under a CSP with no inline script, the same figure prints in
the after-action report, and there is no vendored npm package to keep up to date. The series differ by dash pattern
and marker as well as colour, so they read in greyscale print and without colour vision; the figures themselves are
in a table beside the chart (:file:`templates/console/_chart.html`).
"""

from __future__ import annotations

from dataclasses import dataclass

from alertsvc.tracking.report import MinuteCounts

WIDTH, HEIGHT = 720, 240
LEFT, RIGHT, TOP, BOTTOM = 48, 12, 12, 36
SERIES = ("sent", "delivered", "answered")
MARKERS_UP_TO = 90
"""Points are marked with a symbol when there are at most this many minutes (beyond that they would merge)."""


@dataclass(frozen=True, slots=True)
class Line:
    name: str
    points: list[tuple[float, float]]

    @property
    def path(self) -> str:
        return " ".join(f"{x:.1f},{y:.1f}" for x, y in self.points)


@dataclass(frozen=True, slots=True)
class Tick:
    at: float
    label: str


@dataclass(frozen=True, slots=True)
class Chart:
    width: int
    height: int
    left: int
    top: int
    bottom_y: int
    right_x: int
    lines: list[Line]
    y_ticks: list[Tick]
    x_ticks: list[Tick]
    peak: int
    markers: bool
    rows: list[MinuteCounts]

    def total(self, name: str) -> int:
        """The series' sum over every minute shown."""
        return sum(int(getattr(row, name)) for row in self.rows)


def _nice_ceiling(value: int) -> int:
    """The smallest 1, 2 or 5 times a power of ten at or above ``value`` (at least 1): round axis labels."""
    step = 1
    while True:
        for factor in (1, 2, 5):
            if step * factor >= value:
                return step * factor
        step *= 10


def build(rows: list[MinuteCounts]) -> Chart:
    """Lines of the three series on a shared axis: minutes along, messages per minute up."""
    bottom_y, right_x = HEIGHT - BOTTOM, WIDTH - RIGHT
    peak = max((max(r.sent, r.delivered, r.answered) for r in rows), default=0)
    top_value = _nice_ceiling(peak)
    span = max(len(rows) - 1, 1)

    def x_of(index: int) -> float:
        return LEFT + (right_x - LEFT) * (index / span if len(rows) > 1 else 0.5)

    def y_of(value: int) -> float:
        return bottom_y - (bottom_y - TOP) * value / top_value

    lines = [Line(name, [(x_of(i), y_of(getattr(r, name))) for i, r in enumerate(rows)]) for name in SERIES]
    divisions = 5 if top_value % 5 == 0 else 2 if top_value % 2 == 0 else 1  # whole numbers, evenly spaced
    step = top_value // divisions
    y_ticks = [Tick(y_of(step * k), f"{step * k:,}") for k in range(divisions + 1)] if rows else []
    x_ticks: list[Tick] = []
    if rows:
        every = max(1, len(rows) // 6)
        x_ticks = [Tick(x_of(i), rows[i].minute.strftime("%H:%M")) for i in range(0, len(rows), every)]
    return Chart(WIDTH, HEIGHT, LEFT, TOP, bottom_y, right_x, lines, y_ticks, x_ticks, peak,
                 len(rows) <= MARKERS_UP_TO, rows)
