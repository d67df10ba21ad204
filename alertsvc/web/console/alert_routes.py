"""Alert pages: the list, one alert (approval, live progress, answers), approve / reject / cancel, the live stream."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response, StreamingResponse

from alertsvc.alerts import approval as approval_rules
from alertsvc.alerts import commands, queries
from alertsvc.alerts.cancel_reach import cancel_reach
from alertsvc.alerts.queries import Alert
from alertsvc.alerts.reach import Reach
from alertsvc.alerts.states import AlertState
from alertsvc.cap import CapError, parse_cap_json
from alertsvc.http.deps import RuntimeDep
from alertsvc.runtime import Runtime
from alertsvc.tracking.help_requests import help_requests
from alertsvc.web.console import cancel_form
from alertsvc.web.console.approval import approval_reach, approval_view, confirmation_problem, needs_confirmation
from alertsvc.web.console.areas import ParsedAreas, areas_geojson
from alertsvc.web.console.deps import Approver, CsrfChecked, CurrentUser
from alertsvc.web.console.pages import language_of, render
from alertsvc.web.console.preview import forecast_lines, whole_text
from alertsvc.web.console.route import ConsoleForbidden, ConsoleRoute

router = APIRouter(route_class=ConsoleRoute)
STATES = [state.value for state in AlertState]
STATUSES = ["Actual", "Exercise", "Test", "System", "Draft"]


@router.get("/", response_class=HTMLResponse)
async def home(_user: CurrentUser) -> Response:
    return RedirectResponse("/console/alerts", status_code=303)


@router.get("/alerts", response_class=HTMLResponse)
async def alert_list(
    request: Request, runtime: RuntimeDep, user: CurrentUser, state: str | None = None, status: str | None = None
) -> Response:
    state = state if state in STATES else None
    status = status if status in STATUSES else None
    listing = await queries.alert_listing(runtime, state, status)
    context = {
        "rows": listing.rows,
        "people": listing.people,
        "state": state,
        "status": status,
        "states": STATES,
        "statuses": STATUSES,
    }
    return render(request, "alerts.html", context)


async def _load(runtime: Runtime, alert_id: str) -> Alert:
    """The alert; :class:`~alertsvc.alerts.service.AlertNotFound` is the route class's 404 page."""
    return await queries.get_alert(runtime, alert_id)


def parsed_areas_of(alert: Alert) -> ParsedAreas:
    """The alert's own areas (every info), for the map and the approver's reach count."""
    parsed = ParsedAreas()
    try:
        cap = parse_cap_json(alert.cap)
    except CapError:
        return parsed
    for info in cap.info:
        for area in info.area:
            parsed.polygons.extend(area.polygons())
            parsed.circles.extend(area.circles())
            parsed.zones.extend(code.value for code in area.geocode if code.value_name.strip().lower() == "zone")
    return parsed


@router.get("/alerts/{alert_id}", response_class=HTMLResponse)
async def alert_page(request: Request, alert_id: str, runtime: RuntimeDep, user: CurrentUser) -> Response:
    alert = await _load(runtime, alert_id)
    parsed = parsed_areas_of(alert)
    pending = alert.state == AlertState.PENDING_APPROVAL
    by_area = pending and alert.msg_type != "Cancel"  # a Cancel reaches who received the original: _approval_reach
    detail = await queries.alert_detail(runtime, alert, parsed.shapes(runtime.zones) if by_area else [])
    reach = await cancel_reach(runtime, alert) if pending and not by_area else detail.reach
    context: dict[str, Any] = {
        "alert": alert,
        "cap": alert.cap,
        "progress": detail.progress,
        "answers": detail.answers,
        "history": detail.history,
        "timeline": detail.timeline,
        "references": detail.references,
        "follow_ups": detail.follow_ups,
        "people": detail.people,
        "suppressed": detail.suppressed,
        "approved_by": detail.approved_by or alert.decided_by,
        "reach": reach,
        "area_geojson": areas_geojson(parsed, runtime.zones),
        **_forecast(detail.progress, runtime, language_of(request)),
        "own": alert.submitted_by == user.principal.name,
        "approval": approval_view(alert, runtime.settings, reach) if pending else None,
        "help_requests": await help_requests(runtime, alert.id, user.principal),
        "can_cancel": alert.msg_type != "Cancel"
        and alert.state in {AlertState.PENDING_APPROVAL, AlertState.APPROVED, AlertState.DISPATCHING, AlertState.SENT},
    }
    return render(request, "alert.html", context)


def _forecast(progress: dict[str, Any] | None, runtime: Runtime, lang: str) -> dict[str, Any]:
    """The time-to-warn forecast beside the measured one: the planned deliveries of each channel at the configured
    provider rates (:mod:`alertsvc.alerts.forecast`), as the compose page stated it before sending."""
    planned = {row["channel"]: int(row["total"]) for row in (progress or {}).get("channels", [])}
    return {
        "forecast": forecast_lines(planned, runtime.settings, lang),
        "forecast_whole": whole_text(planned, runtime.settings, lang),
    }


@router.get("/alerts/{alert_id}/live")
async def alert_live(request: Request, alert_id: str, runtime: RuntimeDep, _user: CurrentUser) -> Response:
    """Server-sent events of the alert's progress (see :mod:`alertsvc.tracking.live`)."""
    await _load(runtime, alert_id)
    events = queries.progress_stream(runtime, alert_id, request.is_disconnected)
    headers = {"Cache-Control": "no-store", "X-Accel-Buffering": "no"}
    return StreamingResponse(events, media_type="text/event-stream", headers=headers)


@router.get("/alerts/{alert_id}/live.json")
async def alert_live_json(alert_id: str, runtime: RuntimeDep, _user: CurrentUser) -> Response:
    """The same snapshot once, for pages that poll instead of streaming."""
    current = await queries.alert_progress(runtime, alert_id)
    if current is None:
        return JSONResponse({"detail": "no alert with that id"}, status_code=404)
    return JSONResponse(current)


@router.get("/alerts/{alert_id}/approve", response_class=HTMLResponse)
async def approve_confirm(request: Request, alert_id: str, runtime: RuntimeDep, user: Approver) -> Response:
    """The second step of approving an Actual alert: its reach, and the button that carries it."""
    alert = await _load(runtime, alert_id)
    if alert.state != AlertState.PENDING_APPROVAL:
        return RedirectResponse(f"/console/alerts/{alert_id}", status_code=303)
    return await _confirm_page(request, runtime, alert, None, 200)


async def _approval_reach(runtime: Runtime, alert: Alert) -> Reach | None:
    """Who approving sends to: a Cancel's own recipients (those who received what it cancels), else its areas."""
    if alert.msg_type == "Cancel":
        return await cancel_reach(runtime, alert)
    return await approval_reach(runtime, parsed_areas_of(alert))


async def _confirm_page(request: Request, runtime: Runtime, alert: Alert, problem: str | None, status: int) -> Response:
    view = approval_view(alert, runtime.settings, await _approval_reach(runtime, alert))
    context = {"alert": alert, "approval": view, "problem": problem}
    return render(request, "approve_confirm.html", context, status_code=status)


@router.post("/alerts/{alert_id}/approve")
async def approve(
    request: Request,
    alert_id: str,
    runtime: RuntimeDep,
    user: Approver,
    _csrf: CsrfChecked,
    confirm_residents: Annotated[str, Form(max_length=40)] = "",
) -> Response:
    alert = await _load(runtime, alert_id)
    deciding = alert.state == AlertState.PENDING_APPROVAL and approval_rules.may_approve(
        alert.submitted_by, user.principal
    )
    if deciding and needs_confirmation(alert):  # the command refuses the others in its own words
        problem = confirmation_problem(confirm_residents, await _approval_reach(runtime, alert))
        if problem is not None:
            return await _confirm_page(request, runtime, alert, problem, 409)
    await commands.approve(runtime, alert_id, user.principal)
    return RedirectResponse(f"/console/alerts/{alert_id}", status_code=303)


@router.post("/alerts/{alert_id}/reject")
async def reject(
    alert_id: str,
    runtime: RuntimeDep,
    user: Approver,
    _csrf: CsrfChecked,
    reason: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    if not reason.strip():
        raise ConsoleForbidden("A rejection needs a reason the author will read.", 422)
    await commands.reject(runtime, alert_id, user.principal, reason)
    return RedirectResponse(f"/console/alerts/{alert_id}", status_code=303)


async def _cancel_page(
    request: Request,
    runtime: Runtime,
    alert: Alert,
    blocks: list[cancel_form.AllClearBlock],
    errors: dict[str, str],
    status_code: int = 200,
) -> Response:
    """The Cancel page: who it reaches and, when a Cancel goes out, the all-clear per language of the alert."""
    progress = await queries.alert_progress(runtime, alert.id)
    context = {"alert": alert, "progress": progress, "blocks": blocks, "errors": errors, "limits": cancel_form.LIMITS}
    return render(request, "cancel.html", {**context, "sends_message": cancel_form.sends_message(alert)}, status_code)


@router.get("/alerts/{alert_id}/cancel", response_class=HTMLResponse)
async def cancel_page(request: Request, alert_id: str, runtime: RuntimeDep, _user: CurrentUser) -> Response:
    alert = await _load(runtime, alert_id)
    return await _cancel_page(request, runtime, alert, cancel_form.prefill(alert), {})


@router.post("/alerts/{alert_id}/cancel", response_class=HTMLResponse)
async def cancel(
    request: Request, alert_id: str, runtime: RuntimeDep, user: CurrentUser, _csrf: CsrfChecked
) -> Response:
    """Cancel with the all-clear as typed; a refused field comes back on the page, next to what was typed."""
    alert = await _load(runtime, alert_id)
    blocks = cancel_form.read(await request.form()) if cancel_form.sends_message(alert) else []
    errors = cancel_form.errors_of(alert, blocks)
    if errors:
        return await _cancel_page(request, runtime, alert, blocks, errors, 422)
    submission = await commands.cancel(runtime, alert_id, user.principal, cancel_form.given(blocks))
    return RedirectResponse(f"/console/alerts/{submission.alert.id}", status_code=303)
