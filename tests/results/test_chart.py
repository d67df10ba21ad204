"""The chart's geometry: whole, evenly spaced axis labels above the busiest minute, empty minutes kept."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from itertools import pairwise

import pytest

from alertsvc.tracking.report import MinuteCounts
from alertsvc.web.console.chart import build

START = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize("peak", [1, 3, 6, 7, 19, 99, 101, 12_345])
def test_axis_labels_are_whole_evenly_spaced_and_cover_the_peak(peak: int) -> None:
    chart = build([MinuteCounts(START, peak, 0, 0), MinuteCounts(START + timedelta(minutes=1), 0, 0, 1)])
    values = [int(t.label.replace(",", "")) for t in chart.y_ticks]
    assert values[0] == 0 and values[-1] >= peak
    steps = {b - a for a, b in pairwise(values)}
    assert len(steps) == 1
    gaps = {round(a.at - b.at, 3) for a, b in pairwise(chart.y_ticks)}
    assert len(gaps) == 1  # the labels sit where their values are
    sent = chart.lines[0]
    assert sent.name == "sent" and sent.points[0][1] < sent.points[1][1]  # the busier minute is drawn higher
    assert chart.total("sent") == peak and chart.total("answered") == 1


def test_no_minutes_no_axis() -> None:
    chart = build([])
    assert chart.rows == [] and chart.y_ticks == [] and chart.x_ticks == []
