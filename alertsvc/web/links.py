"""The links in every message: ``/a/{token}`` (acknowledge) and ``/u/{token}`` (one-tap unsubscribe).

GET only shows a page and records nothing, because mail scanners and link previews fetch URLs on their own;
only a POST (the resident's button, or an RFC 8058 one-click POST from the mail client) records.
"""

from __future__ import annotations

import contextlib
from typing import Annotated, Any, Final
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

from alertsvc.alerts.thread import ThreadState, thread_state
from alertsvc.cap.times import CapTimeError, parse_cap_time
from alertsvc.http.deps import RuntimeDep
from alertsvc.http.ratelimit import link_rate_limit
from alertsvc.i18n import N_, format_datetime
from alertsvc.residents.selfservice import unsubscribe as unsubscribe_contact
from alertsvc.resources import templates_dir
from alertsvc.security.links import BadToken, LinkSigner
from alertsvc.tracking.acks import AckRefused, Answer
from alertsvc.tracking.answers import Answered, AnswerRefused, acknowledge
from alertsvc.web.errors import page_error
from alertsvc.web.i18n import gettext_for, language_of
from alertsvc.web.pages import PageRoute

router = APIRouter(
    tags=["resident links"], dependencies=[Depends(link_rate_limit("links"))], route_class=PageRoute
)  # per link and a generous per-address ceiling: thousands of residents behind one carrier NAT answer at once
templates = Jinja2Templates(directory=str(templates_dir()))
CHANNEL_LABELS = {"sms": N_("phone number"), "email": N_("e-mail address"), "push": N_("device")}
ANSWER_LABELS = {Answer.SAFE: N_("I'm safe"), Answer.HELP: N_("I need help")}
DEFAULT_ALL_CLEAR = N_("This alert has been cancelled: the danger has passed and you need do nothing more.")
"""What a cancelled alert's page says when its Cancel carries no text of its own."""
TEXTS: Final = (
    N_("Link not valid"), N_("This link is not valid."), N_("Alert"), N_("Answer not understood"),
    N_("Choose 'safe' or 'help'."), N_("Unsubscribed"), N_("You will receive no more alerts here."),
    N_("this link is not valid"), N_("this alert has expired; answers are no longer collected"),
)  # fmt: skip
"""Texts these routes translate from a variable (the domain's messages included), named for extraction."""


def html(description: str) -> dict[str, Any]:
    """An answer of these routes as the OpenAPI document gives it: a page for people."""
    return {"description": description, "content": {"text/html": {"schema": {"type": "string"}}}}


ACK_PAGES: dict[int | str, dict[str, Any]] = {
    404: html("The link is not valid, or its delivery is unknown."),
    410: html(
        "The alert has expired or was cancelled: answers are no longer recorded (a cancelled alert's page "
        "shows its all-clear)."
    ),
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
    lang = context.setdefault("lang", language_of(request))
    context.setdefault("_", gettext_for(lang))
    return templates.TemplateResponse(request, name, context, status_code=http_status)


def _message(request: Request, title: str, text: str, status: int, stored: str | None = None) -> HTMLResponse:
    """A short page; ``title`` and ``text`` are English ids, shown in the reader's language."""
    lang = language_of(request, stored)
    _ = gettext_for(lang)
    return _page(request, "pages/message.html", status, lang=lang, title=_(title), text=_(text))


def _signer(runtime: RuntimeDep, purpose: str) -> LinkSigner:
    return LinkSigner(runtime.settings.signing_key(), purpose)


def _when(sent_text: str, lang: str, zone: str | None) -> str:
    """The CAP ``sent`` time as readers of ``lang`` write a date and time, with its zone: in the resident's own time
    zone when it is known (a Montreal resident reads 18:13 EST, not 23:13 UTC), else at the sender's offset."""
    try:
        sent = parse_cap_time(sent_text)
    except CapTimeError:
        return sent_text
    if zone:
        with contextlib.suppress(ZoneInfoNotFoundError, ValueError):  # a zone this machine lacks: the offset
            sent = sent.astimezone(ZoneInfo(zone))
    return format_datetime(sent, lang)


def _ack_context(answered: Answered[ThreadState], lang: str) -> dict[str, Any]:
    """What the answer page shows: the all-clear of a cancelled alert (no buttons), else the newest text."""
    state = answered.state
    _ = gettext_for(lang)
    notice = state.notice(lang)
    context: dict[str, Any] = {"status": answered.target.alert.status, "cancelled": state.cancelled}
    if state.cancelled:
        all_clear = state.all_clear(lang)
        context.update(
            headline=(all_clear.headline if all_clear else "") or _("This alert has been cancelled"),
            description=(all_clear.description if all_clear else "") or _(DEFAULT_ALL_CLEAR),
            instruction=all_clear.instruction if all_clear else "",
            event=notice.event,
            cancelled_headline=notice.headline,
        )
        return context
    context.update(
        headline=notice.headline or state.newest.headline or "",
        event=notice.event,
        description=notice.description,
        instruction=notice.instruction,
        updated_on=_when(state.newest.sent_text, lang, answered.timezone) if state.updated else None,
    )
    return context


async def _ack_page(request: Request, runtime: RuntimeDep, token: str, answer: Answer | None) -> HTMLResponse:
    try:
        delivery_id = _signer(runtime, "ack").unsign(token)
    except BadToken:
        return _message(request, "Link not valid", "This link is not valid.", 404)
    try:
        answered = await acknowledge(runtime, delivery_id, answer, thread_state)
    except AnswerRefused as refused:  # a cancelled alert: nothing recorded, the page says why
        cancelled: Answered[ThreadState] = refused.answered
        lang = language_of(request, cancelled.language)
        return _page(
            request, "pages/ack.html", 410, lang=lang, refused=True, recorded=None, **_ack_context(cancelled, lang)
        )
    except AckRefused as exc:  # no such delivery 404, an expired alert (AnswersClosed) 410: as web.errors maps them
        page = page_error(exc)
        return _message(request, "Alert", exc.message, page.status if page else 404)
    lang = language_of(request, answered.language)
    recorded = gettext_for(lang)(ANSWER_LABELS[answer]) if answer else None
    return _page(request, "pages/ack.html", lang=lang, recorded=recorded, **_ack_context(answered, lang))


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
    contact = await unsubscribe_contact(runtime, contact_id, confirm)
    if contact is None:
        return _message(request, "Unsubscribed", "You will receive no more alerts here.", 200)
    lang = language_of(request, contact.language)
    label = gettext_for(lang)(CHANNEL_LABELS.get(contact.channel, N_("channel")))
    return _page(request, "pages/unsubscribe.html", lang=lang, done=confirm, channel_label=label)


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
