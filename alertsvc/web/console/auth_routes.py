"""``/console/login`` and ``/console/logout``."""

from __future__ import annotations

import time
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from alertsvc.api.deps import RuntimeDep
from alertsvc.security.ratelimit import rate_limit
from alertsvc.security.users import sign_in
from alertsvc.web.console.deps import CsrfChecked, SessionCookie
from alertsvc.web.console.pages import render
from alertsvc.web.console.route import ConsoleRoute

router = APIRouter(route_class=ConsoleRoute)
HOME = "/console/alerts"
LOGIN_FAILED = "Sign-in failed: check the e-mail address and password. Repeated failures lock the account for a while."


def safe_next(target: str | None) -> str:
    """Only a console path (never ``//other.site`` or a full URL) may follow sign-in: no open redirect."""
    if target and target.startswith("/console/") and not target.startswith("//") and "\\" not in target:
        return target
    return HOME


@router.get("/login", response_class=HTMLResponse)
async def login_form(request: Request, session: SessionCookie, next: str | None = None) -> Response:
    if session.user_id is not None:
        return RedirectResponse(safe_next(next), status_code=303)
    return render(request, "login.html", {"next": safe_next(next), "email": ""})


@router.post("/login", response_class=HTMLResponse, dependencies=[Depends(rate_limit("console-login", "30/minute"))])
async def login(
    request: Request,
    runtime: RuntimeDep,
    session: SessionCookie,
    _csrf: CsrfChecked,
    email: Annotated[str, Form(max_length=320)] = "",
    password: Annotated[str, Form(max_length=1024)] = "",
    next: Annotated[str, Form(max_length=500)] = HOME,
) -> Response:
    account = await sign_in(runtime, email, password)
    if account is not None:
        request.state.console_session = session.signed_in(account.id, time.time())
        return RedirectResponse(safe_next(next), status_code=303)
    context = {"next": safe_next(next), "email": email, "error": LOGIN_FAILED}
    return render(request, "login.html", context, status_code=401)


@router.post("/logout")
async def logout(request: Request, session: SessionCookie, _csrf: CsrfChecked) -> Response:
    request.state.console_session = session.signed_out()
    return RedirectResponse("/console/login", status_code=303)
