"""Residents' priorities from the resident's own signed manage link: ``/r/manage/{token}/priorities``.

The link is the resident's identity (signed, as the manage page's, and good only while the manage page would
open: an expired or revoked link is sent there, to the page that says so); proposing and supporting are POSTs
carrying the page's CSRF token, so a link scanner or a preview that follows the link (GET) reads the list and
changes nothing. Only the zones the resident lives in are offered, and the domain refuses any other
(:mod:`alertsvc.community.priorities`). In the resident's own language.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates

from alertsvc.community.priorities import (
    NotYourZone,
    PriorityNotFound,
    propose,
    resident_zones,
    support,
    zone_priorities,
)
from alertsvc.http.ratelimit import link_rate_limit
from alertsvc.i18n import N_
from alertsvc.residents import manage_links, selfservice
from alertsvc.residents.manage_links import LinkState
from alertsvc.resources import templates_dir
from alertsvc.runtime import Runtime
from alertsvc.security.form_tokens import COOKIE, FormTokens
from alertsvc.web.i18n import gettext_for, language_of
from alertsvc.web.pages import PageRoute

__all__ = ["router"]

router = APIRouter(
    prefix="/r/manage",
    include_in_schema=False,
    route_class=PageRoute,
    dependencies=[Depends(link_rate_limit("manage"))],  # the budget of the manage link's own pages
)
templates = Jinja2Templates(directory=str(templates_dir()))
PriorityId = Annotated[int, Path(ge=1, le=2**63 - 1)]
NOT_VALID = N_("This link is not valid.")
EXPIRED = N_("This form has expired. Please try again.")
TITLE_LENGTH = N_("A priority needs a title of 1 to 200 characters.")
NOT_YOURS = N_("You can only take part in the priorities of the neighbourhood you live in.")
PROPOSED = N_("Thank you: your priority is proposed, and you support it.")
SUPPORTED = N_("Thank you: your support is counted.")
ALREADY = N_("You already support this priority.")


def _runtime(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime


async def _resident_id(runtime: Runtime, token: str) -> int | Response | None:
    """The resident of a good manage link; for one that expired or was revoked, the way to the manage page that
    says so and offers a fresh link; None for a link that is not ours."""
    access = await manage_links.open_manage_link(runtime, token)
    if access is None:
        return None
    if access.state is not LinkState.VALID:
        return RedirectResponse(f"/r/manage/{token}", status_code=303)
    return access.resident_id


def _page(
    request: Request, runtime: Runtime, name: str, language: str, status: int = 200, **context: Any
) -> HTMLResponse:
    """A page in ``language`` with a fresh CSRF token and its cookie (as the other resident pages)."""
    cookie = request.cookies.get(COOKIE) or FormTokens.new_cookie_value()
    tokens = FormTokens(runtime.settings.signing_key())
    translate = gettext_for(language)
    context.update(lang=language, _=translate, ngettext=translate.ngettext, csrf=tokens.field_for(cookie))
    response = templates.TemplateResponse(request, name, context, status_code=status)
    secure = runtime.settings.public_url.startswith("https://")
    response.set_cookie(COOKIE, cookie, httponly=True, samesite="strict", secure=secure, max_age=3600, path="/r")
    return response


def _message(request: Request, runtime: Runtime, language: str, status: int, text: str) -> HTMLResponse:
    return _page(request, runtime, "pages/message.html", language, status, title=str(status),
                 text=gettext_for(language)(text))  # fmt: skip


async def _language(request: Request, runtime: Runtime, resident_id: int) -> str | None:
    found = await selfservice.preferences(runtime, resident_id)
    return None if found is None else language_of(request, found.resident.language)


async def _list(
    request: Request, runtime: Runtime, token: str, resident_id: int, language: str, status: int = 200,
    notice: str | None = None, error: str | None = None,
) -> HTMLResponse:  # fmt: skip
    zones = await resident_zones(runtime, resident_id)
    sections = [(zone, await zone_priorities(runtime, zone, resident_id=resident_id)) for zone in zones]
    _ = gettext_for(language)
    return _page(
        request, runtime, "pages/priorities.html", language, status, token=token, sections=sections, zones=zones,
        notice=_(notice) if notice else None, error=_(error) if error else None,
    )  # fmt: skip


async def _checked(request: Request, runtime: Runtime, token: str) -> tuple[int, str, dict[str, str]] | Response:
    """The resident, their language and the posted form; or the page refusing a bad link or CSRF token."""
    resident_id = await _resident_id(runtime, token)
    if isinstance(resident_id, Response):
        return resident_id
    language = None if resident_id is None else await _language(request, runtime, resident_id)
    if resident_id is None or language is None:
        return _message(request, runtime, language_of(request), 404, NOT_VALID)
    form = await request.form()
    if not FormTokens(runtime.settings.signing_key()).check(request.cookies.get(COOKIE), str(form.get("csrf") or "")):
        return _message(request, runtime, language, 403, EXPIRED)
    return resident_id, language, {key: str(value) for key, value in form.items()}


@router.get("/{token}/priorities", response_class=HTMLResponse)
async def priorities_page(request: Request, token: str) -> Response:
    """The priorities of the resident's zones, with a support button each and a form to propose one."""
    runtime = _runtime(request)
    resident_id = await _resident_id(runtime, token)
    if isinstance(resident_id, Response):
        return resident_id
    language = None if resident_id is None else await _language(request, runtime, resident_id)
    if resident_id is None or language is None:
        return _message(request, runtime, language_of(request), 404, NOT_VALID)
    return await _list(request, runtime, token, resident_id, language)


@router.post("/{token}/priorities", response_class=HTMLResponse)
async def propose_priority(request: Request, token: str) -> Response:
    runtime = _runtime(request)
    checked = await _checked(request, runtime, token)
    if isinstance(checked, Response):
        return checked
    resident_id, language, form = checked
    try:
        await propose(runtime, resident_id, form.get("zone", ""), form.get("title", ""))
    except ValueError:
        return await _list(request, runtime, token, resident_id, language, 422, error=TITLE_LENGTH)
    except NotYourZone:
        return await _list(request, runtime, token, resident_id, language, 403, error=NOT_YOURS)
    return await _list(request, runtime, token, resident_id, language, notice=PROPOSED)


@router.post("/{token}/priorities/{priority_id}/support", response_class=HTMLResponse)
async def support_priority(request: Request, token: str, priority_id: PriorityId) -> Response:
    runtime = _runtime(request)
    checked = await _checked(request, runtime, token)
    if isinstance(checked, Response):
        return checked
    resident_id, language, _form = checked
    try:
        added = await support(runtime, resident_id, priority_id)
    except PriorityNotFound:
        return _message(request, runtime, language, 404, NOT_VALID)
    except NotYourZone:
        return await _list(request, runtime, token, resident_id, language, 403, error=NOT_YOURS)
    return await _list(request, runtime, token, resident_id, language, notice=SUPPORTED if added else ALREADY)
