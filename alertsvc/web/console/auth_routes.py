"""``/console/login``, ``/console/logout`` and ``/console/password``.

Signing out and a new password end every session of the user, copies of the cookie included (the session epoch,
:mod:`alertsvc.security.sessions`); after a new password the browser it was set from is signed in afresh.
"""

from __future__ import annotations

import time
from dataclasses import replace
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from alertsvc.http.deps import RuntimeDep
from alertsvc.http.ratelimit import rate_limit
from alertsvc.security.sessions import new_token
from alertsvc.security.users import MIN_PASSWORD_LENGTH, change_password, sign_in, sign_out
from alertsvc.web.console.deps import CsrfChecked, CurrentUser, SessionCookie
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
        request.state.console_session = session.signed_in(account.id, time.time(), account.session_epoch)
        return RedirectResponse(safe_next(next), status_code=303)
    context = {"next": safe_next(next), "email": email, "error": LOGIN_FAILED}
    return render(request, "login.html", context, status_code=401)


@router.post("/logout")
async def logout(request: Request, runtime: RuntimeDep, session: SessionCookie, _csrf: CsrfChecked) -> Response:
    """Sign out here and everywhere else this user is signed in: a copy of the cookie stops working too."""
    if session.user_id is not None:
        await sign_out(runtime, session.user_id, session.epoch)
    request.state.console_session = session.signed_out()
    return RedirectResponse("/console/login", status_code=303)


@router.get("/password", response_class=HTMLResponse)
async def password_form(request: Request, _user: CurrentUser) -> Response:
    return render(request, "password.html", {"min_length": MIN_PASSWORD_LENGTH})


@router.post("/password", response_class=HTMLResponse)
async def password_change(
    request: Request,
    runtime: RuntimeDep,
    user: CurrentUser,
    session: SessionCookie,
    _csrf: CsrfChecked,
    current: Annotated[str, Form(max_length=1024)] = "",
    new: Annotated[str, Form(max_length=1024)] = "",
    again: Annotated[str, Form(max_length=1024)] = "",
) -> Response:
    """A new password, after the current one: every other session of the user ends, this one goes on."""
    context: dict[str, object] = {"min_length": MIN_PASSWORD_LENGTH}
    if new != again:
        return render(request, "password.html", {**context, "error": "differ"}, status_code=422)
    if len(new) < MIN_PASSWORD_LENGTH:
        return render(request, "password.html", {**context, "error": "short"}, status_code=422)
    epoch = await change_password(runtime, user.id, current, new)
    if epoch is None:
        return render(request, "password.html", {**context, "error": "current"}, status_code=403)
    request.state.console_session = replace(session, epoch=epoch, csrf=new_token())
    return render(request, "password.html", {**context, "changed": True})
