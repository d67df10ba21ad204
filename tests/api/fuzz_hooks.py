"""schemathesis hooks for alertsvc: how to send the import's NDJSON bodies, and how to sign Twilio's webhooks.

Loaded by tests/api/test_openapi_fuzz.py (imported) and by scripts/fuzz-api (``SCHEMATHESIS_HOOKS``).

* The resident import reads NDJSON under four media types; its schema is text, which schemathesis sends as is for
  ``text/*`` but has no serializer for under ``application/x-ndjson`` and its aliases: they are sent as text too.
* ``/hooks/twilio/*`` answer 403 to anything Twilio did not sign (``X-Twilio-Signature``, HMAC-SHA1 of the public
  URL and the form with the account's auth token). Signed here like Twilio does, the fuzzer reaches the handlers
  themselves. The service's public URL and auth token come from :func:`configure` (the test) or from
  ``ALERTSVC_FUZZ_PUBLIC_URL`` and ``ALERTSVC_FUZZ_TWILIO_AUTH_TOKEN`` (the script); without a token nothing is
  signed, and the hooks answer only 403 (schemathesis warns that authentication failed there).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

import schemathesis
from schemathesis import Case
from schemathesis.auths import AuthContext
from twilio.request_validator import RequestValidator

NDJSON_TYPES = ["application/x-ndjson", "application/ndjson", "application/jsonl", "application/x-jsonlines"]
schemathesis.serializer.alias(NDJSON_TYPES, "text/plain")

_twilio: dict[str, str] = {
    "public_url": os.environ.get("ALERTSVC_FUZZ_PUBLIC_URL", ""),
    "auth_token": os.environ.get("ALERTSVC_FUZZ_TWILIO_AUTH_TOKEN", ""),
}


def configure(public_url: str, auth_token: str) -> None:
    """Sign Twilio webhooks for a service at ``public_url`` holding ``auth_token``."""
    _twilio.update(public_url=public_url, auth_token=auth_token)


def form_params(body: Any) -> dict[str, str]:
    """The fields the service reads from a form body, as the transport encodes it (last value of a name wins)."""
    if not isinstance(body, Mapping):
        return {}
    params: dict[str, str] = {}
    for name, value in body.items():
        values = value if isinstance(value, list | tuple) else [value]
        for item in values:
            if item is not None:
                params[str(name)] = item if isinstance(item, str) else str(item)
    return params


@schemathesis.auth(refresh_interval=None).apply_to(path_regex="^/hooks/twilio/")
class TwilioSignature:
    """``X-Twilio-Signature`` for each request, over its own URL and form."""

    def get(self, case: Case, ctx: AuthContext) -> str | None:
        return _twilio["auth_token"] or None

    def set(self, case: Case, data: str, ctx: AuthContext) -> None:
        url = _twilio["public_url"].rstrip("/") + case.formatted_path
        signature = RequestValidator(data).compute_signature(url, form_params(case.body))
        case.headers = {**(case.headers or {}), "X-Twilio-Signature": signature}
