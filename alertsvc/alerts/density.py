"""Where residents are, for the compose map: counts per grid cell of the current view, never a cell of a few.

Why a grid and not points: the dispatcher needs to see where people live before drawing an area, not who lives
where; a cell is shown only with at least ``ALERTSVC_DENSITY_MIN_COUNT`` residents (default 10) and otherwise
left out, never shown as a smaller number. Cells lie on one fixed grid, a power-of-two fraction of a degree
(:func:`cell_size_for`): coarser as the view widens (at most :data:`MAX_CELLS_ACROSS` across it), never finer
than :data:`FINEST_CELL_DEG`, and always counted whole (the view is widened to cell edges), so panning or zooming
cannot split a cell into parts that single someone out, and the work per request is bounded by the residents in
the view (numpy over the reach index, in a worker thread).

The counts come from the reach index (:mod:`alertsvc.alerts.reach_index`). The map is an aid for drawing, not a
reach: while the index is being rebuilt after a change, the last one built answers, and ``current`` says so.
Before any index exists the answer is empty with ``building`` set (the page asks again shortly).
"""

from __future__ import annotations

import asyncio
import math
from dataclasses import dataclass

import numpy as np

from alertsvc.alerts.reach_index import ReachArrays, index_for
from alertsvc.errors import FieldError, InvalidInput
from alertsvc.runtime import Runtime
from alertsvc.store.resident_snapshot import read_generation

MAX_CELLS_ACROSS = 32
"""At most this many cells across the view's wider side (so at most about 33 × 33 cells are ever counted)."""
FINEST_CELL_DEG = 1 / 256
"""The smallest cell: 1/256° (about 430 m north-south), however far the map is zoomed in."""


@dataclass(frozen=True, slots=True)
class View:
    """The map's view, in degrees: west, south, east, north (``west < east``, ``south < north``)."""

    west: float
    south: float
    east: float
    north: float


@dataclass(frozen=True, slots=True)
class Cell:
    """One grid cell with its residents: ``south``/``west`` its corner, ``size`` its side in degrees."""

    south: float
    west: float
    size: float
    residents: int


@dataclass(frozen=True, slots=True)
class Density:
    cells: list[Cell]
    cell_deg: float
    min_count: int
    current: bool
    """Whether the counts are of the database as it is now (False: the last index built, a rebuild under way)."""
    building: bool
    """No index yet: ``cells`` is empty; ask again in a moment."""


def cell_size_for(view: View) -> float:
    """The grid's cell side for ``view``: the smallest power of two of a degree (not below
    :data:`FINEST_CELL_DEG`) that fits the wider side of the view in :data:`MAX_CELLS_ACROSS` cells."""
    span = max(view.east - view.west, view.north - view.south, FINEST_CELL_DEG)
    return float(max(FINEST_CELL_DEG, 2.0 ** math.ceil(math.log2(span / MAX_CELLS_ACROSS))))


def count_cells(arrays: ReachArrays, view: View, min_count: int) -> tuple[list[Cell], float]:
    """The cells of the fixed grid that the view touches, each counted whole, keeping those of ``min_count`` or
    more residents; and the cell size."""
    size = cell_size_for(view)
    first_row, first_column = math.floor(view.south / size), math.floor(view.west / size)
    rows = max(1, math.ceil(view.north / size) - first_row)
    columns = max(1, math.ceil(view.east / size) - first_column)
    south, west = first_row * size, first_column * size
    north, east = south + rows * size, west + columns * size
    positions = arrays.in_box(south, north, west, east)
    # Dividing by a power of two is exact, so a resident's cell never depends on the view asking.
    row = np.floor(arrays.lats[positions] / size).astype(np.int64) - first_row
    column = np.floor(arrays.lons[positions] / size).astype(np.int64) - first_column
    keep = (row >= 0) & (row < rows) & (column >= 0) & (column < columns)  # a cell is [south, north) × [west, east)
    counts = np.bincount(row[keep] * columns + column[keep], minlength=rows * columns)
    cells = [
        Cell(south + (index // columns) * size, west + (index % columns) * size, size, int(counts[index]))
        for index in np.flatnonzero(counts >= min_count)
    ]
    return cells, size


async def density(runtime: Runtime, view: View) -> Density:
    """Residents per grid cell of ``view``, cells below ``density_min_count`` left out."""
    min_count = runtime.settings.density_min_count
    index = index_for(runtime.settings.resolved_database_url)
    if index is None:
        return Density([], cell_size_for(view), min_count, current=False, building=False)
    async with runtime.sessions() as session:
        generation = await read_generation(session)
    arrays = index.current(generation)  # starts the rebuild when stale
    current = arrays is not None
    arrays = arrays or index.latest
    if arrays is None:
        return Density([], cell_size_for(view), min_count, current=False, building=True)
    cells, size = await asyncio.to_thread(count_cells, arrays, view, min_count)
    return Density(cells, size, min_count, current=current, building=False)


def parse_view(text: str) -> View:
    """``west,south,east,north`` in degrees (Leaflet's ``map.getBounds().toBBoxString()``), clamped to the map
    (a view panned past the antimeridian asks for longitudes beyond ±180). Refused with the field named
    (``bbox``, 422) when it is not four finite numbers or encloses nothing."""
    parts = text.split(",")
    try:
        values = [float(part) for part in parts]
    except ValueError:
        values = []
    if len(values) != 4 or not all(math.isfinite(value) for value in values):
        raise InvalidInput(
            "bbox must be four numbers: west,south,east,north",
            errors=[FieldError(["query", "bbox"], "four numbers expected: west,south,east,north (degrees)")],
        )
    west, south, east, north = values
    view = View(max(west, -180.0), max(south, -90.0), min(east, 180.0), min(north, 90.0))
    if not (view.west < view.east and view.south < view.north):
        raise InvalidInput(
            "bbox encloses nothing on the map",
            errors=[FieldError(["query", "bbox"], "west must be less than east and south less than north")],
        )
    return view
