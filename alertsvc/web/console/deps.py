"""Console request dependencies: the session cookie, the signed-in user, their role, and the CSRF check.

``CsrfChecked`` is declared by every POST route of the console (a test walks the routes to make sure), and
``CurrentUser`` by every page but the sign-in form. ``CurrentUser`` signs out a session whose user is gone,
deactivated, or has moved their session epoch on since it signed in (signed out elsewhere, a new password or
role: :mod:`alertsvc.security.sessions`). A refused CSRF token is audited (``console.csrf_refused``, with the
route's pattern and whether the token was missing or wrong: no ids, addresses or form values) when the session
is signed in, or on the sign-in form (login CSRF, which its per-address rate limit bounds); a sign-out form
posted by nobody signed in protects nothing, and recording it would let anyone fill an append-only table.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Annotated

from fastapi import Depends, Request

from alertsvc.http.deps import RuntimeDep
from alertsvc.security import csrf
from alertsvc.security.audit import record_event
from alertsvc.security.principal import Principal
from alertsvc.security.scopes import Role
from alertsvc.security.sessions import COOKIE_NAME, ConsoleSession, fresh_session
from alertsvc.security.users import active_account
from alertsvc.web.console import i18n
from alertsvc.web.console.route import LOGIN_PATH, ConsoleForbidden, LoginRequired, codec_for


@dataclass(frozen=True, slots=True)
class ConsoleUser:
    """The signed-in user as pages need them: plain values, no database row held past the request."""

    id: int
    email: str
    role: Role
    principal: Principal
    display_name: str | None = None

    @property
    def shown_name(self) -> str:
        """How the page names the signed-in person: as every list names them (display name, else e-mail)."""
        return self.display_name or self.email

    @property
    def can_approve(self) -> bool:
        return self.role in (Role.APPROVER, Role.ADMIN)

    @property
    def is_admin(self) -> bool:
        return self.role is Role.ADMIN


def load_session(request: Request) -> ConsoleSession:
    """The session from the cookie (a fresh anonymous one when absent, forged or expired); ``?lang=`` switches
    the language and is remembered."""
    cached: ConsoleSession | None = getattr(request.state, "console_session", None)
    if cached is not None:
        return cached
    session = codec_for(request).loads(request.cookies.get(COOKIE_NAME)) or fresh_session()
    chosen = i18n.supported(request.query_params.get("lang"))
    if chosen:
        session = replace(session, lang=chosen)
    request.state.console_session = session
    return session


SessionCookie = Annotated[ConsoleSession, Depends(load_session)]


def _wants_json(request: Request) -> bool:
    return request.url.path.endswith(".json") or "application/json" in request.headers.get("accept", "")


async def current_user(request: Request, runtime: RuntimeDep, session: SessionCookie) -> ConsoleUser:
    """The signed-in, still active user; otherwise :class:`LoginRequired` (a redirect to the sign-in form)."""
    if session.user_id is None:
        raise LoginRequired(_next_path(request), _wants_json(request))
    account = await active_account(runtime, session.user_id)
    if account is None or account.session_epoch != session.epoch:
        request.state.console_session = session.signed_out()
        raise LoginRequired(_next_path(request), _wants_json(request))
    found = ConsoleUser(
        id=account.id,
        email=account.email,
        role=account.role,
        principal=account.principal,
        display_name=account.display_name,
    )
    request.state.console_user = found
    return found


def _next_path(request: Request) -> str:
    path = request.url.path
    return path if request.method == "GET" else "/console/"


CurrentUser = Annotated[ConsoleUser, Depends(current_user)]


async def approver(user: CurrentUser) -> ConsoleUser:
    if not user.can_approve:
        raise ConsoleForbidden("Only an approver or an admin can do this.")
    return user


async def admin(user: CurrentUser) -> ConsoleUser:
    if not user.is_admin:
        raise ConsoleForbidden("Only an admin can do this.")
    return user


Approver = Annotated[ConsoleUser, Depends(approver)]
Admin = Annotated[ConsoleUser, Depends(admin)]


async def check_csrf(request: Request, runtime: RuntimeDep, session: SessionCookie) -> None:
    """Refuse a POST whose ``csrf_token`` field (or ``X-CSRF-Token`` header) is not the session's token."""
    presented = request.headers.get(csrf.HEADER)
    if presented is None:
        form = await request.form()
        value = form.get(csrf.FIELD)
        presented = value if isinstance(value, str) else None
    try:
        csrf.check_token(session.csrf, presented)
    except csrf.CsrfError:
        if session.user_id is not None or request.url.path == LOGIN_PATH:
            actor = f"user:{session.user_id}" if session.user_id is not None else "anonymous"
            detail = {"route": _route_pattern(request), "token": "wrong" if presented else "missing"}
            await record_event(runtime, actor, "console.csrf_refused", "console", None, detail)
        raise


def _route_pattern(request: Request) -> str:
    """The request's path with each path parameter put back as its name (``/console/users/{user_id}/active``):
    what was refused, without the ids in it."""
    names = {str(value): name for name, value in request.path_params.items()}
    segments = str(request.scope.get("path", request.url.path)).split("/")
    return "/".join(f"{{{names[segment]}}}" if segment in names else segment for segment in segments)


CsrfChecked = Annotated[None, Depends(check_csrf)]
