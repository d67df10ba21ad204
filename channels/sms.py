"""SMS through Twilio's Messages API, with the official ``twilio`` client in async mode.

Why these choices:

* The official client, so request shape, authentication and error parsing follow Twilio's own code, over a
  transport of ours (:class:`_AiohttpTransport`) on aiohttp: httpx connection pools were slow at high concurrency
  here, and the stock aiohttp transport spends ~20 % more CPU per message.
* One aiohttp session (and so one connection pool, ``max_connections`` wide) for every send of the adapter's life.
  The session is created on first use, inside the running loop, because aiohttp binds a session to its loop.
* Every request has a deadline: the session's aiohttp ``total`` timeout (the adapter's ``timeout``), which the
  twilio client cannot lift (it passes ``None`` per request, which aiohttp would read as *no timeout at all*).
* A stand-in base URL: the twilio client keeps the API host in exactly one place, the ``base_url`` of its ``api``
  domain (``https://api.twilio.com``), from which every Messages URL is built. Setting that attribute is the whole
  override: no URL rewriting in the transport, nothing patched. Region and edge are cleared when it is set,
  because the client would otherwise rewrite the host from ``TWILIO_REGION``/``TWILIO_EDGE`` in the environment.
* ``Retry-After`` is lost by the time the client raises ``TwilioRestException``, so the transport stores it in a
  context variable; a send runs in one task, so ``send`` reads back the value of its own request.
* ``lookup`` (:class:`channels.base.Reconciler`) lists the Messages sent to one number since a time
  (``GET .../Messages.json?To=...&DateSent>=...``, newest first, page by page) and stops at the first whose body
  holds the delivery's marker. Caveat, from Twilio's API: ``DateSent`` is set when Twilio hands the message on,
  so one still waiting in Twilio's own queue at the time of the lookup is not listed, and is sent again.

Errors are classified by :mod:`channels.twilio_codes`; nothing is retried here.
"""

from __future__ import annotations

import asyncio
import base64
import logging
from collections.abc import Mapping
from contextvars import ContextVar
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import urlencode

import aiohttp
from twilio.base import values
from twilio.base.exceptions import TwilioException, TwilioRestException, TwilioServiceException
from twilio.http import AsyncHttpClient
from twilio.http.response import Response
from twilio.rest import Client
from yarl import URL

from channels.base import (
    DeliveryResult,
    Message,
    Outcome,
    PermanentError,
    RateLimited,
    TransientError,
    not_sent_if_late,
)
from channels.twilio_codes import classify_rest_error, rest_unreachable

__all__ = ["TwilioSms", "form_encode", "parse_retry_after"]

_log = logging.getLogger(__name__)
_TRANSPORT_LOG = logging.getLogger("channels.sms.transport")
_RETRY_AFTER: ContextVar[float | None] = ContextVar("alertsvc_twilio_retry_after", default=None)
LOOKUP_PAGE_SIZE = 50
LOOKUP_MAX_MESSAGES = 1000
"""A lookup reads at most this many messages to one number (newest first) before it answers "not there"."""


def parse_retry_after(value: str | None) -> float | None:
    """Seconds from a ``Retry-After`` header (delta-seconds or HTTP date); ``None`` when absent or unreadable."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


def form_encode(data: Mapping[str, object]) -> bytes:
    """``application/x-www-form-urlencoded`` bytes for a request body, as ``urllib.parse.urlencode`` would decode.

    Why not ``urlencode`` itself: it quotes byte by byte in Python, ~25 µs for one SMS's four fields here, about
    5 % of a worker's CPU at fan-out rates. yarl (aiohttp's own URL library) quotes a query in C in ~5 µs. Its
    output differs only in leaving ``:`` and ``/`` as they are, which every form decoder reads back the same
    (``tests/channels/test_sms_form.py`` checks the round trip). Values yarl refuses (booleans, ``None``) fall
    back to ``urlencode``.
    """
    try:
        return URL.build(query=data).raw_query_string.encode("ascii")  # type: ignore[arg-type]
    except TypeError:
        return urlencode(data, doseq=True).encode("ascii")


def _basic_auth(auth: tuple[str, str]) -> str:
    return "Basic " + base64.b64encode(f"{auth[0]}:{auth[1]}".encode()).decode("ascii")


class _AiohttpTransport(AsyncHttpClient):  # type: ignore[misc]  # twilio ships no type hints
    """The twilio client's async transport, written for fan-out rates on one pooled aiohttp session.

    The stock ``AsyncTwilioHttpClient`` costs ~20 % more CPU per message (client included: 158-162 µs against
    132-135 µs, measured side by side against the stand-in): it formats two log lines and the response headers
    for every request even when logging is off, builds an aiohttp
    ``FormData`` (a multipart writer) to end with a urlencoded body, makes a ``BasicAuth`` object per request,
    and keeps a copy of each request and response for its own tests. This one sends the same bytes (the body
    urlencoded by :func:`form_encode`, the same ``Authorization`` header, computed once) and hands the client
    the same :class:`~twilio.http.response.Response`; request building, authentication and error parsing stay
    the twilio client's. It logs nothing (the URLs of lookups hold phone numbers).
    """

    def __init__(self, timeout: float, max_connections: int) -> None:
        super().__init__(logger=_TRANSPORT_LOG, is_async=True, timeout=timeout)
        self.timeout = timeout
        self._max_connections = max_connections
        self.session: aiohttp.ClientSession | None = None
        self._auth_header: tuple[tuple[str, str], str] | None = None

    def _session_for_loop(self) -> aiohttp.ClientSession:
        if self.session is None:  # made on first use: aiohttp binds a session to the running loop
            self.session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=self._max_connections),
                timeout=aiohttp.ClientTimeout(total=self.timeout),
            )
        return self.session

    def _authorization(self, auth: tuple[str, str]) -> str:
        cached = self._auth_header
        if cached is None or cached[0] != auth:
            cached = self._auth_header = (auth, _basic_auth(auth))
        return cached[1]

    async def request(
        self,
        method: str,
        url: str,
        params: dict[str, object] | None = None,
        data: dict[str, object] | None = None,
        headers: dict[str, str] | None = None,
        auth: tuple[str, str] | None = None,
        timeout: float | None = None,  # noqa: ASYNC109 - the twilio transport's signature
        allow_redirects: bool = False,
    ) -> Response:
        send_headers = dict(headers or {})
        if auth is not None:
            send_headers["Authorization"] = self._authorization(auth)
        body: bytes | None = None
        if data:
            body = form_encode(data)
            send_headers["Content-Type"] = "application/x-www-form-urlencoded"
        if params:
            url = f"{url}?{urlencode(params, doseq=True)}"
        options: dict[str, Any] = {}
        if timeout is not None and timeout != self.timeout:
            options["timeout"] = aiohttp.ClientTimeout(total=timeout)
        async with self._session_for_loop().request(
            method.upper(), url, data=body, headers=send_headers, allow_redirects=allow_redirects, **options
        ) as response:
            text = await response.text()
            if response.status == 429:
                _RETRY_AFTER.set(parse_retry_after(response.headers.get("Retry-After")))
            return Response(response.status, text, response.headers)

    async def close(self) -> None:
        if self.session is not None:
            await self.session.close()
            self.session = None


class TwilioSms:
    """The SMS channel. Build one per worker and share it: it pools connections.

    ``from_`` is the sending number (or alphanumeric sender id); ``base_url`` points the client at a stand-in
    (``http://127.0.0.1:PORT``), ``None`` for Twilio itself.
    """

    name = "sms"

    def __init__(
        self,
        *,
        account_sid: str,
        auth_token: str,
        from_: str,
        base_url: str | None = None,
        timeout: float = 10.0,
        max_connections: int = 100,
    ) -> None:
        if timeout <= 0:
            raise ValueError("timeout must be positive")
        self._from = from_
        self._timeout = timeout
        self._http = _AiohttpTransport(timeout=timeout, max_connections=max_connections)
        client: Any = Client(account_sid, auth_token, http_client=self._http)
        if base_url is not None:
            client.api.base_url = base_url.rstrip("/")
            client.edge = None
            client.region = None
        self._messages: Any = client.api.v2010.account.messages

    @property
    def max_send_seconds(self) -> float:
        """The longest one send can take: the session's total timeout (one HTTP request)."""
        return self._timeout

    async def send(self, message: Message) -> DeliveryResult:
        not_sent_if_late()
        _RETRY_AFTER.set(None)
        callback = message.status_callback if message.status_callback else values.unset
        try:
            # One deadline, aiohttp's ``total`` on the session: a second ``asyncio.timeout`` around the call
            # cost ~5 % of a worker's CPU in timer bookkeeping at fan-out rates.
            created = await self._messages.create_async(
                to=message.to, from_=self._from, body=message.body, status_callback=callback
            )
        except (TwilioRestException, TwilioServiceException) as exc:
            raise self._translate(int(exc.status), exc.code) from exc
        except TimeoutError as exc:
            raise TransientError("timeout", f"no answer from Twilio within {self._timeout:g}s") from exc
        except aiohttp.ClientError as exc:
            raise TransientError("connection", f"cannot reach Twilio ({type(exc).__name__})") from exc
        except OSError as exc:
            raise TransientError("connection", f"cannot reach Twilio ({type(exc).__name__})") from exc
        except ValueError as exc:  # an unreadable 2xx body: accepted or not, we cannot tell
            raise TransientError("bad_response", "Twilio's answer could not be read") from exc
        _log.debug("sms accepted", extra={"reference": message.reference, "provider_id": created.sid})
        return DeliveryResult(provider_id=str(created.sid), accepted_at=datetime.now(UTC), status=str(created.status))

    async def lookup(self, to: str, since: datetime, marker: str) -> str | None:
        """The sid of a message to ``to`` sent at or after ``since`` whose body contains ``marker``, else None."""
        since_utc = since.astimezone(UTC) if since.tzinfo else since.replace(tzinfo=UTC)
        try:
            async with asyncio.timeout(self._timeout * 3):
                records = await self._messages.stream_async(
                    to=to, date_sent_after=since_utc, page_size=LOOKUP_PAGE_SIZE, limit=LOOKUP_MAX_MESSAGES
                )
                async for record in records:
                    if record.to == to and marker in (record.body or ""):
                        return str(record.sid)
        except (TwilioRestException, TwilioServiceException) as exc:
            raise self._translate(int(exc.status), exc.code) from exc
        except TwilioException as exc:  # a list page that was not 200: the client gives only the response
            response = exc.args[1] if len(exc.args) > 1 else None
            status = int(getattr(response, "status_code", 500) or 500)
            raise self._translate(status, None) from exc
        except TimeoutError as exc:
            raise TransientError("timeout", f"no answer from Twilio within {self._timeout * 3:g}s") from exc
        except (aiohttp.ClientError, OSError) as exc:
            raise TransientError("connection", f"cannot reach Twilio ({type(exc).__name__})") from exc
        except ValueError as exc:
            raise TransientError("bad_response", "Twilio's list of messages could not be read") from exc
        return None

    @staticmethod
    def _translate(http_status: int, code: int | None) -> PermanentError | TransientError | RateLimited:
        outcome, short, reason = classify_rest_error(http_status, code)
        if outcome is Outcome.RATE_LIMITED:
            return RateLimited(short, reason, retry_after=_RETRY_AFTER.get())
        if outcome is Outcome.TRANSIENT:
            return TransientError(short, reason)
        return PermanentError(short, reason, rest_unreachable(code))

    async def aclose(self) -> None:
        await self._http.close()
