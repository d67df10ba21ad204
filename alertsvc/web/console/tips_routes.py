"""The console's anonymous tips: the list with each thread, a reply form, and an admin's block button.

Thin routes over :mod:`alertsvc.community.tips`, which holds no contact in the clear, so the page cannot show one:
a tipster is their alias. Reading needs the ``tips:read`` scope of the user's role, replying ``tips:write``
(dispatchers, approvers, admins), blocking is for admins (the issue's "block list managed by admins"); each reply
and block is audited by the domain. A reply is relayed by the worker; the thread shows it queued, then sent.

"Start a draft alert" (a POST, so it is audited as ``tip.draft`` and a link preview cannot trigger it) opens the
compose page with the tip's neighbourhood as the area (:func:`alertsvc.web.console.prefill.form_from_tip`); a tip
never becomes an alert by itself: the dispatcher writes the texts and sends it through the usual approval.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Path, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from alertsvc.community.tips import MAX_TEXT, block_tipster, draft_from_tip, list_tips, queue_reply
from alertsvc.http.deps import RuntimeDep
from alertsvc.security.scopes import Scope
from alertsvc.web.console.deps import Admin, ConsoleUser, CsrfChecked, CurrentUser
from alertsvc.web.console.pages import render
from alertsvc.web.console.route import ConsoleForbidden, ConsoleRoute

router = APIRouter(route_class=ConsoleRoute)
TipId = Annotated[int, Path(ge=1, le=2**63 - 1)]
PAGE_SIZE = 100


def _may(user: ConsoleUser, scope: Scope) -> None:
    if not user.principal.can(scope):
        raise ConsoleForbidden("Your role cannot do this.")


@router.get("/tips", response_class=HTMLResponse)
async def tips_page(
    request: Request,
    runtime: RuntimeDep,
    user: CurrentUser,
    zone: Annotated[str | None, Query(max_length=100)] = None,
) -> Response:
    """The newest tips (optionally of one zone), each with its thread and what may be done with it."""
    _may(user, Scope.TIPS_READ)
    tips = await list_tips(runtime, zone=zone or None, limit=PAGE_SIZE)
    context = {"tips": tips, "zones": runtime.zones.names(), "zone": zone or "", "max_text": MAX_TEXT,
               "can_write": user.principal.can(Scope.TIPS_WRITE)}  # fmt: skip
    return render(request, "tips.html", context)


@router.post("/tips/{tip_id}/reply")
async def reply(
    tip_id: TipId,
    runtime: RuntimeDep,
    user: CurrentUser,
    _csrf: CsrfChecked,
    text: Annotated[str, Form(max_length=MAX_TEXT)] = "",
) -> Response:
    _may(user, Scope.TIPS_WRITE)
    await queue_reply(runtime, tip_id, text, user.principal.name)
    return RedirectResponse(f"/console/tips#tip-{tip_id}", status_code=303)


@router.post("/tips/{tip_id}/block")
async def block(tip_id: TipId, runtime: RuntimeDep, user: Admin, _csrf: CsrfChecked) -> Response:
    await block_tipster(runtime, tip_id, user.principal.name)
    return RedirectResponse(f"/console/tips#tip-{tip_id}", status_code=303)


@router.post("/tips/{tip_id}/draft")
async def draft(tip_id: TipId, runtime: RuntimeDep, user: CurrentUser, _csrf: CsrfChecked) -> Response:
    """Audit the start of a draft alert from the tip, then open the compose page prefilled with its neighbourhood."""
    _may(user, Scope.TIPS_READ)
    await draft_from_tip(runtime, tip_id, user.principal.name)
    return RedirectResponse(f"/console/alerts/new?tip={tip_id}", status_code=303)
