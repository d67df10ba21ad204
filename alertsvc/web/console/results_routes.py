"""An alert's results for staff: the after-action report (a printable page and a CSV), and the chart over time and
the results map (cells and help requests, GeoJSON) that the live view refreshes.

Thin routes over :mod:`alertsvc.alerts.report`; every one needs a signed-in console user (all console roles are
staff, and the report names residents who asked for help or have not answered).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response

from alertsvc.alerts import queries, report, service
from alertsvc.alerts.results_map import results_geojson
from alertsvc.clock import utcnow
from alertsvc.runtime import Runtime
from alertsvc.security.names import named
from alertsvc.web.console import chart
from alertsvc.web.console.deps import CurrentUser
from alertsvc.web.console.pages import language_of, render
from alertsvc.web.console.preview import duration_text
from alertsvc.web.console.route import ConsoleForbidden, ConsoleRoute

router = APIRouter(route_class=ConsoleRoute)


def _runtime(request: Request) -> Runtime:
    """The application's runtime (``app.state``), as the shared dependency gives it."""
    runtime: Runtime = request.app.state.runtime
    return runtime


@contextmanager
def _found() -> Iterator[None]:
    try:
        yield
    except service.AlertNotFound:
        raise ConsoleForbidden("No alert with that id.", 404) from None


@router.get("/alerts/{alert_id}/report", response_class=HTMLResponse)
async def report_page(request: Request, alert_id: str, _user: CurrentUser) -> Response:
    """The after-action report, laid out to print (the browser's Print → PDF)."""
    runtime = _runtime(request)
    with _found():
        found = await report.alert_report(runtime, alert_id)
        series = await report.chart_series(runtime, alert_id)
        suppressed = await queries.alert_suppressed(runtime, alert_id)
    people = await named(runtime, [entry.who for entry in found.timeline])
    lang = language_of(request)
    context: dict[str, Any] = {
        "report": found,
        "alert": found.alert,
        "chart": chart.build(series),
        "now": utcnow(),
        "suppressed": suppressed,
        "people": people,
        "forecast_text": None if found.forecast_seconds is None else duration_text(found.forecast_seconds, lang),
        "measured_text": _measured(found.time_to_warn, lang),
        "channel_forecast": {
            item.channel: duration_text(item.seconds, lang) for item in found.forecast if item.seconds is not None
        },
    }
    return render(request, "report.html", context)


def _measured(time_to_warn: dict[str, float | None], lang: str) -> str | None:
    """The measured time-to-warn of the whole alert (accepted to 100 % done), in words."""
    seconds = time_to_warn.get("done_100")
    return None if seconds is None else duration_text(seconds, lang)


@router.get("/alerts/{alert_id}/report.csv")
async def report_csv(request: Request, alert_id: str, _user: CurrentUser) -> Response:
    """The same report as CSV (one row per figure; see :func:`alertsvc.alerts.report.csv_rows`)."""
    with _found():
        found = await report.alert_report(_runtime(request), alert_id)
    people = await named(_runtime(request), [entry.who for entry in found.timeline])
    filename = f"alert-{found.alert.id}-report.csv"
    return Response(
        report.write_csv(found, {principal: actor.name for principal, actor in people.items()}),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


@router.get("/alerts/{alert_id}/chart", response_class=HTMLResponse)
async def chart_fragment(request: Request, alert_id: str, _user: CurrentUser) -> Response:
    """The chart and its table alone, for the live view to swap in when the counts change."""
    with _found():
        series = await report.chart_series(_runtime(request), alert_id)
    return render(request, "_chart.html", {"chart": chart.build(series)})


@router.get("/alerts/{alert_id}/results.geojson")
async def results_map(request: Request, alert_id: str, user: CurrentUser) -> Response:
    """The results map's cells and help requests (:func:`alertsvc.alerts.results_map.results_geojson`): help
    requests only for roles that may read residents."""
    with _found():
        found = await results_geojson(_runtime(request), alert_id, user.principal)
    return JSONResponse(found, media_type="application/geo+json", headers={"Cache-Control": "no-store"})
