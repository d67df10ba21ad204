"""Admin pages: the audit log, console users (create, change role, deactivate), API keys (create shown once,
revoke), and the sandbox outbox.

Row ids in paths and queries are bounded to what the database stores (a signed 64-bit integer): a larger number
is refused with 422 naming the parameter, never handed to the driver, which would fail with a 500.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Path, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from alertsvc.dispatch.outbox import read_outbox
from alertsvc.http.deps import RuntimeDep
from alertsvc.security import users as accounts
from alertsvc.security.api_keys import add_api_key, list_api_keys, revoke_api_key
from alertsvc.security.audit import audit_page
from alertsvc.security.passwords import generate_password
from alertsvc.security.scopes import Role, Scope
from alertsvc.web.console.deps import Admin, CsrfChecked
from alertsvc.web.console.pages import render
from alertsvc.web.console.route import ConsoleForbidden, ConsoleRoute

router = APIRouter(route_class=ConsoleRoute)
ROLES = [role.value for role in Role]
SCOPES = [scope.value for scope in Scope]
MAX_ROW_ID = 2**63 - 1
"""The largest id a BIGINT column holds (PostgreSQL; SQLite's INTEGER is the same 64 bits)."""
UserId = Annotated[int, Path(ge=1, le=MAX_ROW_ID)]


@router.get("/audit", response_class=HTMLResponse)
async def audit(
    request: Request,
    runtime: RuntimeDep,
    _user: Admin,
    before: Annotated[int | None, Query(ge=1, le=MAX_ROW_ID)] = None,
) -> Response:
    events = await audit_page(runtime, before)
    return render(request, "audit.html", {"events": events})


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
) -> Response:
    """Create a user with a generated password, shown once to the admin to hand over."""
    if role not in ROLES:
        return await _users_page(request, runtime, 422, error="Choose a role.", email=email)
    password = generate_password()
    try:
        await accounts.add_user(runtime, email, Role(role), password, user.principal.name)
    except ValueError as exc:
        return await _users_page(request, runtime, 422, error=str(exc), email=email)
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
