"""The live view's results map of one alert, as GeoJSON: the cells of :mod:`alertsvc.tracking.result_cells`
(delivery and answers per grid cell, small cells merged or left out) and the residents who asked for help as points.

Help requests are the one place where a resident is shown on their own: a dispatcher has to send someone there. They
are given only to readers whose role may read residents (:data:`~alertsvc.security.scopes.Scope.RESIDENTS_READ`);
anyone else gets the cells alone and ``"help_markers": false`` so the page can say why there are none. Each point
carries the resident's reference, whether the request is handled, and when it was made, never a phone number or an
address (those stay in the need-help list, for the roles that may see them).

The GeoJSON is a FeatureCollection (RFC 7946, ``[lon, lat]``) with foreign members ``summary`` (the cell side in
metres, the minimum count, and the totals of the cells not drawn) and ``help_markers``.

Counting cells reads every delivery of the alert (3 to 5 s for a million, PostgreSQL or SQLite, measured on a
loaded two-core machine), and every console watching the alert asks again when its counts move. So one process
counts one alert's cells once at a time (callers arriving meanwhile share that count), and a count that took longer
than :data:`SLOW_SECONDS` is reused for :data:`REUSE_FACTOR` times as long as it took: one process spends at most a
quarter of the time counting one alert's map, however many dispatchers watch it. Small alerts are counted afresh.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from alertsvc.alerts import service
from alertsvc.security.principal import Principal
from alertsvc.security.scopes import Scope
from alertsvc.tracking.help_requests import HelpRequest, help_requests
from alertsvc.tracking.result_cells import ResultCell, ResultCells, result_cells

if TYPE_CHECKING:
    from alertsvc.runtime import Runtime

__all__ = ["HELP_MARKERS_SHOWN", "may_see_places", "results_geojson"]

HELP_MARKERS_SHOWN = 500
"""Help requests drawn at most (the waiting ones first); the need-help list and its CSV have them all."""
SLOW_SECONDS = 0.2
"""A count slower than this is reused for a while (see the module docstring)."""
REUSE_FACTOR = 3.0


@dataclass(frozen=True, slots=True)
class _Counted:
    cells: ResultCells
    at: float
    """``time.monotonic()`` when the count finished."""
    took: float

    def fresh(self, now: float) -> bool:
        return self.took > SLOW_SECONDS and now - self.at < REUSE_FACTOR * self.took


_counted: dict[tuple[int, str], _Counted] = {}
_counting: dict[tuple[int, str], asyncio.Task[ResultCells]] = {}


def may_see_places(reader: Principal) -> bool:
    """Whether ``reader`` may see where a single resident is (their help request on the map)."""
    return reader.can(Scope.RESIDENTS_READ)


def _cell_feature(cell: ResultCell) -> dict[str, Any]:
    south, west, north, east = cell.bounds
    ring = [[west, south], [east, south], [east, north], [west, north], [west, south]]
    return {
        "type": "Feature",
        "geometry": {"type": "Polygon", "coordinates": [ring]},
        "properties": {"kind": "cell", "label": cell.label, **cell.counts.as_dict()},
    }


def _help_feature(request: HelpRequest) -> dict[str, Any]:
    return {
        "type": "Feature",
        "geometry": {"type": "Point", "coordinates": [request.lon, request.lat]},
        "properties": {
            "kind": "help",
            "resident_id": request.resident_id,
            "ref": request.resident_ref,
            "zone": request.zone,
            "asked_at": request.asked_at.isoformat(),
            "handled": request.handled,
            "asked_again": request.asked_again,
        },
    }


def _summary(cells: ResultCells) -> dict[str, Any]:
    return {
        "cell_metres": cells.metres,
        "min_residents": cells.min_residents,
        "cells": len(cells.cells),
        "hidden_cells": cells.hidden_cells,
        "hidden": cells.hidden.as_dict(),
        "total": cells.total.as_dict(),
    }


async def _count(runtime: Runtime, alert_id: str) -> ResultCells:
    started = time.monotonic()
    async with runtime.sessions() as session:
        await service.get_alert(session, alert_id)
        cells = await result_cells(session, alert_id)
    finished = time.monotonic()
    _counted[(id(runtime), alert_id)] = _Counted(cells, finished, finished - started)
    return cells


async def _cells(runtime: Runtime, alert_id: str) -> ResultCells:
    """The alert's cells: a recent slow count reused, a count under way shared, else counted now."""
    key = (id(runtime), alert_id)
    recent = _counted.get(key)
    if recent is not None and recent.fresh(time.monotonic()):
        return recent.cells
    for stale in [k for k, v in _counted.items() if not v.fresh(time.monotonic())]:
        del _counted[stale]
    task = _counting.get(key)
    if task is None:
        task = asyncio.ensure_future(_count(runtime, alert_id))
        _counting[key] = task
        task.add_done_callback(lambda _: _counting.pop(key, None))
    return await asyncio.shield(task)


async def results_geojson(runtime: Runtime, alert_id: str, reader: Principal) -> dict[str, Any]:
    """The alert's results map for ``reader``; :class:`~alertsvc.alerts.service.AlertNotFound` when there is no
    such alert."""
    cells = await _cells(runtime, alert_id)
    markers = may_see_places(reader)
    requests = (await help_requests(runtime, alert_id, reader, HELP_MARKERS_SHOWN)) if markers else []
    return {
        "type": "FeatureCollection",
        "features": [_cell_feature(cell) for cell in cells.cells] + [_help_feature(r) for r in requests],
        "summary": _summary(cells),
        "help_markers": markers,
    }
