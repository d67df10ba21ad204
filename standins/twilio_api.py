"""A stand-in for the part of Twilio's REST API that alertsvc uses: creating and listing Messages, status callbacks.

``POST /2010-04-01/Accounts/{AccountSid}/Messages.json`` with HTTP Basic auth (account SID and auth token),
form fields ``To``, ``From``, ``Body``, ``StatusCallback``; answers shaped like Twilio's (``201`` with a message
resource whose ``sid`` starts ``SM`` and ``status`` is ``queued``; errors as ``{"code", "message", "more_info",
"status"}``).

``GET /2010-04-01/Accounts/{AccountSid}/Messages.json`` lists the messages accepted so far, newest first, as Twilio
does: filters ``To``, ``From``, ``DateSent`` (one day), ``DateSent>=`` and ``DateSent<=`` (the client sends them as
the parameters ``DateSent>`` and ``DateSent<`` whose values follow ``=``; a date ``YYYY-MM-DD`` or a time
``YYYY-MM-DDTHH:MM:SSZ``), ``PageSize`` (default 50, at most 1000) and ``Page``; answered as
``{"messages": [...], "page", "page_size", "first_page_uri", "next_page_uri", "previous_page_uri", "start", "end",
"uri"}``, where ``next_page_uri`` is ``null`` on the last page. The stand-in "sends" at once, so ``date_sent`` is
the time it accepted the message. ``list_requests`` counts the list calls (tests of reconciliation read it).

Magic recipients (``To``), after Twilio's own test numbers, plus a few of ours:

============== ============================================================
+15005550001   400, 21211 invalid 'To' phone number
+15005550002   400, 21612 cannot route to this number
+15005550003   400, 21408 permission to send to this region not enabled
+15005550004   400, 21610 recipient unsubscribed (replied STOP)
+15005550009   400, 21614 'To' is not a mobile number
+15005550429   429, 20429 too many requests (``Retry-After: 2``)
+15005550500   500, 20500 internal server error
+15005550503   503, 20503 service unavailable
+15005550408   answers only after ``slow_seconds`` (to test client timeouts)
+1500555300N   accepted; the status callback then reports ``undelivered`` with error 3000N (N = 3..8)
============== ============================================================

Refused on their face, as Twilio does: a ``To`` that is not E.164 (``+`` and up to 15 digits) → 400, 21211; a
``Body`` longer than 1,600 characters → 400, 21617.

Magic senders (``From``): +15005550001 → 21212 invalid 'From'; +15005550007 → 21606 not owned;
+15005550008 → 21611 queue full. ``force_status`` makes every request answer that HTTP status (429/500/503);
``fail_first`` makes the next that many create-message requests answer ``fail_status`` (a provider failing for a
while, then recovering), a 429 with ``Retry-After: retry_after`` seconds.

Faults of a provider that is slow rather than refusing (the tests of ``tests/integration/test_retries_end_to_end.py``):

* ``hang_seconds`` > 0: every request (create and list) hangs that long and then answers 503, having taken
  nothing, like a provider whose front end accepts connections but never answers (``hung`` counts them);
* ``stall_accepted`` > 0: the next that many create-message requests are *accepted and recorded* (they are listed
  at once), and only then is the answer held back ``stall_seconds``: the client's read times out although the
  message is with the provider, the case where re-sending without a lookup would send it twice.

When ``send_callbacks`` is on and a ``StatusCallback`` is given, the stand-in POSTs ``sent`` then ``delivered``
(or ``undelivered``/``failed`` with ``ErrorCode``), signed exactly as Twilio signs them:
``X-Twilio-Signature``
computed by :class:`twilio.request_validator.RequestValidator` over the callback URL and form parameters.
They go after the answer (``callback_delay`` apart), as Twilio usually sends them. With
``callbacks_before_answer`` they are POSTed (and answered) *before* the create-message request itself is answered:
the earliest a real provider can report, before the sender even knows the message's sid.
"""

from __future__ import annotations

import asyncio
import base64
import re
import secrets
import time
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from email.utils import format_datetime
from types import TracebackType
from typing import Any
from urllib.parse import urlencode

from aiohttp import ClientSession, ClientTimeout, web
from twilio.request_validator import RequestValidator

from standins._serve import serve_until_signalled, standalone_args, start_app

API_VERSION = "2010-04-01"
DEFAULT_ACCOUNT_SID = "AC" + "0" * 32
DEFAULT_AUTH_TOKEN = "standin-auth-token"  # noqa: S105 - the stand-in's own, never a real secret

# code -> (HTTP status, message); the messages paraphrase Twilio's documented errors.
ERRORS: dict[int, tuple[int, str]] = {
    20003: (401, "Authenticate"),
    20404: (404, "The requested resource was not found"),
    20429: (429, "Too Many Requests"),
    20500: (500, "An internal server error has occurred"),
    20503: (503, "Service unavailable"),
    21211: (400, "The 'To' number is not a valid phone number."),
    21212: (400, "The 'From' number is not a valid phone number or shortcode."),
    21408: (
        400,
        "Permission to send an SMS has not been enabled for the region indicated by the 'To' number.",
    ),
    21602: (400, "Message body is required."),
    21604: (400, "A 'To' phone number is required."),
    21606: (400, "The 'From' phone number provided is not a valid, message-capable Twilio phone number."),
    21610: (400, "Attempt to send to unsubscribed recipient"),
    21611: (400, "This 'From' number has exceeded the maximum number of queued messages"),
    21612: (400, "The 'To' phone number is not currently reachable via SMS."),
    21614: (400, "'To' number is not a valid mobile number"),
    21617: (400, "The concatenated message body exceeds the 1600 character limit."),
}
MAGIC_TO: dict[str, int] = {
    "+15005550001": 21211,
    "+15005550002": 21612,
    "+15005550003": 21408,
    "+15005550004": 21610,
    "+15005550009": 21614,
    "+15005550429": 20429,
    "+15005550500": 20500,
    "+15005550503": 20503,
}
MAGIC_FROM: dict[str, int] = {"+15005550001": 21212, "+15005550007": 21606, "+15005550008": 21611}
SLOW_TO = "+15005550408"
MAX_BODY_CHARACTERS = 1600
E164 = re.compile(r"\+[1-9][0-9]{1,14}", re.ASCII)
"""Twilio refuses a 'To' that is not ``+`` and up to 15 digits (21211) and a body past 1,600 characters (21617)."""
# To -> (final MessageStatus, ErrorCode) reported by the status callback.
CALLBACK_OUTCOMES: dict[str, tuple[str, int]] = {
    f"+150055530{n:02d}": ("failed" if n == 8 else "undelivered", 30000 + n) for n in range(3, 9)
}
_STATUS_CODE = {429: 20429, 500: 20500, 503: 20503}


@dataclass
class ReceivedMessage:
    sid: str
    account_sid: str
    to: str
    from_: str
    body: str
    status_callback: str | None
    date_sent: datetime = field(default_factory=lambda: datetime.now(UTC))
    received_at: float = field(default_factory=time.monotonic)
    """``time.monotonic()`` when the request reached the handler (rate-limit tests measure these)."""


@dataclass
class SentCallback:
    url: str
    params: dict[str, str]
    signature: str
    answer_status: int | None


@dataclass
class TwilioStandin:
    """The fake Messages API. Use ``async with TwilioStandin() as api`` and point the client at ``api.base_url``."""

    account_sid: str = DEFAULT_ACCOUNT_SID
    auth_token: str = DEFAULT_AUTH_TOKEN
    host: str = "127.0.0.1"
    port: int = 0
    record: bool = True
    send_callbacks: bool = False
    callback_delay: float = 0.0
    callbacks_before_answer: bool = False
    slow_seconds: float = 5.0
    force_status: int | None = None
    fail_first: int = 0
    fail_status: int = 500
    retry_after: int = 2
    hang_seconds: float = 0.0
    hung: int = 0
    stall_accepted: int = 0
    stall_seconds: float = 5.0
    refused: list[float] = field(default_factory=list)
    """``time.monotonic()`` of each create-message request answered ``fail_status`` by ``fail_first``."""
    messages: list[ReceivedMessage] = field(default_factory=list)
    callbacks: list[SentCallback] = field(default_factory=list)
    list_requests: int = 0
    _runner: web.AppRunner | None = None
    _session: ClientSession | None = None
    _tasks: set[asyncio.Task[None]] = field(default_factory=set)
    _expected_auth: str = ""
    _callback_sent: asyncio.Condition = field(default_factory=asyncio.Condition)

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    async def __aenter__(self) -> TwilioStandin:
        credentials = f"{self.account_sid}:{self.auth_token}".encode()
        self._expected_auth = "Basic " + base64.b64encode(credentials).decode()
        app = web.Application()
        app.router.add_post(f"/{API_VERSION}/Accounts/{{account_sid}}/Messages.json", self._create_message)
        app.router.add_get(f"/{API_VERSION}/Accounts/{{account_sid}}/Messages.json", self._list_messages)
        self._runner, self.port = await start_app(app, self.host, self.port)
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._session is not None:
            await self._session.close()
        if self._runner is not None:
            await self._runner.cleanup()

    async def wait_for_callbacks(self, count: int) -> None:
        """Wait until ``count`` status callbacks have been sent; bound it with ``asyncio.timeout``."""
        async with self._callback_sent:
            await self._callback_sent.wait_for(lambda: len(self.callbacks) >= count)

    def _error(self, code: int, status: int | None = None) -> web.Response:
        http_status, message = ERRORS.get(code, (status or 400, "Error"))
        headers = {"Retry-After": str(self.retry_after)} if http_status == 429 else None
        payload = {
            "code": code,
            "message": message,
            "more_info": f"https://www.twilio.com/docs/errors/{code}",
            "status": http_status,
        }
        return web.json_response(payload, status=http_status, headers=headers)

    async def _hang(self) -> web.Response:
        """Hold the request ``hang_seconds``, then answer 503 having taken nothing (the client gave up by then)."""
        self.hung += 1
        await asyncio.sleep(self.hang_seconds)
        return self._error(20503, 503)

    def _authorized(self, request: web.Request) -> bool:
        header = request.headers.get("Authorization", "")
        return secrets.compare_digest(header.encode(), self._expected_auth.encode())

    async def _create_message(self, request: web.Request) -> web.Response:
        received_at = time.monotonic()
        account_sid = request.match_info["account_sid"]
        if not self._authorized(request):
            return self._error(20003)
        if account_sid != self.account_sid:
            return self._error(20404)
        if self.force_status is not None:
            return self._error(_STATUS_CODE.get(self.force_status, 20500), self.force_status)
        if self.hang_seconds > 0:
            return await self._hang()
        if self.fail_first > 0:
            self.fail_first -= 1
            self.refused.append(received_at)
            return self._error(_STATUS_CODE.get(self.fail_status, 20500), self.fail_status)
        form = await request.post()
        to, from_, body = str(form.get("To", "")), str(form.get("From", "")), str(form.get("Body", ""))
        callback = form.get("StatusCallback")
        if not to:
            return self._error(21604)
        if not body:
            return self._error(21602)
        if not E164.fullmatch(to):
            return self._error(21211)
        if len(body) > MAX_BODY_CHARACTERS:
            return self._error(21617)
        if from_ in MAGIC_FROM:
            return self._error(MAGIC_FROM[from_])
        if to in MAGIC_TO:
            return self._error(MAGIC_TO[to])
        if to == SLOW_TO:
            await asyncio.sleep(self.slow_seconds)
        sid = "SM" + secrets.token_hex(16)
        if self.record:
            self.messages.append(
                ReceivedMessage(
                    sid, account_sid, to, from_, body, str(callback) if callback else None, received_at=received_at
                )
            )
        if self.stall_accepted > 0:  # taken (listed already), but the answer comes too late for the client
            self.stall_accepted -= 1
            await asyncio.sleep(self.stall_seconds)
        if callback and self.callbacks_before_answer:
            await self._run_callbacks(str(callback), sid, to, from_)
        elif callback and self.send_callbacks:
            task = asyncio.create_task(self._run_callbacks(str(callback), sid, to, from_))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        return web.json_response(self._resource(sid, account_sid, to, from_, body), status=201)

    async def _list_messages(self, request: web.Request) -> web.Response:
        account_sid = request.match_info["account_sid"]
        if not self._authorized(request):
            return self._error(20003)
        if account_sid != self.account_sid:
            return self._error(20404)
        self.list_requests += 1
        if self.force_status is not None:
            return self._error(_STATUS_CODE.get(self.force_status, 20500), self.force_status)
        if self.hang_seconds > 0:
            return await self._hang()
        query = request.query
        try:
            page = int(query.get("Page", "0"))
            page_size = min(1000, int(query.get("PageSize", "50")))
            on_day = _parse_date_filter(query.get("DateSent"))
            after = _parse_date_filter(query.get("DateSent>"))
            before = _parse_date_filter(query.get("DateSent<"))
        except ValueError:
            return web.json_response({"code": 20001, "message": "Invalid parameter", "status": 400}, status=400)
        if page < 0 or page_size < 1:
            return web.json_response({"code": 20001, "message": "Invalid paging", "status": 400}, status=400)
        found = [
            m
            for m in reversed(self.messages)
            if m.account_sid == account_sid
            and query.get("To", m.to) == m.to
            and query.get("From", m.from_) == m.from_
            and _date_matches(m.date_sent, on_day, after, before)
        ]
        chunk = found[page * page_size : (page + 1) * page_size]
        filters = {k: v for k, v in query.items() if k not in {"Page", "PageSize", "PageToken"}}
        path = f"/{API_VERSION}/Accounts/{account_sid}/Messages.json"

        def page_uri(number: int) -> str:
            return f"{path}?{urlencode({**filters, 'PageSize': page_size, 'Page': number})}"

        more = (page + 1) * page_size < len(found)
        payload = {
            "messages": [
                self._resource(m.sid, m.account_sid, m.to, m.from_, m.body, m.date_sent, "sent") for m in chunk
            ],
            "page": page,
            "page_size": page_size,
            "start": page * page_size,
            "end": page * page_size + max(0, len(chunk) - 1),
            "uri": page_uri(page),
            "first_page_uri": page_uri(0),
            "previous_page_uri": page_uri(page - 1) if page > 0 else None,
            "next_page_uri": page_uri(page + 1) if more else None,
        }
        return web.json_response(payload)

    @staticmethod
    def _resource(
        sid: str,
        account_sid: str,
        to: str,
        from_: str,
        body: str,
        date_sent: datetime | None = None,
        status: str = "queued",
    ) -> dict[str, Any]:
        now = format_datetime(datetime.now(UTC), usegmt=True)
        return {
            "account_sid": account_sid,
            "api_version": API_VERSION,
            "body": body,
            "date_created": now,
            "date_sent": format_datetime(date_sent, usegmt=True) if date_sent else None,
            "date_updated": now,
            "direction": "outbound-api",
            "error_code": None,
            "error_message": None,
            "from": from_,
            "messaging_service_sid": None,
            "num_media": "0",
            "num_segments": "1",
            "price": None,
            "price_unit": "USD",
            "sid": sid,
            "status": status,
            "subresource_uris": {"media": f"/{API_VERSION}/Accounts/{account_sid}/Messages/{sid}/Media.json"},
            "to": to,
            "uri": f"/{API_VERSION}/Accounts/{account_sid}/Messages/{sid}.json",
        }

    async def _run_callbacks(self, url: str, sid: str, to: str, from_: str) -> None:
        final, error = CALLBACK_OUTCOMES.get(to, ("delivered", 0))
        steps = [("sent", 0), (final, error)] if final != "failed" else [(final, error)]
        for status, code in steps:
            await asyncio.sleep(self.callback_delay)
            await self.post_status_callback(url, sid, to, from_, status, code or None)

    async def post_status_callback(
        self, url: str, sid: str, to: str, from_: str, status: str, error_code: int | None = None
    ) -> SentCallback:
        """POST one signed status callback, as Twilio does; public so tests can send arbitrary ones."""
        params = {
            "AccountSid": self.account_sid,
            "ApiVersion": API_VERSION,
            "From": from_,
            "MessageSid": sid,
            "MessageStatus": status,
            "SmsSid": sid,
            "SmsStatus": status,
            "To": to,
        }
        if error_code is not None:
            params["ErrorCode"] = str(error_code)
        signature = RequestValidator(self.auth_token).compute_signature(url, params)
        if self._session is None:
            self._session = ClientSession(timeout=ClientTimeout(total=10))
        answer: int | None = None
        try:
            async with self._session.post(url, data=params, headers={"X-Twilio-Signature": signature}) as resp:
                answer = resp.status
        except (OSError, TimeoutError):
            answer = None
        sent = SentCallback(url, params, signature, answer)
        async with self._callback_sent:
            self.callbacks.append(sent)
            self._callback_sent.notify_all()
        return sent


def _parse_date_filter(value: str | None) -> datetime | date | None:
    """Twilio's date filters: ``YYYY-MM-DD`` (a day, UTC) or ``YYYY-MM-DDTHH:MM:SSZ``."""
    if not value:
        return None
    if "T" in value:
        return datetime.strptime(value, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
    return date.fromisoformat(value)


def _compare(sent: datetime, bound: datetime | date) -> int:
    """-1, 0 or 1 as ``sent`` is before, at or after ``bound`` (a date compares by day)."""
    left: datetime | date = sent if isinstance(bound, datetime) else sent.date()
    return (left > bound) - (left < bound)


def _date_matches(
    sent: datetime, on_day: datetime | date | None, after: datetime | date | None, before: datetime | date | None
) -> bool:
    if on_day is not None and sent.date() != (on_day.date() if isinstance(on_day, datetime) else on_day):
        return False
    if after is not None and _compare(sent, after) < 0:
        return False
    return before is None or _compare(sent, before) <= 0


async def _main() -> None:
    args = standalone_args("Twilio Messages API stand-in")
    standin = TwilioStandin(host=args.host, port=args.port, record=not args.no_record)
    await serve_until_signalled(standin, "twilio stand-in listening on port {port}")


if __name__ == "__main__":
    asyncio.run(_main())
