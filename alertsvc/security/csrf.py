"""CSRF protection for console forms: a random token per session, sent back with every POST.

Why per session rather than per form: a dispatcher may have the compose page and an alert page open in two tabs;
a per-form token would make one of them fail at the worst moment. The token lives in the signed session cookie
(which no other site can read) and in a hidden ``csrf_token`` field of each form (or the ``X-CSRF-Token`` header
for the console's few ``fetch`` calls); a request whose two copies differ is refused with 403. It is renewed at
sign-in and sign-out, so a token planted before sign-in is worthless after it.
"""

from __future__ import annotations

import hmac

from alertsvc.errors import Forbidden

FIELD = "csrf_token"
HEADER = "X-CSRF-Token"


class CsrfError(Forbidden):
    """The request's CSRF token is missing or does not match the session's."""


def check_token(expected: str, presented: str | None) -> None:
    """Raise :class:`CsrfError` unless ``presented`` equals ``expected`` (compared in constant time)."""
    if not expected or not presented or not hmac.compare_digest(expected.encode(), presented.encode()):
        raise CsrfError("the form has expired or did not come from this console; reload the page and try again")
