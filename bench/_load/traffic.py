"""What the load generator sends, built byte for byte before the clock starts: signed Twilio status callbacks,
acknowledgement answers, CAP alerts (JSON or XML), and ``GET /healthz``.

Built in the generator's process but before its start line, so the generator's measured CPU is the HTTP traffic
alone, and the same bytes whatever the concurrency. The callbacks carry the fields and the signature Twilio sends
(the same as ``standins/twilio_api.py``'s ``post_status_callback``): ``X-Twilio-Signature`` is
:class:`twilio.request_validator.RequestValidator`'s over the service's public URL of the hook and the form, with the
account's auth token. This module imports only the standard library and ``twilio``'s validator.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode
from xml.sax.saxutils import escape

FORM = "application/x-www-form-urlencoded"
STATUS_PATH = "/hooks/twilio/status"
TWILIO_API_VERSION = "2010-04-01"
CALLBACK_STEPS = ("sent", "delivered")
"""What Twilio reports for a message that reaches the handset, in order: every message gets both callbacks."""
CREATE_AREA = "-33.9,151.1 -33.9,151.2 -33.8,151.2 -33.8,151.1 -33.9,151.1"
"""The created alerts' polygon: far from the seeded residents, so an alert approved by mistake reaches nobody."""


@dataclass(frozen=True, slots=True)
class Request:
    """One HTTP request, ready to go: method, path (the generator adds its base URL), body and headers."""

    method: str
    path: str
    body: bytes = b""
    headers: tuple[tuple[str, str], ...] = ()


def status_callback(public_url: str, auth_token: str, account_sid: str, sid: str, to: str, from_: str,
                    status: str) -> Request:  # fmt: skip
    """A Twilio status callback for message ``sid``, signed as Twilio signs it (URL + sorted form fields,
    HMAC-SHA1 with the auth token) for the service's public URL of the hook."""
    from twilio.request_validator import RequestValidator

    params = {
        "AccountSid": account_sid,
        "ApiVersion": TWILIO_API_VERSION,
        "From": from_,
        "MessageSid": sid,
        "MessageStatus": status,
        "SmsSid": sid,
        "SmsStatus": status,
        "To": to,
    }
    url = public_url.rstrip("/") + STATUS_PATH
    signature = RequestValidator(auth_token).compute_signature(url, params)
    return Request(
        "POST", STATUS_PATH, urlencode(params).encode(), (("Content-Type", FORM), ("X-Twilio-Signature", signature))
    )


def ack_answer(token: str, answer: str) -> Request:
    """A resident's answer on an acknowledgement link, as the page's form posts it."""
    return Request("POST", f"/a/{token}", urlencode({"answer": answer}).encode(), (("Content-Type", FORM),))


def healthz() -> Request:
    return Request("GET", "/healthz")


def _cap_time(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S+00:00")


def cap_json(identifier: str, now: datetime) -> dict[str, Any]:
    """A CAP alert in the API's JSON form: Actual, Severe, expiring in two hours, far from the residents."""
    return {
        "identifier": identifier,
        "sender": "load@city.example",
        "sent": _cap_time(now),
        "status": "Actual",
        "msgType": "Alert",
        "scope": "Public",
        "info": [
            {
                "language": "en-US",
                "category": ["Met"],
                "event": "Flood",
                "urgency": "Immediate",
                "severity": "Severe",
                "certainty": "Observed",
                "senderName": "City Safety Office",
                "headline": "Flood: water rising",
                "description": "The river is rising fast.",
                "instruction": "Move to higher ground now.",
                "expires": _cap_time(now + timedelta(hours=2)),
                "area": [{"areaDesc": "load test area", "polygon": [CREATE_AREA]}],
            }
        ],
    }


def cap_xml(document: dict[str, Any]) -> bytes:
    """The same alert as CAP 1.2 XML (the elements ``cap_json`` uses, in the schema's order)."""
    info = document["info"][0]
    area = info["area"][0]

    def element(name: str, value: str) -> str:
        return f"<{name}>{escape(value)}</{name}>"

    head = "".join(element(k, document[k]) for k in ("identifier", "sender", "sent", "status", "msgType", "scope"))
    names = ("event", "urgency", "severity", "certainty", "expires", "senderName", "headline", "description",
             "instruction")  # fmt: skip
    words = "".join(element("category", c) for c in info["category"]) + "".join(element(k, info[k]) for k in names)
    shape = element("areaDesc", area["areaDesc"]) + "".join(element("polygon", p) for p in area["polygon"])
    return (
        '<?xml version="1.0" encoding="UTF-8"?><alert xmlns="urn:oasis:names:tc:emergency:cap:1.2">'
        f"{head}<info>{element('language', info['language'])}{words}<area>{shape}</area></info></alert>"
    ).encode()


def identifier(label: str, k: int) -> str:
    """The CAP identifier of created alert ``k`` of a generator process labelled ``label`` (unique per run)."""
    return f"{label}-{k}"


def create_alert(key: str, identifier: str, cap_format: str, now: datetime) -> Request:
    """``POST /api/v1/alerts`` with a distinct identifier, as JSON or as CAP XML."""
    document = cap_json(identifier, now)
    if cap_format == "xml":
        body, media = cap_xml(document), "application/cap+xml"
    else:
        body, media = json.dumps(document).encode(), "application/json"
    return Request("POST", "/api/v1/alerts", body, (("Authorization", f"Bearer {key}"), ("Content-Type", media)))


def forwarded(requests: list[Request], address: str) -> list[Request]:
    """The requests as a reverse proxy passes them on for a client at ``address`` (``X-Forwarded-For``, which the
    benchmark's server believes from 127.0.0.1, its ``ALERTSVC_TRUSTED_PROXIES``): how ``--spread-addresses``
    shows what the server does beyond its per-address limits, while every packet still comes from and goes to the
    loopback address."""
    return [Request(r.method, r.path, r.body, (*r.headers, ("X-Forwarded-For", address))) for r in requests]


def spread_address(k: int, count: int) -> str:
    """Address ``k % count + 1`` of the benchmarking range 198.18.0.0/15 (RFC 2544), never a real client's."""
    n = k % count + 1
    return f"198.{18 + n // 65536}.{(n // 256) % 256}.{n % 256}"


def build(spec: dict[str, Any]) -> list[list[Request]]:
    """The generator's work with, when ``spread`` is given, each item from one of that many client addresses."""
    items = _build(spec)
    spread = int(spec.get("spread") or 0)
    if spread:
        items = [forwarded(item, spread_address(k, spread)) for k, item in enumerate(items)]
    return items


def _build(spec: dict[str, Any]) -> list[list[Request]]:
    """The generator's work: a list of items, each a list of requests sent one after the other on one connection
    slot (a message's ``sent`` then ``delivered`` callback; one request otherwise).

    ``spec`` is what ``bench/_load/drive.py`` writes: ``scenario``, ``items`` (per scenario: ``[sid, to, from]``,
    ``[token, answer]``, or a count), and the Twilio account, public URL and API key where they are needed.
    """
    scenario = spec["scenario"]
    if scenario == "callbacks":
        public_url, token, account = spec["public_url"], spec["twilio_auth_token"], spec["twilio_account_sid"]
        return [
            [status_callback(public_url, token, account, sid, to, from_, step) for step in CALLBACK_STEPS]
            for sid, to, from_ in spec["items"]
        ]
    if scenario == "acks":
        return [[ack_answer(token, answer)] for token, answer in spec["items"]]
    if scenario == "creates":
        now = datetime.now(UTC).replace(microsecond=0)
        return [[create_alert(spec["key"], identifier(spec["label"], k), spec["cap_format"], now)]
                for k in range(spec["items"])]  # fmt: skip
    if scenario == "healthz":
        one = [healthz()]
        return [one] * int(spec["items"])
    raise ValueError(f"unknown scenario {scenario!r}")
