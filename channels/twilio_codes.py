"""Twilio's codes, classified once: REST answers (for the SMS adapter) and status-callback errors (for
tracking).

Kept apart from the adapter so ``tracking/`` can read the callback table without importing the twilio client,
and so the tables can be read (and reviewed against Twilio's error dictionary) on one screen.

REST answers: a known Twilio error code decides; otherwise the HTTP status does (429 rate-limited, 5xx
transient, any other 4xx permanent, because repeating a request Twilio refused as malformed or forbidden gives
the same answer). Connection errors and timeouts are transient and are handled by the adapter itself. A permanent
refusal whose code is in :data:`REST_UNREACHABLE` is about the recipient (the delivery is ``undeliverable``, not
``failed``), with the reason why.
"""

from __future__ import annotations

import re
from enum import StrEnum

from channels.base import Outcome, Unreachable

__all__ = [
    "CALLBACK_ERRORS",
    "MAX_BODY_CHARACTERS",
    "REST_ERRORS",
    "REST_UNREACHABLE",
    "CallbackOutcome",
    "callback_outcome",
    "classify_rest_error",
    "refused_on_its_face",
    "rest_unreachable",
]


REST_ERRORS: dict[int, tuple[Outcome, str]] = {
    20003: (Outcome.PERMANENT, "authentication failed: check the account SID and auth token (configuration)"),
    20404: (Outcome.PERMANENT, "account not found: check the account SID (configuration)"),
    20429: (Outcome.RATE_LIMITED, "too many requests"),
    20500: (Outcome.TRANSIENT, "Twilio internal error"),
    20503: (Outcome.TRANSIENT, "Twilio temporarily unavailable"),
    21211: (Outcome.PERMANENT, "invalid 'To' phone number"),
    21212: (Outcome.PERMANENT, "invalid 'From' number (configuration)"),
    21408: (Outcome.PERMANENT, "sending to this region is not enabled on the account"),
    21602: (Outcome.PERMANENT, "message body is empty"),
    21604: (Outcome.PERMANENT, "'To' number missing"),
    21606: (Outcome.PERMANENT, "'From' number is not an SMS-capable number of this account (configuration)"),
    21610: (Outcome.PERMANENT, "recipient has unsubscribed (replied STOP)"),
    21611: (Outcome.RATE_LIMITED, "too many messages queued for the 'From' number"),
    21612: (Outcome.PERMANENT, "'To' number cannot be reached by SMS from this 'From' number"),
    21614: (Outcome.PERMANENT, "'To' number is not a mobile number"),
    21617: (Outcome.PERMANENT, "message body exceeds the maximum length"),
    21635: (Outcome.PERMANENT, "'To' number cannot receive SMS"),
}
"""Twilio REST error code -> (outcome, reason). Codes not listed fall back to the HTTP status."""

REST_UNREACHABLE: dict[int, Unreachable] = {
    21211: Unreachable.INVALID_ADDRESS,  # invalid 'To' phone number
    21214: Unreachable.NO_ROUTE,  # 'To' phone number cannot be reached
    21408: Unreachable.NO_ROUTE,  # sending to this region is not enabled
    21610: Unreachable.OPTED_OUT_AT_CARRIER,  # the recipient replied STOP to the carrier
    21612: Unreachable.NO_ROUTE,  # 'To' cannot be reached by SMS from this 'From' number
    21614: Unreachable.NO_ROUTE,  # 'To' is not a mobile number
}
"""Twilio REST error code -> why the recipient cannot be reached, for the permanent refusals about the recipient."""


MAX_BODY_CHARACTERS = 1600
"""Twilio refuses a message body longer than this (error 21617, "The concatenated message body exceeds the 1600
character limit"), counted in characters (code points), before any segmenting."""
_E164 = re.compile(r"\+[1-9][0-9]{1,14}", re.ASCII)


def refused_on_its_face(to: str, body: str) -> int | None:
    """The error code Twilio answers (HTTP 400) for a create-message request it refuses before trying to send it,
    or None: no 'To' (21604), no body (21602), a 'To' that is not an E.164 number ``+`` and up to 15 digits
    (21211), a body past :data:`MAX_BODY_CHARACTERS` (21617).

    The sandbox applies these rules so that it refuses what Twilio refuses; the Twilio stand-in
    (``standins/twilio_api.py``) applies the same rules on the provider's side (it may not import this module).
    """
    if not to:
        return 21604
    if not body:
        return 21602
    if not _E164.fullmatch(to):
        return 21211
    if len(body) > MAX_BODY_CHARACTERS:
        return 21617
    return None


def rest_unreachable(code: int | None) -> Unreachable | None:
    """Why the recipient cannot be reached, when Twilio's refusal ``code`` says it is the recipient; else None."""
    return REST_UNREACHABLE.get(code) if code is not None else None


def classify_rest_error(http_status: int, code: int | None) -> tuple[Outcome, str, str]:
    """``(outcome, short code, reason)`` for a refused Messages API request."""
    if code is not None and code in REST_ERRORS:
        outcome, reason = REST_ERRORS[code]
        return outcome, str(code), reason
    label = str(code) if code is not None and code != http_status else f"http_{http_status}"
    if http_status == 429:
        return Outcome.RATE_LIMITED, label, "too many requests"
    if http_status >= 500:
        return Outcome.TRANSIENT, label, f"Twilio answered HTTP {http_status}"
    if http_status in (401, 403):
        return Outcome.PERMANENT, label, "Twilio refused the credentials (configuration)"
    return Outcome.PERMANENT, label, f"Twilio refused the request (HTTP {http_status})"


class CallbackOutcome(StrEnum):
    """Final delivery state for a status callback reporting an error.

    ``undeliverable``: the destination cannot receive this message (unreachable, blocked, unknown, landline);
    resending the same text to the same number is pointless, and the contact may need attention.
    ``failed``: the message failed on the way for a reason that is not the recipient's number (filtering,
    queue overflow, unknown); it says more about our sending than about the contact.
    """

    UNDELIVERABLE = "undeliverable"
    FAILED = "failed"


CALLBACK_ERRORS: dict[int, tuple[CallbackOutcome, str]] = {
    30001: (CallbackOutcome.FAILED, "queue overflow"),
    30002: (CallbackOutcome.FAILED, "account suspended"),
    30003: (CallbackOutcome.UNDELIVERABLE, "unreachable destination handset"),
    30004: (CallbackOutcome.UNDELIVERABLE, "message blocked by the recipient or carrier"),
    30005: (CallbackOutcome.UNDELIVERABLE, "unknown destination handset"),
    30006: (CallbackOutcome.UNDELIVERABLE, "landline or unreachable carrier"),
    30007: (CallbackOutcome.FAILED, "carrier filtering (message flagged as spam)"),
    30008: (CallbackOutcome.FAILED, "unknown error"),
    30034: (CallbackOutcome.FAILED, "message from an unregistered number (A2P 10DLC)"),
}
"""Status-callback ``ErrorCode`` -> (final state, reason)."""


def callback_outcome(message_status: str, error_code: int | None) -> tuple[CallbackOutcome, str]:
    """The final state for an ``undelivered``/``failed`` callback; unknown codes keep Twilio's own word."""
    if error_code is not None and error_code in CALLBACK_ERRORS:
        return CALLBACK_ERRORS[error_code]
    if message_status == "undelivered":
        return CallbackOutcome.UNDELIVERABLE, f"undelivered (error {error_code})"
    return CallbackOutcome.FAILED, f"failed (error {error_code})"
