"""The oracles are only worth trusting if they get the obvious cases right."""

from __future__ import annotations

import math

import pytest

from .oracles import destination, haversine_km, orientation, point_in_ring

SQUARE = [(0.0, 0.0), (0.0, 1.0), (1.0, 1.0), (1.0, 0.0), (0.0, 0.0)]  # (lat, lon)
U_SHAPE = [(0, 0), (0, 3), (3, 3), (3, 2), (1, 2), (1, 1), (3, 1), (3, 0), (0, 0)]


@pytest.mark.parametrize(
    ("point", "expected"),
    [
        ((0.5, 0.5), True),
        ((0.0, 0.0), True),  # vertex
        ((0.0, 0.5), True),  # edge
        ((1.0, 0.25), True),  # top edge
        ((0.5, 1.0), True),  # right edge
        ((1.5, 0.5), False),
        ((0.5, -0.001), False),
        ((0.0, 2.0), False),  # on the line of an edge, beyond it
    ],
)
def test_square(point: tuple[float, float], expected: bool) -> None:
    assert point_in_ring(point, SQUARE) is expected


def test_u_shape_notch_is_outside() -> None:
    ring = [(float(a), float(b)) for a, b in U_SHAPE]
    assert point_in_ring((2.0, 1.5), ring) is False  # in the notch
    assert point_in_ring((2.0, 0.5), ring) is True  # in an arm
    assert point_in_ring((1.0, 1.5), ring) is True  # bottom of the notch (edge)
    assert point_in_ring((3.0, 1.5), ring) is False  # across the notch's mouth


def test_ray_through_vertex_counts_once() -> None:
    diamond = [(0.0, 1.0), (1.0, 2.0), (2.0, 1.0), (1.0, 0.0), (0.0, 1.0)]
    assert point_in_ring((1.0, 0.5), diamond) is True
    assert point_in_ring((1.0, -0.5), diamond) is False
    assert point_in_ring((1.0, 2.5), diamond) is False


def test_orientation_is_exact_near_zero() -> None:
    a, b = (0.1, 0.1), (0.3, 0.3)
    on = (0.2, 0.2)
    assert orientation(a, b, on) in (-1, 0, 1)
    assert orientation((0.0, 0.0), (1.0, 1.0), (0.5, 0.5)) == 0
    assert orientation((0.0, 0.0), (0.0, 1.0), (1.0, 0.5)) == 1


def test_haversine_known_distances() -> None:
    quarter = math.pi / 2 * 6371.0088
    assert haversine_km(0, 0, 0, 90) == pytest.approx(quarter)
    assert haversine_km(0, 0, 90, 0) == pytest.approx(quarter)
    assert haversine_km(45.5, -73.6, 45.5, -73.6) == 0.0
    assert haversine_km(10, 20, *destination(10, 20, 37, 123.4)) == pytest.approx(123.4, abs=1e-9)
