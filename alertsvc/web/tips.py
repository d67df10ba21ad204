"""``GET|POST /r/tip``: the public form for an anonymous tip, in the reader's language (en, fr, es).

Anyone may send one, so the form carries a CSRF token (double-submit cookie, as the other resident pages), is rate
limited per address, and its body is read within a small limit before it is parsed. A neighbourhood and a contact
for replies are optional; a contact is kept only keyed and sealed (:mod:`alertsvc.community.tips`), and the page
says so. The answer is the same thank-you whether the tip was kept or dropped quietly (a blocked tipster, a flood),
so the page tells a sender nothing about blocks.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates
from starlette.exceptions import HTTPException

from alertsvc.community.tips import MAX_TEXT, TipError, submit_web_tip
from alertsvc.http.body import read_limited
from alertsvc.http.ratelimit import rate_limit
from alertsvc.i18n import N_
from alertsvc.resources import templates_dir
from alertsvc.runtime import Runtime
from alertsvc.security.form_tokens import COOKIE, FormTokens
from alertsvc.web.i18n import gettext_for, language_of
from alertsvc.web.pages import PageRoute

__all__ = ["router"]

router = APIRouter(prefix="/r", include_in_schema=False, route_class=PageRoute)
templates = Jinja2Templates(directory=str(templates_dir()))
PAGE_LIMIT = Depends(rate_limit("resident-pages", "60/minute"))
"""The budget per address of the resident pages reached without a link (as ``/r/subscribe``)."""
SEND_LIMIT = Depends(rate_limit("resident-tip", "10/hour"))
"""Tips sent from one address in an hour: a witness sends one or two; more is a flood."""
MAX_FORM_BYTES = 16 * 1024
"""The form: a tip of at most 2,000 characters (up to 18 KB percent-encoded in the worst script is refused as too
large before parsing; an ordinary tip is a few KB)."""
FORM = "application/x-www-form-urlencoded"
EXPIRED = N_("This form has expired. Please try again.")
FIELD_ERRORS: dict[str, str] = {
    "text": N_("Write your tip, in at most 2000 characters."),
    "zone": N_("Choose a neighbourhood from the list, or none."),
    "contact": N_(
        "Give a mobile number in international form (e.g. +15145550100) or an e-mail address, or leave it empty."
    ),
}
FIELD_LABELS: dict[str, str] = {"text": N_("Your tip"), "zone": N_("Neighbourhood"), "contact": N_("Contact")}
TOO_LARGE = N_("The tip is too long. Please shorten it and try again.")
WRONG_FORM = N_("Please send the tip with the form on this page.")


def _runtime(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime


def _page(request: Request, runtime: Runtime, status: int = 200, **context: Any) -> HTMLResponse:
    """The form (or its thank-you) in the reader's language, with a fresh CSRF token and its cookie."""
    lang = language_of(request)
    cookie = request.cookies.get(COOKIE) or FormTokens.new_cookie_value()
    context.setdefault("form", {})
    context.update(
        lang=lang, _=gettext_for(lang), csrf=FormTokens(runtime.settings.signing_key()).field_for(cookie),
        zones=runtime.zones.names(), max_text=MAX_TEXT,
    )  # fmt: skip
    response = templates.TemplateResponse(request, "pages/tip.html", context, status_code=status)
    secure = runtime.settings.public_url.startswith("https://")
    response.set_cookie(COOKIE, cookie, httponly=True, samesite="strict", secure=secure, max_age=3600, path="/r")
    return response


def _message(request: Request, runtime: Runtime, status: int, text: str) -> HTMLResponse:
    lang = language_of(request)
    context = {"lang": lang, "title": str(status), "text": gettext_for(lang)(text)}
    return templates.TemplateResponse(request, "pages/message.html", context, status_code=status)


async def _posted(request: Request) -> dict[str, str]:
    """The form's fields, read within :data:`MAX_FORM_BYTES`; ``HTTPException`` 413 or 415 otherwise."""
    if request.headers.get("content-type", "").split(";", 1)[0].strip().lower() != FORM:
        raise HTTPException(415, "not a form")
    body = await read_limited(request, MAX_FORM_BYTES)
    try:
        pairs = parse_qsl(body.decode("utf-8"), keep_blank_values=True, max_num_fields=20, strict_parsing=False)
    except (UnicodeDecodeError, ValueError):
        raise HTTPException(400, "not a form") from None
    return {name: value for name, value in pairs}


@router.get("/tip", response_class=HTMLResponse, dependencies=[PAGE_LIMIT])
async def tip_form(request: Request) -> HTMLResponse:
    return _page(request, _runtime(request))


@router.post("/tip", response_class=HTMLResponse, dependencies=[PAGE_LIMIT, SEND_LIMIT])
async def tip_send(request: Request) -> HTMLResponse:
    runtime = _runtime(request)
    try:
        form = await _posted(request)
    except HTTPException as exc:
        return _message(request, runtime, exc.status_code, TOO_LARGE if exc.status_code == 413 else WRONG_FORM)
    if not FormTokens(runtime.settings.signing_key()).check(request.cookies.get(COOKIE), form.get("csrf", "")):
        return _message(request, runtime, 403, EXPIRED)
    kept = {name: form.get(name, "") for name in ("text", "zone", "contact")}
    try:
        await submit_web_tip(
            runtime, text=kept["text"], zone=kept["zone"] or None, contact=kept["contact"] or None,
            language=language_of(request),
        )  # fmt: skip
    except TipError as exc:
        _ = gettext_for(language_of(request))
        errors = [(exc.field, _(FIELD_LABELS[exc.field]), _(FIELD_ERRORS[exc.field]))]
        return _page(request, runtime, 422, errors=errors, form=kept)
    return _page(request, runtime, sent=True)
