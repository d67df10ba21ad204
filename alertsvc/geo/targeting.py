"""Which residents are inside an alert's area: the exact test, vectorised for streamed chunks.

Targeting a city of millions has two stages, and this module serves both:

1. **Prefilter in the database.** :func:`bbox_filter_params` turns the alert's areas into a few
   latitude/longitude boxes that an index on ``(lat, lon)`` answers cheaply. The boxes are a *superset*:
   they never leave out anyone inside, they may let in some who are outside.
2. **Exact test in Python.** The store streams the prefiltered residents back in chunks of numpy arrays and
   :meth:`TargetArea.contains` decides each one exactly: inside **or on the boundary** of any area.

Why these choices:

* Polygons are tested with shapely 2's prepared-geometry ``intersects_xy``: robust predicates, an edge index,
  no Python object per point (``intersects`` rather than ``contains`` because the boundary counts). Each
  polygon is tested on its own and the results OR-ed; a MultiPolygon of overlapping parts is invalid and
  ray-crossing parity would put the overlap *outside*, and a geometric union would move shared edges by
  rounding.
* Circles are great-circle discs (haversine, :data:`EARTH_RADIUS_KM`) computed in numpy. A point computed to
  lie exactly on the circle may come out a few ulps further, so :data:`CIRCLE_TOLERANCE_KM` (1 mm) errs on
  the side of warning the resident.
* Polygon edges are straight lines in (lat, lon), the usual reading of a CAP polygon, taken the short way
  round: an edge whose longitudes differ by more than 180 degrees crosses the antimeridian. Such a polygon is
  tested as its pieces (:meth:`~alertsvc.geo.areas.PolygonArea.pieces`, the copies of the unwrapped ring that
  reach each side of the map), each with its own box, so both sides are found and the far side never is. A
  circle's test is periodic in longitude already; its box is split at the meridian instead (:func:`area_boxes`).
  The SQL prefilter therefore never sees a longitude outside -180..180.

Latitude always comes first in this module's signatures and shapely, whose x is longitude, is only called
here. Call ``contains(lats=..., lons=...)`` by keyword where the arrays come from far away.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np
import numpy.typing as npt
import shapely

from alertsvc.geo.areas import EARTH_RADIUS_KM, Area, CircleArea, PolygonArea

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]

CIRCLE_TOLERANCE_KM = 1e-6
"""A point this close outside a circle (1 mm) still counts as inside: float rounding, not geography."""

BBOX_PAD_DEG = 1e-9
"""Every prefilter box is grown by this much (about 0.1 mm) so that a coordinate's round trip through the
database (text, REAL, double precision) can never push a boundary resident out of the box."""

DEFAULT_MAX_BOXES = 16
"""How many boxes :meth:`TargetArea.bboxes` returns at most: enough to keep two distant areas apart, few
enough for the query planner to OR index range scans."""

_PREMERGE_GRID = 16
"""Past ``_PREMERGE_GRID**2`` boxes, boxes are first pooled per cell of a coarse grid (keeps merging fast)."""


class BBox(NamedTuple):
    """A closed latitude/longitude box, in the same field order as ``PolygonArea.bbox()``."""

    min_lat: float
    min_lon: float
    max_lat: float
    max_lon: float

    def union(self, other: BBox) -> BBox:
        """The smallest box containing both."""
        return BBox(
            min(self.min_lat, other.min_lat),
            min(self.min_lon, other.min_lon),
            max(self.max_lat, other.max_lat),
            max(self.max_lon, other.max_lon),
        )

    def mask(self, lats: FloatArray, lons: FloatArray) -> BoolArray:
        """Which points lie in the box (edges included): the numpy twin of the SQL ``BETWEEN`` filter."""
        in_lat = (lats >= self.min_lat) & (lats <= self.max_lat)
        return in_lat & (lons >= self.min_lon) & (lons <= self.max_lon)


class BetweenParams(NamedTuple):
    """One box in the order of ``lat BETWEEN ? AND ? AND lon BETWEEN ? AND ?`` (named, so never swapped)."""

    lat_low: float
    lat_high: float
    lon_low: float
    lon_high: float


def _padded(box: tuple[float, float, float, float], pad: float = BBOX_PAD_DEG) -> BBox:
    min_lat, min_lon, max_lat, max_lon = box
    return BBox(
        max(-90.0, min_lat - pad),
        max(-180.0, min_lon - pad),
        min(90.0, max_lat + pad),
        min(180.0, max_lon + pad),
    )


def _on_map(min_lon: float, max_lon: float) -> list[tuple[float, float]]:
    """The parts of the longitude range ``min_lon..max_lon`` (continuous, past +-180 near the antimeridian,
    less than a turn wide) on the map's -180..180, each as (low, high); edges included, so a range that only
    touches +-180 also gets the same meridian under its other name."""
    parts = []
    for turns in (-1, 0, 1):
        low, high = min_lon + 360.0 * turns, max_lon + 360.0 * turns
        if low <= 180.0 and high >= -180.0:
            parts.append((max(-180.0, low), min(180.0, high)))
    return parts


def area_boxes(area: Area) -> list[BBox]:
    """Boxes holding every point :meth:`TargetArea.contains` accepts for ``area`` (padded, never smaller).

    One box, unless the area reaches across (or up to) the antimeridian: then one on each side. A circle's
    boxes are computed for the radius plus :data:`CIRCLE_TOLERANCE_KM`, since that is what the exact test
    accepts.
    """
    if isinstance(area, CircleArea):
        widened = CircleArea(center=area.center, radius_km=area.radius_km + CIRCLE_TOLERANCE_KM)
        min_lat, min_lon, max_lat, max_lon = widened.bbox()
        return [_padded((min_lat, low, max_lat, high)) for low, high in _on_map(min_lon, max_lon)]
    return [_piece_box(piece) for piece in area.pieces()]


def _piece_box(piece: Any) -> BBox:
    """The box of one polygon piece, on the map (a piece may run past +-180, where nobody is)."""
    min_lon, min_lat, max_lon, max_lat = piece.bounds
    return _padded((min_lat, max(-180.0, min_lon), max_lat, min(180.0, max_lon)))


def _mask(boxes: Sequence[BBox], lats: FloatArray, lons: FloatArray) -> BoolArray:
    mask = boxes[0].mask(lats, lons)
    for box in boxes[1:]:
        mask |= box.mask(lats, lons)
    return mask


def _box_areas(boxes: FloatArray) -> FloatArray:
    return (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])


def _premerge_by_grid(boxes: list[BBox]) -> list[BBox]:
    """Pool boxes whose centres share a cell of a coarse grid over their extent: O(n), bounded output."""
    arr = np.array(boxes, dtype=np.float64)
    lat_c = (arr[:, 0] + arr[:, 2]) / 2
    lon_c = (arr[:, 1] + arr[:, 3]) / 2

    def cell(values: FloatArray) -> npt.NDArray[np.int64]:
        low, high = float(values.min()), float(values.max())
        span = high - low or 1.0
        return np.minimum((values - low) / span * _PREMERGE_GRID, _PREMERGE_GRID - 1).astype(np.int64)

    pooled: dict[int, BBox] = {}
    for index, key in enumerate(cell(lat_c) * _PREMERGE_GRID + cell(lon_c)):
        k = int(key)
        pooled[k] = pooled[k].union(boxes[index]) if k in pooled else boxes[index]
    return list(pooled.values())


def _drop_covered(boxes: list[BBox]) -> list[BBox]:
    """Remove boxes that lie inside another: they add nothing to the OR."""
    if len(boxes) < 2:
        return boxes
    arr = np.array(boxes, dtype=np.float64)
    covers = (
        (arr[:, None, 0] <= arr[None, :, 0])
        & (arr[:, None, 1] <= arr[None, :, 1])
        & (arr[:, None, 2] >= arr[None, :, 2])
        & (arr[:, None, 3] >= arr[None, :, 3])
    )
    np.fill_diagonal(covers, False)
    keep = np.flatnonzero(~np.any(covers, axis=0))
    return [boxes[int(index)] for index in keep]


def merge_boxes(boxes: Iterable[BBox], max_boxes: int = DEFAULT_MAX_BOXES) -> list[BBox]:
    """Reduce ``boxes`` to at most ``max_boxes`` that together cover all of them.

    Boxes inside another are dropped first (free). Then, greedily, the pair whose union adds the least area
    (degrees squared) beyond the two boxes is replaced by that union, so that boxes far apart stay apart as
    long as the budget allows. The result always covers the input: the one property the prefilter needs.
    """
    if max_boxes < 1:
        raise ValueError("max_boxes must be at least 1")
    merged = list(dict.fromkeys(boxes))
    if len(merged) > _PREMERGE_GRID**2:
        merged = _premerge_by_grid(merged)  # before anything quadratic
    merged = _drop_covered(merged)
    while len(merged) > max_boxes:
        arr = np.array(merged, dtype=np.float64)
        lo = np.minimum(arr[:, None, :2], arr[None, :, :2])
        hi = np.maximum(arr[:, None, 2:], arr[None, :, 2:])
        own = _box_areas(arr)
        cost = (hi[..., 0] - lo[..., 0]) * (hi[..., 1] - lo[..., 1]) - own[:, None] - own[None, :]
        cost[np.tril_indices(len(merged))] = np.inf
        i, j = divmod(int(np.argmin(cost)), len(merged))
        union = merged[i].union(merged[j])
        merged = _drop_covered([box for k, box in enumerate(merged) if k not in (i, j)] + [union])
    return merged


@dataclass(frozen=True, slots=True)
class _PolygonTest:
    """One polygon: each piece prepared once (shapely builds its edge index on the first query), with its box.

    Nearly every polygon is one piece; one across the antimeridian has a piece on each side of it.
    """

    boxes: tuple[BBox, ...]
    geometries: tuple[Any, ...]

    def contains(self, lats: FloatArray, lons: FloatArray) -> BoolArray:
        if len(self.geometries) == 1:  # the caller has already kept only the points in the one box
            result: BoolArray = shapely.intersects_xy(self.geometries[0], lons, lats)  # shapely: x=lon, y=lat
            return result
        inside = np.zeros(lats.shape, dtype=np.bool_)
        for box, geometry in zip(self.boxes, self.geometries, strict=True):
            candidates = np.flatnonzero(~inside & box.mask(lats, lons))
            if candidates.size:
                inside[candidates] = shapely.intersects_xy(geometry, lons[candidates], lats[candidates])
        return inside


@dataclass(frozen=True, slots=True)
class _CircleTest:
    """One great-circle disc, compared in haversine space: no arcsin or sqrt per point.

    The haversine only sees ``sin`` of half the longitude difference, the same a whole turn apart, so a disc
    across the antimeridian needs nothing here; only its boxes are split (:func:`area_boxes`).
    """

    boxes: tuple[BBox, ...]
    lat_rad: float
    lon_rad: float
    cos_lat: float
    max_haversine: float

    def contains(self, lats: FloatArray, lons: FloatArray) -> BoolArray:
        phi = np.radians(lats)
        half_dphi = np.sin((phi - self.lat_rad) / 2)
        half_dlam = np.sin((np.radians(lons) - self.lon_rad) / 2)
        hav = half_dphi * half_dphi + self.cos_lat * np.cos(phi) * (half_dlam * half_dlam)
        result: BoolArray = hav <= self.max_haversine
        return result


def _compile(area: Area) -> _PolygonTest | _CircleTest:
    boxes = tuple(area_boxes(area))
    if isinstance(area, CircleArea):
        lat_rad = math.radians(area.center.lat)
        half_angle = (area.radius_km + CIRCLE_TOLERANCE_KM) / EARTH_RADIUS_KM / 2
        # haversine(d) = sin²(d / 2R) rises monotonically up to the antipode (d / R = pi)
        max_hav = 1.0 if half_angle >= math.pi / 2 else math.sin(half_angle) ** 2
        return _CircleTest(boxes, lat_rad, math.radians(area.center.lon), math.cos(lat_rad), max_hav)
    geometries = tuple(area.pieces())
    for geometry in geometries:
        shapely.prepare(geometry)
        # the first point query builds GEOS's edge index; do it now, not inside the first chunk
        x, y = geometry.exterior.coords[0]
        shapely.intersects_xy(geometry, x, y)
    return _PolygonTest(boxes, geometries)


def _coords(values: npt.ArrayLike, name: str) -> FloatArray:
    array = np.asarray(values, dtype=np.float64)
    if array.ndim != 1:
        raise ValueError(f"{name} must be a one-dimensional array, got shape {array.shape}")
    return array


def _coordinate_arrays(lats: npt.ArrayLike, lons: npt.ArrayLike) -> tuple[FloatArray, FloatArray]:
    lat, lon = _coords(lats, "lats"), _coords(lons, "lons")
    if lat.shape != lon.shape:
        raise ValueError(f"lats and lons differ in length ({lat.size} != {lon.size})")
    return lat, lon


class TargetArea:
    """The union of an alert's areas (all areas of all infos), compiled once and reused for every chunk.

    Compiling prepares each polygon (and builds its edge index) and precomputes each circle's constants, so
    the per-chunk cost is only the vectorised test. Compile once per alert and fan-out job; instances are
    not changed after construction.
    """

    __slots__ = ("_areas", "_tests")

    def __init__(self, areas: Iterable[Area]) -> None:
        self._areas: tuple[Area, ...] = tuple(areas)
        for area in self._areas:
            if not isinstance(area, PolygonArea | CircleArea):
                raise TypeError(f"expected PolygonArea or CircleArea, got {type(area).__name__}")
        self._tests = tuple(_compile(area) for area in self._areas)

    @property
    def areas(self) -> tuple[Area, ...]:
        """The areas, in the order given (the column order of :meth:`matches`)."""
        return self._areas

    def __len__(self) -> int:
        return len(self._areas)

    def __repr__(self) -> str:
        return f"TargetArea({len(self._areas)} areas)"

    def bboxes(self, max_boxes: int = DEFAULT_MAX_BOXES) -> list[BBox]:
        """At most ``max_boxes`` closed boxes ``(min_lat, min_lon, max_lat, max_lon)`` covering every area.

        Anyone :meth:`contains` accepts lies in at least one box. An empty target gives no boxes, which must
        select nobody.
        """
        return merge_boxes((box for test in self._tests for box in test.boxes), max_boxes)

    def contains(self, lats: npt.ArrayLike, lons: npt.ArrayLike) -> BoolArray:
        """For each resident, whether ``(lats[i], lons[i])`` is inside or on the boundary of any area.

        Arrays of any length (a streamed chunk); NaN coordinates are never inside. Each area only examines
        the points in its own box that no earlier area has already claimed.
        """
        lat, lon = _coordinate_arrays(lats, lons)
        inside = np.zeros(lat.shape, dtype=np.bool_)
        for test in self._tests:
            candidates = np.flatnonzero(~inside & _mask(test.boxes, lat, lon))
            if candidates.size:
                inside[candidates] = test.contains(lat[candidates], lon[candidates])
        return inside

    def matches(self, lats: npt.ArrayLike, lons: npt.ArrayLike) -> BoolArray:
        """A ``(len(points), len(areas))`` matrix: which areas each resident is in (boundary included).

        For callers that need more than yes/no, e.g. which info's area or which zone reached a resident.
        ``matches(...).any(axis=1)`` equals :meth:`contains`.
        """
        lat, lon = _coordinate_arrays(lats, lons)
        result = np.zeros((lat.size, len(self._tests)), dtype=np.bool_)
        for column, test in enumerate(self._tests):
            candidates = np.flatnonzero(_mask(test.boxes, lat, lon))
            if candidates.size:
                result[candidates, column] = test.contains(lat[candidates], lon[candidates])
        return result


def bbox_filter_params(target: TargetArea, max_boxes: int = DEFAULT_MAX_BOXES) -> list[BetweenParams]:
    """The database prefilter for ``target``: one :class:`BetweenParams` per OR-ed box.

    Contract for a repository:

    * Build ``WHERE (lat BETWEEN ? AND ? AND lon BETWEEN ? AND ?) OR (...) ...`` with one parenthesised
      group per item, binding ``lat_low, lat_high, lon_low, lon_high`` in that order (or, in SQLAlchemy,
      ``or_(*(and_(lat.between(p.lat_low, p.lat_high), lon.between(p.lon_low, p.lon_high)) for p in ...))``).
    * ``BETWEEN`` is inclusive on both ends, as the boxes are; coordinates are WGS 84 degrees.
    * An empty list means the target covers nobody: run no query (never emit an empty ``WHERE ()``).
    * The result is a superset: every resident :meth:`TargetArea.contains` accepts passes it. Always run
      ``contains`` on what comes back; never send on the prefilter alone.
    """
    return [BetweenParams(b.min_lat, b.max_lat, b.min_lon, b.max_lon) for b in target.bboxes(max_boxes)]


def bbox_prefilter_mask(
    boxes: Sequence[BBox] | Sequence[BetweenParams], lats: npt.ArrayLike, lons: npt.ArrayLike
) -> BoolArray:
    """In-memory equivalent of the SQL prefilter, for tests, benchmarks and stores without an index."""
    lat, lon = _coordinate_arrays(lats, lons)
    mask = np.zeros(lat.shape, dtype=np.bool_)
    for box in boxes:
        if isinstance(box, BetweenParams):
            box = BBox(box.lat_low, box.lon_low, box.lat_high, box.lon_high)
        mask |= box.mask(lat, lon)
    return mask
