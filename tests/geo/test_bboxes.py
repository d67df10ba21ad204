"""The SQL prefilter boxes: few, covering, and in the documented order."""

from __future__ import annotations

import numpy as np
import pytest

from alertsvc.geo.areas import LatLon, PolygonArea
from alertsvc.geo.targeting import (
    BBOX_PAD_DEG,
    BBox,
    BetweenParams,
    TargetArea,
    bbox_filter_params,
    merge_boxes,
)


def tiny_square(lat: float, lon: float, size: float = 0.01) -> PolygonArea:
    corners = [(lat, lon), (lat, lon + size), (lat + size, lon + size), (lat + size, lon), (lat, lon)]
    return PolygonArea(points=tuple(LatLon(lat=a, lon=b) for a, b in corners))


def test_params_are_in_between_order() -> None:
    target = TargetArea([tiny_square(10.0, 50.0, 1.0)])
    (params,) = bbox_filter_params(target)
    assert isinstance(params, BetweenParams)
    assert params == pytest.approx((10.0, 11.0, 50.0, 51.0), abs=2 * BBOX_PAD_DEG)
    assert params.lat_low < 10.0 and params.lon_high > 51.0  # padded outward, never inward


def test_many_areas_are_merged_but_still_covered() -> None:
    rng = np.random.default_rng(7)
    squares = [
        tiny_square(float(a), float(b))
        for a, b in zip(rng.uniform(40, 50, 400), rng.uniform(-80, -70, 400), strict=True)
    ]
    target = TargetArea(squares)
    boxes = target.bboxes(max_boxes=8)
    assert len(boxes) <= 8
    for square in squares:
        min_lat, min_lon, max_lat, max_lon = square.bbox()
        assert any(
            b.min_lat <= min_lat and b.min_lon <= min_lon and b.max_lat >= max_lat and b.max_lon >= max_lon
            for b in boxes
        )


def test_nested_boxes_collapse_and_distant_ones_stay_apart() -> None:
    big = BBox(0.0, 0.0, 10.0, 10.0)
    small = BBox(1.0, 1.0, 2.0, 2.0)
    far = BBox(50.0, 50.0, 51.0, 51.0)
    assert sorted(merge_boxes([big, small, far])) == [big, far]
    assert merge_boxes([big, small, far], max_boxes=1) == [BBox(0.0, 0.0, 51.0, 51.0)]
    assert merge_boxes([]) == []
    with pytest.raises(ValueError, match="max_boxes"):
        merge_boxes([big], max_boxes=0)


def test_greedy_merge_joins_the_cheapest_pair() -> None:
    a, b = BBox(0.0, 0.0, 1.0, 1.0), BBox(0.0, 1.5, 1.0, 2.5)  # neighbours
    c = BBox(30.0, 30.0, 31.0, 31.0)  # far away
    merged = merge_boxes([a, b, c], max_boxes=2)
    assert sorted(merged) == [BBox(0.0, 0.0, 1.0, 2.5), c]
