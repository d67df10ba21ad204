"""Admin pages: the audit log (readable, filterable, exportable as CSV), console users (create, change role,
deactivate), API keys (create shown once, revoke), and the sandbox outbox.

Row ids in paths and queries are bounded to what the database stores (a signed 64-bit integer): a larger number
is refused with 422 naming the parameter, never handed to the driver, which would fail with a 500.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Path, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response, StreamingResponse

from alertsvc.alerts.queries import alert_titles
from alertsvc.dispatch.outbox import read_outbox
from alertsvc.http.deps import RuntimeDep
from alertsvc.security import users as accounts
from alertsvc.security.api_keys import add_api_key, list_api_keys, revoke_api_key
from alertsvc.security.audit import AuditFilter, audit_events, audit_page
from alertsvc.security.names import named
from alertsvc.security.passwords import generate_password
from alertsvc.security.scopes import Role, Scope
from alertsvc.web.console import audit_view, i18n
from alertsvc.web.console.deps import Admin, CsrfChecked
from alertsvc.web.console.pages import language_of, render
from alertsvc.web.console.route import ConsoleForbidden, ConsoleRoute

router = APIRouter(route_class=ConsoleRoute)
ROLES = [role.value for role in Role]
SCOPES = [scope.value for scope in Scope]
MAX_ROW_ID = 2**63 - 1
"""The largest id a BIGINT column holds (PostgreSQL; SQLite's INTEGER is the same 64 bits)."""
UserId = Annotated[int, Path(ge=1, le=MAX_ROW_ID)]


FilterText = Annotated[str | None, Query(max_length=120)]
DayText = Annotated[str | None, Query(max_length=10)]


async def _lines(runtime: RuntimeDep, events: list[Any]) -> list[audit_view.AuditLine]:
    """The events as readable lines: actors and users by name, alerts by headline."""
    people = await named(runtime, audit_view.subject_principals(events))
    titles = await alert_titles(runtime, [e.subject_id for e in events if e.subject_type == "alert" and e.subject_id])
    return audit_view.lines_of(events, people, titles)


@router.get("/audit", response_class=HTMLResponse)
async def audit(
    request: Request,
    runtime: RuntimeDep,
    _user: Admin,
    before: Annotated[int | None, Query(ge=1, le=MAX_ROW_ID)] = None,
    actor: FilterText = None,
    kind: FilterText = None,
    alert: FilterText = None,
    since: DayText = None,
    until: DayText = None,
) -> Response:
    """The audit log, newest first, one line per event; filtered by person, kind of event, alert and dates."""
    where = audit_view.audit_filter(actor, kind, alert, since, until)
    events = await audit_page(runtime, before, where=where)
    users = await accounts.list_users(runtime)
    keys = await list_api_keys(runtime)
    query = {"actor": actor, "kind": kind, "alert": alert, "since": since, "until": until}
    context = {
        "lines": await _lines(runtime, events),
        "filters": {name: value or "" for name, value in query.items()},
        "filtered": where != AuditFilter(),
        "query": urlencode({name: value for name, value in query.items() if value}),
        "people": [(f"user:{u.id}", u.display_name or u.email) for u in users]
        + [(f"key:{k.name}", k.name) for k in keys],
        "kinds": audit_view.FAMILIES,
        "actions": audit_view.ACTION_WORDS,
        "actor_words": audit_view.actor_words,
    }
    return render(request, "audit.html", context)


@router.get("/audit.csv")
async def audit_csv(
    request: Request,
    runtime: RuntimeDep,
    _user: Admin,
    actor: FilterText = None,
    kind: FilterText = None,
    alert: FilterText = None,
    since: DayText = None,
    until: DayText = None,
) -> Response:
    """The filtered audit log as CSV (newest first), every cell safe to open in a spreadsheet."""
    where = audit_view.audit_filter(actor, kind, alert, since, until)
    translate = i18n.translator(language_of(request))

    async def rows() -> AsyncIterator[str]:
        first = True
        async for events in audit_events(runtime, where):
            yield audit_view.write_csv(await _lines(runtime, events), translate, header=first)
            first = False
        if first:
            yield audit_view.write_csv([], translate)

    return StreamingResponse(
        rows(),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="audit.csv"'},
    )


async def _users_page(request: Request, runtime: RuntimeDep, status_code: int = 200, **extra: object) -> Response:
    users = await accounts.list_users(runtime)
    return render(request, "users.html", {"users": users, "roles": ROLES, **extra}, status_code)


@router.get("/users", response_class=HTMLResponse)
async def users(request: Request, runtime: RuntimeDep, _user: Admin) -> Response:
    return await _users_page(request, runtime)


@router.post("/users", response_class=HTMLResponse)
async def add_user(
    request: Request,
    runtime: RuntimeDep,
    user: Admin,
    _csrf: CsrfChecked,
    email: Annotated[str, Form(max_length=320)] = "",
    role: Annotated[str, Form(max_length=20)] = "",
    display_name: Annotated[str, Form(max_length=500)] = "",
) -> Response:
    """Create a user (with the name the console shows them by) and a generated password, shown once to the admin
    to hand over."""
    typed = {"email": email, "display_name": display_name}
    if role not in ROLES:
        return await _users_page(request, runtime, 422, error="Choose a role.", **typed)
    password = generate_password()
    try:
        await accounts.add_user(runtime, email, Role(role), password, user.principal.name, display_name=display_name)
    except ValueError as exc:
        return await _users_page(request, runtime, 422, error=str(exc), **typed)
    return await _users_page(request, runtime, created_email=email.strip(), created_password=password)


@router.post("/users/{user_id}/active")
async def set_active(
    user_id: UserId,
    runtime: RuntimeDep,
    user: Admin,
    _csrf: CsrfChecked,
    active: Annotated[str, Form(max_length=5)] = "no",
) -> Response:
    if user_id == user.id:
        raise ConsoleForbidden("You cannot deactivate yourself.", 409)
    await accounts.set_user_active(runtime, user_id, active == "yes", user.principal.name)
    return RedirectResponse("/console/users", status_code=303)


@router.post("/users/{user_id}/role")
async def set_role(
    user_id: UserId,
    runtime: RuntimeDep,
    user: Admin,
    _csrf: CsrfChecked,
    role: Annotated[str, Form(max_length=20)] = "",
) -> Response:
    """Give a user another role; their sessions end at once, so the new role holds from their next sign-in."""
    if user_id == user.id:
        raise ConsoleForbidden("You cannot change your own role.", 409)
    if role not in ROLES:
        raise ConsoleForbidden("Choose a role.", 422)
    await accounts.set_user_role(runtime, user_id, Role(role), user.principal.name)
    return RedirectResponse("/console/users", status_code=303)


async def _keys_page(request: Request, runtime: RuntimeDep, status_code: int = 200, **extra: object) -> Response:
    keys = await list_api_keys(runtime)
    return render(request, "keys.html", {"keys": keys, "scopes": SCOPES, **extra}, status_code)


@router.get("/keys", response_class=HTMLResponse)
async def keys(request: Request, runtime: RuntimeDep, _user: Admin) -> Response:
    return await _keys_page(request, runtime)


@router.post("/keys", response_class=HTMLResponse)
async def add_key(request: Request, runtime: RuntimeDep, user: Admin, _csrf: CsrfChecked) -> Response:
    """Create a key; the page shows its value this once (only its hash is stored)."""
    data = await request.form()
    name = str(data.get("name") or "").strip()[:100]
    chosen = [value for value in data.getlist("scopes") if isinstance(value, str) and value in SCOPES]
    if not chosen:
        return await _keys_page(request, runtime, 422, error="Choose at least one scope.", name=name)
    try:
        plain = await add_api_key(runtime, name, frozenset(Scope(s) for s in chosen), user.principal.name)
    except ValueError as exc:
        return await _keys_page(request, runtime, 422, error=str(exc), name=name)
    return await _keys_page(request, runtime, created_name=name, created_key=plain)


@router.post("/keys/{name}/revoke")
async def revoke(name: str, runtime: RuntimeDep, user: Admin, _csrf: CsrfChecked) -> Response:
    await revoke_api_key(runtime, name, user.principal.name)
    return RedirectResponse("/console/keys", status_code=303)


@router.get("/outbox", response_class=HTMLResponse)
async def outbox(request: Request, runtime: RuntimeDep, _user: Admin) -> Response:
    """What the sandbox providers were given (only with ``ALERTSVC_SANDBOX=1``)."""
    if not runtime.settings.sandbox:
        raise ConsoleForbidden("The outbox exists only in sandbox mode.", 404)
    items = await read_outbox(runtime.redis, limit=200)
    return render(request, "outbox.html", {"items": items})
