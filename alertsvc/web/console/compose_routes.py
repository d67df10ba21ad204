"""Composing: the form (blank, from a notice, or as an Update), its live preview, and submission."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response

from alertsvc.alerts import commands, queries, service
from alertsvc.alerts.approval import needs_second_person
from alertsvc.api.deps import RuntimeDep
from alertsvc.dispatch.queue import enqueue_fanout
from alertsvc.web.console import compose
from alertsvc.web.console.areas import zones_geojson
from alertsvc.web.console.deps import CsrfChecked, CurrentUser
from alertsvc.web.console.drafting import Evaluation, evaluate
from alertsvc.web.console.pages import render
from alertsvc.web.console.prefill import find_notice, form_for_update, form_from_notice, notices
from alertsvc.web.console.route import ConsoleForbidden, ConsoleRoute

router = APIRouter(route_class=ConsoleRoute)


def _page(
    request: Request, runtime: RuntimeDep, form: compose.ComposeForm, result: Evaluation | None, status_code: int = 200
) -> Response:
    context: dict[str, Any] = {
        "form": form,
        "result": result,
        "errors": result.errors if result else {},
        "zone_names": runtime.zones.names(),
        "notices": notices(),
        "c": compose,
    }
    return render(request, "compose.html", context, status_code)


@router.get("/alerts/new", response_class=HTMLResponse)
async def compose_form(
    request: Request, runtime: RuntimeDep, _user: CurrentUser, notice: str | None = None, update: str | None = None
) -> Response:
    form = compose.ComposeForm()
    if notice:
        found = find_notice(notice)
        if found is None:
            raise ConsoleForbidden("No notice template with that name.", 404)
        form = form_from_notice(found)
    elif update:
        try:
            original = await queries.get_alert(runtime, update)
        except service.AlertNotFound:
            raise ConsoleForbidden("No alert with that id.", 404) from None
        form = form_for_update(original)
    return _page(request, runtime, form, None)


async def _read_form(request: Request) -> compose.ComposeForm:
    data = await request.form()
    zones = [value for value in data.getlist("zones") if isinstance(value, str)]
    return compose.ComposeForm.from_form(data, zones)


@router.post("/alerts/new", response_class=HTMLResponse)
async def compose_submit(request: Request, runtime: RuntimeDep, user: CurrentUser, _csrf: CsrfChecked) -> Response:
    """``action=preview`` re-renders with the reach and SMS (the no-JavaScript path); ``action=send`` submits."""
    form = await _read_form(request)
    sending = (await request.form()).get("action") == "send"
    result = await evaluate(runtime, form, user.email, confirm=sending)
    if not sending or not result.ok or result.cap is None:
        return _page(request, runtime, form, result, 422 if sending else 200)
    reach = result.reach.residents if result.reach else None
    waived = not needs_second_person(result.cap, reach, runtime.settings)
    submission = await commands.submit(runtime, result.cap, user.principal, form.submission_key, waived)
    if submission.needs_dispatch:
        await enqueue_fanout(runtime.redis, submission.alert.id)
    return RedirectResponse(f"/console/alerts/{submission.alert.id}", status_code=303)


@router.post("/compose/preview.json")
async def compose_preview(request: Request, runtime: RuntimeDep, user: CurrentUser, _csrf: CsrfChecked) -> Response:
    """The reach per channel, the area as GeoJSON and each SMS with its segments, as the form stands."""
    form = await _read_form(request)
    result = await evaluate(runtime, form, user.email, confirm=False)
    reach = result.reach
    return JSONResponse(
        {
            "residents": reach.residents if reach else None,
            "contacts": reach.contacts if reach else {},
            "area": result.area_geojson,
            "sms": [
                {"language": s.language, "text": s.text, "segments": s.segments, "encoding": s.encoding}
                for s in result.sms
            ],
            "errors": result.errors,
        }
    )


@router.get("/zones.geojson")
async def zones(runtime: RuntimeDep, _user: CurrentUser) -> Response:
    return JSONResponse(zones_geojson(runtime.zones), media_type="application/geo+json")
