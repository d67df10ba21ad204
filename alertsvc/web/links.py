"""The links in every message: ``/a/{token}`` (acknowledge) and ``/u/{token}`` (one-tap unsubscribe).

GET only shows a page and records nothing, because mail scanners and link previews fetch URLs on their own;
only a POST (the resident's button, or an RFC 8058 one-click POST from the mail client) records.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

from alertsvc.http.deps import RuntimeDep
from alertsvc.http.ratelimit import rate_limit
from alertsvc.residents.selfservice import unsubscribe as unsubscribe_contact
from alertsvc.resources import templates_dir
from alertsvc.security.links import BadToken, LinkSigner
from alertsvc.tracking.acks import AckRefused, Answer
from alertsvc.tracking.answers import acknowledge
from alertsvc.web.errors import page_error
from alertsvc.web.pages import PageRoute

router = APIRouter(
    tags=["resident links"], dependencies=[Depends(rate_limit("links", "120/minute"))], route_class=PageRoute
)
templates = Jinja2Templates(directory=str(templates_dir()))
CHANNEL_LABELS = {"sms": "phone number", "email": "e-mail address", "push": "device"}


def html(description: str) -> dict[str, Any]:
    """An answer of these routes as the OpenAPI document gives it: a page for people."""
    return {"description": description, "content": {"text/html": {"schema": {"type": "string"}}}}


ACK_PAGES: dict[int | str, dict[str, Any]] = {
    404: html("The link is not valid, or its delivery is unknown."),
    410: html("The alert has expired: answers are no longer recorded."),
}
UNSUBSCRIBE_PAGES: dict[int | str, dict[str, Any]] = {404: html("The link is not valid.")}
ANSWER_PATTERN = r"^\s*([sS][aA][fF][eE]|[hH][eE][lL][pP])?\s*$"
"""``safe`` or ``help`` in any case, spaces around allowed; empty is ``safe`` (as the handler reads it)."""
ONE_CLICK_BODY = {
    "requestBody": {
        "required": False,
        "description": "RFC 8058: a mail client's one-click unsubscribe sends `List-Unsubscribe=One-Click`; not read.",
        "content": {
            "application/x-www-form-urlencoded": {
                "schema": {"type": "object", "properties": {"List-Unsubscribe": {"type": "string"}}}
            }
        },
    }
}


def _page(request: Request, name: str, http_status: int = 200, **context: Any) -> HTMLResponse:
    context.setdefault("lang", "en")
    return templates.TemplateResponse(request, name, context, status_code=http_status)


def _message(request: Request, title: str, text: str, status: int) -> HTMLResponse:
    return _page(request, "pages/message.html", status, title=title, text=text)


def _signer(runtime: RuntimeDep, purpose: str) -> LinkSigner:
    return LinkSigner(runtime.settings.signing_key(), purpose)


def _info_for(cap: dict[str, Any]) -> dict[str, Any]:
    infos = cap.get("info") or [{}]
    first: dict[str, Any] = infos[0]
    return first


async def _ack_page(request: Request, runtime: RuntimeDep, token: str, answer: Answer | None) -> HTMLResponse:
    try:
        delivery_id = _signer(runtime, "ack").unsign(token)
    except BadToken:
        return _message(request, "Link not valid", "This link is not valid.", 404)
    try:
        target = await acknowledge(runtime, delivery_id, answer)
    except AckRefused as exc:  # no such delivery 404, an expired alert (AnswersClosed) 410: as web.errors maps them
        page = page_error(exc)
        return _message(request, "Alert", str(exc), page.status if page else 404)
    info = _info_for(target.alert.cap)
    return _page(
        request,
        "pages/ack.html",
        headline=info.get("headline") or target.alert.headline or "",
        event=info.get("event") or "",
        description=info.get("description") or "",
        instruction=info.get("instruction") or "",
        status=target.alert.status,
        recorded=answer.value if answer else None,
        lang=str(info.get("language") or "en").split("-")[0],
    )


@router.get(
    "/a/{token}", response_class=HTMLResponse, summary="Acknowledgement page (records nothing)", responses=ACK_PAGES
)
async def ack_page(request: Request, token: str, runtime: RuntimeDep) -> HTMLResponse:
    return await _ack_page(request, runtime, token, None)


@router.post(
    "/a/{token}",
    response_class=HTMLResponse,
    summary="Record the resident's answer: safe or help",
    responses={
        **ACK_PAGES,
        422: html("The answer is neither safe nor help (a page), or longer than 10 characters (a problem)."),
    },
)
async def ack_answer(
    request: Request,
    token: str,
    runtime: RuntimeDep,
    answer: Annotated[str, Form(max_length=10, json_schema_extra={"pattern": ANSWER_PATTERN})] = "safe",
) -> HTMLResponse:
    try:
        chosen = Answer(answer.strip().lower() or "safe")
    except ValueError:
        return _message(request, "Answer not understood", "Choose 'safe' or 'help'.", 422)
    return await _ack_page(request, runtime, token, chosen)


async def _unsubscribe(request: Request, runtime: RuntimeDep, token: str, confirm: bool) -> HTMLResponse:
    try:
        contact_id = _signer(runtime, "unsubscribe").unsign(token)
    except BadToken:
        return _message(request, "Link not valid", "This link is not valid.", 404)
    channel = await unsubscribe_contact(runtime, contact_id, confirm)
    if channel is None:
        return _message(request, "Unsubscribed", "You will receive no more alerts here.", 200)
    label = CHANNEL_LABELS.get(channel, "channel")
    return _page(request, "pages/unsubscribe.html", done=confirm, channel_label=label)


@router.get(
    "/u/{token}", response_class=HTMLResponse, summary="Unsubscribe page (records nothing)", responses=UNSUBSCRIBE_PAGES
)
async def unsubscribe_page(request: Request, token: str, runtime: RuntimeDep) -> HTMLResponse:
    return await _unsubscribe(request, runtime, token, confirm=False)


@router.post(
    "/u/{token}",
    response_class=HTMLResponse,
    summary="Unsubscribe (also RFC 8058 one-click)",
    responses=UNSUBSCRIBE_PAGES,
    openapi_extra=ONE_CLICK_BODY,
)
async def unsubscribe(request: Request, token: str, runtime: RuntimeDep) -> HTMLResponse:
    return await _unsubscribe(request, runtime, token, confirm=True)
