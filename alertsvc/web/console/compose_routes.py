"""Composing: the form (blank, from a notice, or as an Update), its live preview, and submission."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response

from alertsvc.alerts import commands, queries
from alertsvc.alerts.approval import sends_alone
from alertsvc.http.deps import RuntimeDep
from alertsvc.web.console import compose, i18n
from alertsvc.web.console.areas import zones_geojson
from alertsvc.web.console.deps import CsrfChecked, CurrentUser
from alertsvc.web.console.drafting import Evaluation, evaluate
from alertsvc.web.console.pages import language_of, render, templates
from alertsvc.web.console.prefill import find_notice, form_for_update, form_from_notice, notices
from alertsvc.web.console.preview import CHANNEL_NAMES, ForecastLine, forecast_lines, whole_text
from alertsvc.web.console.route import ConsoleForbidden, ConsoleRoute

router = APIRouter(route_class=ConsoleRoute)


def _page(
    request: Request, runtime: RuntimeDep, form: compose.ComposeForm, result: Evaluation | None, status_code: int = 200
) -> Response:
    reach = result.reach if result else None
    lang = language_of(request)
    context: dict[str, Any] = {
        "form": form,
        "result": result,
        "forecast": forecast_lines(reach.contacts, runtime.settings, lang) if reach else [],
        "forecast_whole": whole_text(reach.contacts, runtime.settings, lang) if reach else None,
        "errors": result.errors if result else {},
        "zone_names": runtime.zones.names(),
        "notices": notices(),
        "c": compose,
        "channel_names": CHANNEL_NAMES,
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
        original = await queries.get_alert(runtime, update)  # AlertNotFound: the route class's 404 page
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
    waived = sends_alone(result.cap, reach, user.principal, runtime.settings)
    submission = await commands.submit(runtime, result.cap, user.principal, form.submission_key, waived)
    return RedirectResponse(f"/console/alerts/{submission.alert.id}", status_code=303)


@router.post("/compose/preview.json")
async def compose_preview(request: Request, runtime: RuntimeDep, user: CurrentUser, _csrf: CsrfChecked) -> Response:
    """The reach per channel and language, the time-to-warn forecast, the area as GeoJSON, each SMS with its
    segments and each e-mail subject, as the form stands (compose.js asks for it as the form changes)."""
    form = await _read_form(request)
    result = await evaluate(runtime, form, user.email, confirm=False)
    reach = result.reach
    lang = language_of(request)
    lines = forecast_lines(reach.contacts, runtime.settings, lang) if reach else []
    whole = whole_text(reach.contacts, runtime.settings, lang) if reach else None
    return JSONResponse(
        {
            "residents": reach.residents if reach else None,
            "contacts": reach.contacts if reach else {},
            "languages": reach.languages if reach else {},
            "contacts_by_language": reach.contacts_by_language if reach else {},
            "forecast": [{"channel": line.channel, "text": line.text, "seconds": line.seconds} for line in lines],
            "forecast_whole": whole,
            "area": result.area_geojson,
            "panel_html": _panel_html(lang, result, lines, whole),
            "sms": [
                {
                    "language": s.language,
                    "text": s.text,
                    "segments": s.segments,
                    "encoding": s.encoding,
                    "subject": s.subject,
                }
                for s in result.sms
            ],
            "errors": result.errors,
        }
    )


def _panel_html(lang: str, result: Evaluation, lines: list[ForecastLine], whole: str | None) -> str:
    """The preview panel as the page renders it (templates/console/_compose_preview.html), for compose.js to put in
    place: one template formats the numbers and words, in the page's language, whether or not JavaScript runs."""
    translate = i18n.translator(lang)
    return templates.env.get_template("console/_compose_preview.html").render(
        _=translate,
        ngettext=translate.ngettext,
        num=lambda value: i18n.number(value, lang),
        result=result,
        forecast=lines,
        forecast_whole=whole,
        channel_names=CHANNEL_NAMES,
    )


@router.get("/zones.geojson")
async def zones(runtime: RuntimeDep, _user: CurrentUser) -> Response:
    return JSONResponse(zones_geojson(runtime.zones), media_type="application/geo+json")
