"""Composing: the form (blank, from a notice, or as an Update), its live preview, and submission."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response

from alertsvc.alerts import commands, queries
from alertsvc.alerts.approval import sends_alone, sends_at_once
from alertsvc.alerts.reach import Reach
from alertsvc.cap import parse_cap_json
from alertsvc.clock import utcnow
from alertsvc.community.tips import get_tip
from alertsvc.http.deps import RuntimeDep
from alertsvc.settings import Settings
from alertsvc.web.console import compose, i18n
from alertsvc.web.console.areas import zones_geojson
from alertsvc.web.console.deps import ConsoleUser, CsrfChecked, CurrentUser
from alertsvc.web.console.drafting import Evaluation, evaluate
from alertsvc.web.console.pages import language_of, render, templates
from alertsvc.web.console.prefill import find_notice, form_for_update, form_from_notice, form_from_tip, notices
from alertsvc.web.console.preview import CHANNEL_NAMES, ForecastLine, forecast_lines, whole_text
from alertsvc.web.console.route import ConsoleForbidden, ConsoleRoute

router = APIRouter(route_class=ConsoleRoute)


def send_labels(
    form: compose.ComposeForm, reach: Reach | None, user: ConsoleUser, settings: Settings
) -> dict[str, str]:
    """Status → the send button's words for this user, form and reach: "Send … now" exactly when the submission
    would start approved, by the very rules the submission applies (:func:`alertsvc.alerts.approval.sends_alone`,
    then :func:`~alertsvc.alerts.approval.sends_at_once`: an approver's Test goes at once even where a
    dispatcher's waits, and a person's Actual waits for a second person unless a waiver covers it)."""
    labels = {}
    now = utcnow()
    for status in compose.STATUSES:
        cap = parse_cap_json(compose.policy_document(form, status, user.email, now))
        residents = reach.for_status(status).residents if reach is not None else None
        alone = sends_alone(cap, residents, user.principal, settings)
        labels[status] = compose.SEND_LABELS[(status, sends_at_once(cap, user.principal, alone))]
    return labels


def _page(
    request: Request,
    runtime: RuntimeDep,
    user: ConsoleUser,
    form: compose.ComposeForm,
    result: Evaluation | None,
    whole: Reach | None = None,
    status_code: int = 200,
) -> Response:
    """The compose page; ``whole`` is the reach of the area before it was narrowed to the chosen status (the
    button's words are worked out for every status)."""
    reach = result.reach if result else None
    lang = language_of(request)
    context: dict[str, Any] = {
        "send_labels": send_labels(form, whole, user, runtime.settings),
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


def _reach_for_status(result: Evaluation) -> Reach | None:
    """Count what the alert will reach, not the whole area: an Exercise or a Test goes to test recipients only, so
    its figures, its forecast and its approval waiver are theirs (:meth:`~alertsvc.alerts.reach.Reach.for_status`).
    An Actual alert's typed confirmation was checked against everyone inside, which is whom it reaches. Returns
    the reach of the whole area, as it was."""
    whole = result.reach
    if whole is not None:
        result.reach = whole.for_status(result.form.status)
    return whole


@router.get("/alerts/new", response_class=HTMLResponse)
async def compose_form(
    request: Request,
    runtime: RuntimeDep,
    user: CurrentUser,
    notice: str | None = None,
    update: str | None = None,
    tip: Annotated[int | None, Query(ge=1, le=2**63 - 1)] = None,
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
    elif tip:  # from the tips page's "Start a draft alert" (audited there): the tip's neighbourhood as the area
        zone = (await get_tip(runtime, tip)).zone  # TipNotFound: the route class's 404 page
        known = runtime.zones.find(zone) if zone else None
        form = form_from_tip(known.name if known else None)
    return _page(request, runtime, user, form, None)


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
    whole = _reach_for_status(result)
    if not sending or not result.ok or result.cap is None:
        return _page(request, runtime, user, form, result, whole, 422 if sending else 200)
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
    _reach_for_status(result)
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
