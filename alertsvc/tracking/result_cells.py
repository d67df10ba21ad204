"""An alert's results on a map, per grid cell: how many residents each cell holds, how many of their deliveries went
out, were confirmed delivered or failed, and how many residents answered safe or asked for help.

Why cells and not points: a dispatcher needs to see *where* a warning did not get through, and a screen in a control
room is seen by many people, so nobody may be singled out on it. Counts are therefore shown only for cells holding
at least :data:`MIN_RESIDENTS` residents; smaller cells are first merged (the grid is coarsened, up to
:data:`LEVELS` doublings of the cell's side, while more than :data:`HIDDEN_SHARE` of the residents would be hidden),
and what is still below the minimum is not drawn, only counted in one total (:attr:`ResultCells.hidden_residents`).

Work is bounded whatever the alert's size. The database does the counting (two grouped queries over the alert's
deliveries and answers, joined to the residents' places), returning one row per occupied cell of the finest grid,
and the finest grid has at most :data:`MAX_CELLS_ACROSS` cells on a side of the residents' extent, so at most
``MAX_CELLS_ACROSS ** 2`` rows. Merging those rows into coarser cells runs in a worker thread once there are more
than :data:`OFF_LOOP_ROWS` of them, so the event loop never waits on it.

The grid is anchored at latitude -90 and longitude -180 with steps that depend only on the cell's size in metres
and the whole degree of latitude the residents are at, so a cell keeps its place from one refresh of the live view
to the next. Cell sizes are :data:`FINEST_METRES` times a power of two: the smallest whose grid spans the residents
in at most :data:`MAX_CELLS_ACROSS` cells.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, fields
from typing import Any

from sqlalchemy import ColumnElement, Integer, case, cast, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from alertsvc.store.db import is_postgresql
from alertsvc.store.models import Acknowledgement, Delivery, Resident
from alertsvc.tracking.acks import Answer
from alertsvc.tracking.live import FAILED_STATES, PENDING_STATES, SUPPRESSED
from alertsvc.tracking.states import DeliveryState

__all__ = [
    "FINEST_METRES",
    "MIN_RESIDENTS",
    "CellCounts",
    "Grid",
    "ResultCell",
    "ResultCells",
    "choose_grid",
    "merge_cells",
    "result_cells",
]

MIN_RESIDENTS = 5
"""Fewest residents a cell must hold for its figures to be shown (k-anonymity of a screen seen by many)."""
FINEST_METRES = 100.0
"""The side of the smallest cell: a block or two, never one house."""
MAX_CELLS_ACROSS = 16
"""The finest grid has at most this many cells along either side of the residents' extent: it bounds the rows read
(256 at most), and a cell stays large enough on the console's map to be seen and labelled."""
LEVELS = 4
"""Grids tried, finest first, each with cells of twice the side of the one before (1x, 2x, 4x, 8x)."""
HIDDEN_SHARE = 0.25
"""Coarsen while more than this share of the residents sits in cells below :data:`MIN_RESIDENTS`. A quarter: a few
residents scattered outside the clusters should not blow every cell up to the size of the whole area (the cells
would then say nothing about where a warning failed); those left out are still counted, in one row."""
OFF_LOOP_ROWS = 200
"""Past this many finest cells, merging them runs in a worker thread (``asyncio.to_thread``)."""
METRES_PER_DEGREE = 111_320.0
"""Metres in a degree of latitude (and of longitude at the equator), for sizing cells."""

_DELIVERED = DeliveryState.DELIVERED.value
_SENT = DeliveryState.SENT.value


@dataclass(frozen=True, slots=True)
class CellCounts:
    """What happened in one cell (or in all hidden cells together)."""

    residents: int = 0
    """Residents with a delivery of the alert planned (any channel, any state)."""
    deliveries: int = 0
    """Deliveries meant to reach someone (suppressed ones are left out, as the progress bar leaves them out)."""
    sent: int = 0
    """Handed to the provider, no receipt yet (``sent``)."""
    delivered: int = 0
    """Confirmed delivered by the provider."""
    failed: int = 0
    """Failed or undeliverable."""
    waiting: int = 0
    """Queued or being sent."""
    safe: int = 0
    """Residents who answered that they are safe."""
    help: int = 0
    """Residents who asked for help."""

    def plus(self, other: CellCounts) -> CellCounts:
        return CellCounts(*(getattr(self, f.name) + getattr(other, f.name) for f in fields(CellCounts)))

    @property
    def delivered_percent(self) -> int:
        """Confirmed delivered, as a whole percentage of the deliveries (rounded down: 99 until all are)."""
        return math.floor(100 * self.delivered / self.deliveries) if self.deliveries else 0

    @property
    def reached_percent(self) -> int:
        """Sent or delivered (out of our hands, not failed), as a whole percentage of the deliveries."""
        return math.floor(100 * (self.sent + self.delivered) / self.deliveries) if self.deliveries else 0

    def as_dict(self) -> dict[str, int]:
        values = {f.name: getattr(self, f.name) for f in fields(CellCounts)}
        return {**values, "delivered_percent": self.delivered_percent, "reached_percent": self.reached_percent}


@dataclass(frozen=True, slots=True)
class Grid:
    """A grid of square-ish cells of ``metres`` a side, anchored at (-90, -180)."""

    metres: float
    ref_lat: int
    """The whole degree of latitude the longitude step is computed at."""

    @property
    def lat_step(self) -> float:
        return self.metres / METRES_PER_DEGREE

    @property
    def lon_step(self) -> float:
        return self.lat_step / max(math.cos(math.radians(self.ref_lat)), 0.01)

    def coarser(self, level: int) -> Grid:
        return Grid(self.metres * 2**level, self.ref_lat)

    def bounds(self, row: int, col: int) -> tuple[float, float, float, float]:
        """(south, west, north, east) of the cell at ``row``, ``col``."""
        south, west = row * self.lat_step - 90.0, col * self.lon_step - 180.0
        return (south, west, south + self.lat_step, west + self.lon_step)


@dataclass(frozen=True, slots=True)
class ResultCell:
    row: int
    col: int
    label: str
    """A grid reference a dispatcher can say aloud ("C4"): a column letter (west to east) and a row number (north
    to south), counted from the north-west corner of the cells drawn."""
    bounds: tuple[float, float, float, float]
    counts: CellCounts


@dataclass(frozen=True, slots=True)
class ResultCells:
    cells: list[ResultCell]
    """Cells shown, north to south, then west to east."""
    metres: float
    """The side of a cell, in metres (0 when there is nothing to show)."""
    min_residents: int
    hidden_cells: int
    hidden: CellCounts
    """Everything in the cells not drawn (fewer than :data:`MIN_RESIDENTS` residents), added together."""
    total: CellCounts

    @property
    def hidden_residents(self) -> int:
        return self.hidden.residents


def choose_grid(south: float, west: float, north: float, east: float) -> Grid:
    """The finest grid (:data:`FINEST_METRES` times a power of two) spanning the extent in at most
    :data:`MAX_CELLS_ACROSS` cells a side."""
    ref_lat = round((south + north) / 2)
    span_m = max(
        (north - south) * METRES_PER_DEGREE,
        (east - west) * METRES_PER_DEGREE * max(math.cos(math.radians(ref_lat)), 0.01),
    )
    metres = FINEST_METRES
    while span_m / metres > MAX_CELLS_ACROSS:
        metres *= 2
    return Grid(metres, ref_lat)


def _cell_index(session: AsyncSession, column: Any, offset: float, step: float) -> ColumnElement[Any]:
    """``floor((column + offset) / step)`` as an integer in the session's dialect. The value is never negative
    (latitude + 90, longitude + 180), so SQLite's truncating cast is a floor; PostgreSQL's cast rounds instead."""
    scaled = (column + offset) / step
    if is_postgresql(session):
        return cast(func.floor(scaled), Integer)
    return cast(scaled, Integer)


def _state_sum(states: Iterable[str]) -> ColumnElement[Any]:
    return func.sum(case((Delivery.state.in_(list(states)), 1), else_=0))


async def _finest_counts(session: AsyncSession, alert_id: str, grid: Grid) -> dict[tuple[int, int], CellCounts]:
    row = _cell_index(session, Resident.lat, 90.0, grid.lat_step).label("cell_row")
    col = _cell_index(session, Resident.lon, 180.0, grid.lon_step).label("cell_col")
    delivered = await session.execute(
        select(
            row,
            col,
            func.count(func.distinct(Delivery.resident_id)),
            func.sum(case((Delivery.state != SUPPRESSED, 1), else_=0)),
            _state_sum([_SENT]),
            _state_sum([_DELIVERED]),
            _state_sum(FAILED_STATES),
            _state_sum(PENDING_STATES),
        )
        .join(Resident, Resident.id == Delivery.resident_id)
        .where(Delivery.alert_id == alert_id)
        .group_by(row, col)
    )
    found: dict[tuple[int, int], CellCounts] = {
        (int(r), int(c)): CellCounts(int(n), int(d or 0), int(s or 0), int(ok or 0), int(f or 0), int(w or 0))
        for r, c, n, d, s, ok, f, w in delivered
    }
    answered = await session.execute(
        select(row, col, Acknowledgement.answer, func.count())
        .join(Resident, Resident.id == Acknowledgement.resident_id)
        .where(Acknowledgement.alert_id == alert_id)
        .group_by(row, col, Acknowledgement.answer)
    )
    for r, c, answer, n in answered:
        key = (int(r), int(c))
        extra = CellCounts(safe=int(n)) if answer == Answer.SAFE.value else CellCounts(help=int(n))
        found[key] = found.get(key, CellCounts()).plus(extra)
    return found


def _coarsen(finest: Mapping[tuple[int, int], CellCounts], level: int) -> dict[tuple[int, int], CellCounts]:
    merged: dict[tuple[int, int], CellCounts] = {}
    for (row, col), counts in finest.items():
        key = (row >> level, col >> level)
        merged[key] = merged[key].plus(counts) if key in merged else counts
    return merged


def _column_name(index: int) -> str:
    """0 → A, 25 → Z, 26 → AA: spreadsheet-style column letters."""
    name = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        name = chr(ord("A") + rest) + name
    return name


def merge_cells(finest: Mapping[tuple[int, int], CellCounts], grid: Grid, min_residents: int) -> ResultCells:
    """The cells to draw from the finest grid's counts: the finest level at which no more than
    :data:`HIDDEN_SHARE` of the residents are in cells below ``min_residents`` (else the coarsest tried), its
    cells below the minimum hidden and totalled apart. Pure, so it can run in a worker thread."""
    total = CellCounts()
    for counts in finest.values():
        total = total.plus(counts)
    if not finest:
        return ResultCells([], 0.0, min_residents, 0, CellCounts(), total)
    chosen: dict[tuple[int, int], CellCounts] = {}
    level = 0
    for level in range(LEVELS):
        chosen = _coarsen(finest, level)
        hidden = sum(c.residents for c in chosen.values() if c.residents < min_residents)
        if hidden <= HIDDEN_SHARE * total.residents:
            break
    used = grid.coarser(level)
    shown = {key: counts for key, counts in chosen.items() if counts.residents >= min_residents}
    hidden_counts = CellCounts()
    for key, counts in chosen.items():
        if key not in shown:
            hidden_counts = hidden_counts.plus(counts)
    top = max((row for row, _ in shown), default=0)
    left = min((col for _, col in shown), default=0)
    cells = [
        ResultCell(row, col, f"{_column_name(col - left)}{top - row + 1}", used.bounds(row, col), counts)
        for (row, col), counts in sorted(shown.items(), key=lambda item: (-item[0][0], item[0][1]))
    ]
    return ResultCells(cells, used.metres, min_residents, len(chosen) - len(shown), hidden_counts, total)


async def result_cells(session: AsyncSession, alert_id: str, min_residents: int = MIN_RESIDENTS) -> ResultCells:
    """The alert's results per cell (see the module docstring), counted in the database of ``session``."""
    south, west, north, east = (
        await session.execute(
            select(func.min(Resident.lat), func.min(Resident.lon), func.max(Resident.lat), func.max(Resident.lon))
            .join(Delivery, Delivery.resident_id == Resident.id)
            .where(Delivery.alert_id == alert_id)
        )
    ).one()
    if south is None:
        return ResultCells([], 0.0, min_residents, 0, CellCounts(), CellCounts())
    grid = choose_grid(float(south), float(west), float(north), float(east))
    finest = await _finest_counts(session, alert_id, grid)
    if len(finest) > OFF_LOOP_ROWS:
        return await asyncio.to_thread(merge_cells, finest, grid, min_residents)
    return merge_cells(finest, grid, min_residents)
