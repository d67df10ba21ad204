"""Twilio webhooks: delivery status callbacks and inbound SMS. Each verifies ``X-Twilio-Signature`` with the
``twilio`` library's own validator against the public URL (``ALERTSVC_PUBLIC_URL``, so it holds behind a proxy),
records, and answers at once (STYLE.md 12). A forged or missing signature gets 403 and changes nothing. What is
recorded is the domain's: a status by :mod:`alertsvc.tracking.callbacks` (group commit: answered once its batch
has committed), an inbound SMS (keywords, answers, replies) by :mod:`alertsvc.residents.inbound`.

No per-address limit on a signed request: Twilio calls back from a few addresses, thousands of times a second
during a large alert, and a refused callback is never sent again (its receipt would be lost). The signature is
the authentication. Only requests whose signature fails count against :data:`FORGED_RATE` per address, so a
machine sweeping forged callbacks is slowed down without touching Redis on the signed path (which keeps recording
while Redis is down).
"""

from __future__ import annotations

import re
from typing import Annotated, Any
from urllib.parse import parse_qsl
from xml.sax.saxutils import escape

from fastapi import APIRouter, Depends, Request, Response, Security
from fastapi.security import APIKeyHeader
from twilio.request_validator import RequestValidator, compare

from alertsvc.api.openapi import answers, problems
from alertsvc.api.problems import Problem
from alertsvc.api.routing import ApiRoute
from alertsvc.clock import utcnow
from alertsvc.community.tip_inbox import take_sms as take_tip_sms
from alertsvc.http.body import read_limited
from alertsvc.http.deps import RuntimeDep
from alertsvc.http.ratelimit import rate_limit
from alertsvc.residents.inbound import receive_sms
from alertsvc.settings import Settings
from alertsvc.tracking.callbacks import submit_twilio_status

router = APIRouter(prefix="/hooks/twilio", tags=["provider webhooks"], route_class=ApiRoute)
TWIML = "application/xml"
FORM = "application/x-www-form-urlencoded"
MAX_FORM_BYTES = 64 * 1024
MAX_FORM_FIELDS = 1000
ASCII_SPACE = " \t\n\r\f\v"
"""What is trimmed from ``From``: the same characters in Python and in the document's (ECMA) pattern."""
ERROR_CODE = re.compile(r"[0-9]{1,9}")
"""Twilio's error codes are five digits; anything else is not one (and must not reach int() or the database)."""
PROVIDER_ID = re.compile(r"[!-~]{1,100}")
"""A message id as the deliveries table holds one (``String(100)``): Twilio's are 34 letters and digits."""
FORGED_RATE = "600/minute"
"""Requests with a missing or wrong signature, per address a minute (signed ones are not limited)."""
_forged_limit = rate_limit("hooks-forged", FORGED_RATE)

_signature = APIKeyHeader(
    name="X-Twilio-Signature",
    scheme_name="TwilioSignature",
    auto_error=False,
    description="Twilio's signature of the public URL and the form, made with the account's auth token.",
)


def form_media(content_type: str) -> bool:
    """Whether a ``Content-Type`` value names Twilio's form (parameters such as ``charset`` aside)."""
    return content_type.split(";", 1)[0].strip().lower() == FORM


def parse_form(body: bytes) -> dict[str, str]:
    """The fields of a form body as Twilio signs them (the last of a repeated name); 400 past
    :data:`MAX_FORM_FIELDS`."""
    try:
        pairs = parse_qsl(
            body.decode("latin-1"), keep_blank_values=True, errors="replace", max_num_fields=MAX_FORM_FIELDS
        )
    except ValueError:
        raise Problem(400, f"more than {MAX_FORM_FIELDS} form fields") from None
    return dict(pairs)


def signature_matches(settings: Settings, path: str, query: str, params: dict[str, str], signature: str) -> bool:
    """Whether ``signature`` is Twilio's for this request: the public URL (``ALERTSVC_PUBLIC_URL``, so it holds
    behind a proxy) of ``path`` and ``query``, and the form. The one verifier of both ways a callback comes in (the
    route below and :mod:`alertsvc.api.fast_callbacks`)."""
    if not signature:
        return False
    url = settings.public_url.rstrip("/") + path
    if query:
        url += "?" + query
    validator = RequestValidator(settings.twilio_auth_token.get_secret_value())
    # The URL exactly as Twilio was given it first (one HMAC); then the library's own check, which also tries the
    # URL with and without its port (two more). Callbacks come thousands a second: the first nearly always matches.
    exact: bool = compare(validator.compute_signature(url, params), signature)
    return exact or bool(validator.validate(url, params, signature))


@answers(
    (400, f"More than {MAX_FORM_FIELDS} form fields."),
    (429, "Too many requests with a wrong or missing signature from this address."),
    (403, "X-Twilio-Signature is missing or does not match."),
    (413, f"The form is larger than {MAX_FORM_BYTES} bytes."),
    (415, f"Not {FORM}, which is what Twilio sends."),
)
async def verified_form(
    request: Request, runtime: RuntimeDep, signature: Annotated[str | None, Security(_signature)] = None
) -> dict[str, str]:
    """The form fields of a request Twilio signed; 403 otherwise. The body is read within its limit before
    parsing, whatever Content-Length claims (a chunked body has none)."""
    if not form_media(request.headers.get("content-type", "")):
        raise Problem(415, f"send the form as {FORM}")
    params = parse_form(await read_limited(request, MAX_FORM_BYTES))
    if not signature_matches(runtime.settings, request.url.path, request.url.query, params, signature or ""):
        await _forged_limit(request)
        raise Problem(403, "invalid or missing X-Twilio-Signature")
    return params


Form = Annotated[dict[str, str], Depends(verified_form)]


def _form_body(description: str, fields: dict[str, str], rules: dict[str, Any]) -> dict[str, Any]:
    """The request body of a Twilio webhook: a signed form; fields not named here are signed too, and ignored."""
    schema = {
        "type": "object",
        "properties": {name: {"type": "string", "description": text} for name, text in fields.items()},
        "additionalProperties": {"type": "string"},
        **rules,
    }
    return {"requestBody": {"required": True, "description": description, "content": {FORM: {"schema": schema}}}}


def _non_empty(name: str) -> dict[str, Any]:
    return {"required": [name], "properties": {name: {"minLength": 1}}}


STATUS_BODY = _form_body(
    "Twilio's status callback for one message.",
    {
        "MessageSid": "The message's id (older callbacks: SmsSid).",
        "MessageStatus": "queued, sending, sent, delivered, read, undelivered or failed (older callbacks: SmsStatus).",
        "SmsSid": "The message's id, in older callbacks.",
        "SmsStatus": "The status, in older callbacks.",
        "ErrorCode": "Twilio's error code for undelivered and failed messages.",
    },
    {
        "allOf": [
            {"anyOf": [_non_empty("MessageSid"), _non_empty("SmsSid")]},
            {"anyOf": [_non_empty("MessageStatus"), _non_empty("SmsStatus")]},
        ]
    },
)
INBOUND_BODY = _form_body(
    "One SMS a resident sent to the service's number.",
    {
        "From": "The sender's number.",
        "Body": "The text: a keyword (STOP, START, HELP, JOIN <zone>, SAFE ...) or a reply.",
        "MessageSid": "The message's id (older webhooks: SmsSid): a message posted again with it is taken once.",
    },
    {"required": ["From"], "properties": {"From": {"pattern": r"[^ \t\n\r\f\v]"}}},
)


def twiml(message: str | None = None) -> Response:
    body = f"<Message>{escape(message)}</Message>" if message else ""
    return Response(f'<?xml version="1.0" encoding="UTF-8"?><Response>{body}</Response>', media_type=TWIML)


@router.post(
    "/status",
    summary="Twilio delivery status callback",
    status_code=204,
    openapi_extra=STATUS_BODY,
    responses=problems(
        (
            422,
            "Neither MessageSid nor SmsSid, or neither MessageStatus nor SmsStatus, is given; or the message id is not "
            "1-100 printable ASCII characters.",
        )
    ),
)
async def status_callback(form: Form, runtime: RuntimeDep) -> Response:
    sid, status, error_code = status_fields(form)
    await submit_twilio_status(runtime, sid, status, error_code)
    return Response(status_code=204)


def status_fields(form: dict[str, str]) -> tuple[str, str, int | None]:
    """A status callback's message id, status and error code (None unless it is one); 422 naming the field that
    is missing or not a message id. Shared with :mod:`alertsvc.api.fast_callbacks`."""
    sid = form.get("MessageSid") or form.get("SmsSid") or ""
    status = form.get("MessageStatus") or form.get("SmsStatus") or ""
    if not sid or not status:
        raise Problem(
            422, "MessageSid and MessageStatus are required", [{"loc": ["body", "MessageSid"], "msg": "required"}]
        )
    if not PROVIDER_ID.fullmatch(sid):
        raise Problem(
            422,
            "MessageSid is not a message id",
            [{"loc": ["body", "MessageSid"], "msg": "1 to 100 printable ASCII characters"}],
        )
    code_text = form.get("ErrorCode") or ""
    return sid, status, int(code_text) if ERROR_CODE.fullmatch(code_text) else None


@router.post(
    "/inbound",
    summary="Inbound SMS: STOP/START/HELP keywords, acknowledgements and replies",
    response_class=Response,
    openapi_extra=INBOUND_BODY,
    responses={
        200: {"content": {TWIML: {"schema": {"type": "string"}}}, "description": "A TwiML reply."},
        **problems((422, "From is missing or only spaces, or MessageSid is not 1-100 printable ASCII characters.")),
    },
)
async def inbound_sms(form: Form, runtime: RuntimeDep) -> Response:
    number = form.get("From", "").strip(ASCII_SPACE)
    body = form.get("Body", "")
    if not number:
        raise Problem(422, "From is required", [{"loc": ["body", "From"], "msg": "required"}])
    message_id = form.get("MessageSid") or form.get("SmsSid") or None
    if message_id is not None and not PROVIDER_ID.fullmatch(message_id):
        raise Problem(
            422,
            "MessageSid is not a message id",
            [{"loc": ["body", "MessageSid"], "msg": "1 to 100 printable ASCII characters"}],
        )
    now = utcnow()
    tip = await take_tip_sms(runtime, number, body, now, message_id)  # TIP, a tipster's answer; STOP ends threads
    if tip is not None:
        return twiml(tip.answer)
    return twiml(await receive_sms(runtime, number, body, now, message_id))
