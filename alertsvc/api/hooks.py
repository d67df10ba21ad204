"""Twilio webhooks: delivery status callbacks and inbound SMS. Each verifies ``X-Twilio-Signature`` with the
``twilio`` library's own validator against the public URL (``ALERTSVC_PUBLIC_URL``, so it holds behind a proxy),
records, and answers at once (STYLE.md 12). A forged or missing signature gets 403 and changes nothing.
"""

from __future__ import annotations

from typing import Annotated
from xml.sax.saxutils import escape

from fastapi import APIRouter, Depends, Request, Response
from twilio.request_validator import RequestValidator

from alertsvc.api.deps import RuntimeDep
from alertsvc.api.problems import Problem
from alertsvc.residents.optout import find_contact, opt_in, opt_out
from alertsvc.residents.sms_signup import confirm_by_keyword, join_by_sms
from alertsvc.security.audit import record
from alertsvc.security.ratelimit import rate_limit
from alertsvc.store.db import transaction
from alertsvc.store.models import Reply
from alertsvc.store.types import utcnow
from alertsvc.tracking.acks import Answer, recent_alert_for_contact, record_answer
from alertsvc.tracking.callbacks import apply_twilio_status
from alertsvc.tracking.keywords import Intent, intent_of, join_zone

router = APIRouter(prefix="/hooks/twilio", tags=["provider webhooks"])
TWIML = "application/xml"
MAX_FORM_BYTES = 64 * 1024


async def verified_form(request: Request, runtime: RuntimeDep) -> dict[str, str]:
    """The form fields of a request Twilio signed; 403 otherwise."""
    if int(request.headers.get("content-length") or 0) > MAX_FORM_BYTES:
        raise Problem(413, "webhook body too large")
    form = await request.form()
    params = {key: str(value) for key, value in form.items()}
    signature = request.headers.get("X-Twilio-Signature", "")
    url = runtime.settings.public_url.rstrip("/") + request.url.path
    if request.url.query:
        url += "?" + request.url.query
    validator = RequestValidator(runtime.settings.twilio_auth_token.get_secret_value())
    if not signature or not validator.validate(url, params, signature):
        raise Problem(403, "invalid or missing X-Twilio-Signature")
    return params


Form = Annotated[dict[str, str], Depends(verified_form)]


def twiml(message: str | None = None) -> Response:
    body = f"<Message>{escape(message)}</Message>" if message else ""
    return Response(f'<?xml version="1.0" encoding="UTF-8"?><Response>{body}</Response>', media_type=TWIML)


@router.post(
    "/status",
    summary="Twilio delivery status callback",
    dependencies=[Depends(rate_limit("hooks", "6000/minute"))],
    status_code=204,
)
async def status_callback(form: Form, runtime: RuntimeDep) -> Response:
    sid = form.get("MessageSid") or form.get("SmsSid") or ""
    status = form.get("MessageStatus") or form.get("SmsStatus") or ""
    if not sid or not status:
        raise Problem(
            422, "MessageSid and MessageStatus are required", [{"loc": ["body", "MessageSid"], "msg": "required"}]
        )
    code_text = form.get("ErrorCode") or ""
    error_code = int(code_text) if code_text.isdigit() else None
    async with transaction(runtime.sessions) as session:
        await apply_twilio_status(session, sid, status, error_code, utcnow())
    return Response(status_code=204)


@router.post(
    "/inbound",
    summary="Inbound SMS: STOP/START/HELP keywords, acknowledgements and replies",
    dependencies=[Depends(rate_limit("hooks", "6000/minute"))],
    response_class=Response,
    responses={200: {"content": {TWIML: {}}, "description": "TwiML reply"}},
)
async def inbound_sms(form: Form, runtime: RuntimeDep) -> Response:
    number = form.get("From", "").strip()
    body = form.get("Body", "")
    if not number:
        raise Problem(422, "From is required", [{"loc": ["body", "From"], "msg": "required"}])
    intent = intent_of(body)
    now = utcnow()
    sender = runtime.settings.service_name
    async with transaction(runtime.sessions) as session:
        contact = await find_contact(session, "sms", number)
        if intent is Intent.STOP:
            if contact is not None:
                await opt_out(session, contact, "sms_keyword", "inbound sms", now)
                await record(session, "resident", "contact.opt_out", "contact", str(contact.id), {"via": "sms"})
            return twiml(f"{sender}: you will receive no more alerts by SMS. Reply START to subscribe again.")
        if intent is Intent.START:
            if contact is not None and contact.confirmed_at is None:
                if await confirm_by_keyword(session, contact, now):
                    return twiml(f"{sender}: you are subscribed to alerts. Reply STOP to stop.")
                return twiml()
            if contact is not None:
                await opt_in(session, contact, "sms_keyword", "inbound sms", now)
                await record(session, "resident", "contact.opt_in", "contact", str(contact.id), {"via": "sms"})
            return twiml(f"{sender}: you are subscribed to alerts by SMS again. Reply STOP to stop.")
        if intent is Intent.JOIN:
            return twiml(await join_by_sms(session, runtime, number, join_zone(body) or "", contact, now))
        if intent is Intent.INFO:
            return twiml(
                f"{sender}: public safety alerts. Reply STOP to stop, SAFE if you are safe, HELP ME if you need help."
            )
        if contact is None:
            return twiml()
        alert_id = await recent_alert_for_contact(session, contact, now)
        if intent in (Intent.SAFE, Intent.NEED_HELP) and alert_id is not None:
            answer = Answer.SAFE if intent is Intent.SAFE else Answer.HELP
            await record_answer(session, alert_id, contact.resident_id, answer, "sms", now)
            return twiml()
        session.add(Reply(alert_id=alert_id, contact_id=contact.id, channel="sms", body=body[:1600], at=now))
    return twiml()
