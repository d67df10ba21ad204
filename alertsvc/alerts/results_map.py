"""The live view's results map of one alert, as GeoJSON: the cells of :mod:`alertsvc.tracking.result_cells`
(delivery and answers per grid cell, small cells merged or left out) and the residents who asked for help as points.

Help requests are the one place where a resident is shown on their own: a dispatcher has to send someone there. They
are given only to readers whose role may read residents (:data:`~alertsvc.security.scopes.Scope.RESIDENTS_READ`);
anyone else gets the cells alone and ``"help_markers": false`` so the page can say why there are none. Each point
carries the resident's reference, whether the request is handled, and when it was made, never a phone number or an
address (those stay in the need-help list, for the roles that may see them).

The GeoJSON is a FeatureCollection (RFC 7946, ``[lon, lat]``) with foreign members ``summary`` (the cell side in
metres, the minimum count, and the totals of the cells not drawn) and ``help_markers``.
"""

from __future__ import annotations

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


async def results_geojson(runtime: Runtime, alert_id: str, reader: Principal) -> dict[str, Any]:
    """The alert's results map for ``reader``; :class:`~alertsvc.alerts.service.AlertNotFound` when there is no
    such alert."""
    async with runtime.sessions() as session:
        await service.get_alert(session, alert_id)
        cells = await result_cells(session, alert_id)
    markers = may_see_places(reader)
    requests = (await help_requests(runtime, alert_id, reader, HELP_MARKERS_SHOWN)) if markers else []
    return {
        "type": "FeatureCollection",
        "features": [_cell_feature(cell) for cell in cells.cells] + [_help_feature(r) for r in requests],
        "summary": _summary(cells),
        "help_markers": markers,
    }
