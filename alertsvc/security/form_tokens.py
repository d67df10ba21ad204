"""CSRF protection for public forms that have no session (resident sign-up and confirmation pages).

Double-submit: a random value goes in a ``SameSite=Strict``, HttpOnly cookie and, signed, in a hidden field; a
POST is accepted only when the field is a valid signature of the cookie's value and is less than an hour old. A
page on another site can make a browser send the cookie, but cannot read it to forge the field.
"""

from __future__ import annotations

import hmac
import secrets

from itsdangerous import BadSignature, URLSafeTimedSerializer

COOKIE = "alertsvc_form"
MAX_AGE_S = 3600


class FormTokens:
    def __init__(self, secret: str) -> None:
        self._serializer = URLSafeTimedSerializer(secret, salt="alertsvc-public-form")

    @staticmethod
    def new_cookie_value() -> str:
        return secrets.token_urlsafe(24)

    def field_for(self, cookie_value: str) -> str:
        return str(self._serializer.dumps(cookie_value))

    def check(self, cookie_value: str | None, field: str | None) -> bool:
        if not cookie_value or not field:
            return False
        try:
            signed = self._serializer.loads(field, max_age=MAX_AGE_S)
        except BadSignature:
            return False
        return isinstance(signed, str) and hmac.compare_digest(signed.encode(), cookie_value.encode())
