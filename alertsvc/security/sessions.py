"""Console sessions in a signed cookie: who is signed in, their CSRF token, their language, when they were last seen.

Why a signed cookie (itsdangerous) rather than a server-side table: the console needs no session store of its own,
works the same with one API process or ten, and a cookie cannot be altered without the secret key. What the
cookie cannot do alone is end early, so every request still loads the user and refuses a deactivated one, and
the cookie carries the user's *session epoch* from sign-in (``users.session_epoch``): signing out, a new password,
a new role and deactivation move the user's epoch on, and every cookie holding an older one is signed out at its
next request, a copy included. Why an epoch per user rather than a table of sessions: it needs no store to write
at each sign-in and sweep afterwards, and it is checked on the very row every request loads already; the price is
that signing out ends the user's sessions in every browser, not only this one, which for a console that can send
public warnings is the safer reading of "sign out" anyway.

Two clocks end a session: *idle* (``console_idle_minutes`` without a request, checked against ``seen``, which is
refreshed as the dispatcher works) and *absolute* (``console_session_hours`` after sign-in, checked against
``since``), so a stolen cookie is worth a shift at most. The cookie is HttpOnly (no script reads it),
SameSite=Lax (other sites' forms do not carry it; CSRF tokens cover the rest) and Secure whenever the public URL
is https, scoped to ``/console``.
"""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass, replace
from typing import Any

from itsdangerous import BadSignature, URLSafeSerializer

from alertsvc.settings import Settings

COOKIE_NAME = "alertsvc_console"
COOKIE_PATH = "/console"
SALT = "alertsvc-console-session"


@dataclass(frozen=True, slots=True)
class ConsoleSession:
    """What the cookie carries. ``user_id`` is None before sign-in (the login form still needs a CSRF token)."""

    csrf: str
    user_id: int | None = None
    since: float = 0.0
    """When the user signed in (epoch seconds); the absolute lifetime counts from here."""
    seen: float = 0.0
    """The last request (epoch seconds); the idle timeout counts from here."""
    lang: str | None = None
    epoch: int = 0
    """The user's ``session_epoch`` when they signed in; a request finding a newer one is signed out."""

    def signed_in(self, user_id: int, now: float, epoch: int = 0) -> ConsoleSession:
        """The session after a successful sign-in: a fresh CSRF token, so one planted before cannot be reused."""
        return replace(self, user_id=user_id, csrf=new_token(), since=now, seen=now, epoch=epoch)

    def signed_out(self) -> ConsoleSession:
        return ConsoleSession(csrf=new_token(), lang=self.lang)

    def touched(self, now: float) -> ConsoleSession:
        return replace(self, seen=now)


def new_token() -> str:
    return secrets.token_urlsafe(32)


def fresh_session(lang: str | None = None) -> ConsoleSession:
    return ConsoleSession(csrf=new_token(), lang=lang)


class SessionCodec:
    """Turns sessions into cookie values and back, applying both expiry clocks on the way in."""

    def __init__(self, secret: str, idle_s: float, lifetime_s: float) -> None:
        self._serializer = URLSafeSerializer(secret, salt=SALT)
        self.idle_s = idle_s
        self.lifetime_s = lifetime_s

    @classmethod
    def from_settings(cls, settings: Settings) -> SessionCodec:
        return cls(
            settings.signing_key(), settings.console_idle_minutes * 60.0, settings.console_session_hours * 3600.0
        )

    def dumps(self, session: ConsoleSession) -> str:
        payload = {
            "c": session.csrf, "u": session.user_id, "s": session.since, "t": session.seen, "l": session.lang,
            "g": session.epoch,
        }  # fmt: skip
        return self._serializer.dumps(payload)

    def loads(self, value: str | None, now: float | None = None) -> ConsoleSession | None:
        """The session in ``value``; None for a forged, garbled or expired cookie (the caller starts afresh).

        An expired *signed-in* session keeps its language but loses the user: the dispatcher signs in again.
        """
        if not value:
            return None
        try:
            data: Any = self._serializer.loads(value)
        except BadSignature:
            return None
        if not isinstance(data, dict) or not isinstance(data.get("c"), str):
            return None
        lang = data.get("l") if isinstance(data.get("l"), str) else None
        user_id = data.get("u")
        since, seen = data.get("s"), data.get("t")
        epoch = data.get("g", 0)  # a cookie from before epochs (migration 0007) holds the users' starting epoch
        if not isinstance(user_id, int) or not isinstance(since, int | float) or not isinstance(seen, int | float):
            return ConsoleSession(csrf=data["c"], lang=lang)
        if not isinstance(epoch, int) or isinstance(epoch, bool):
            return ConsoleSession(csrf=new_token(), lang=lang)
        moment = time.time() if now is None else now
        if moment - seen > self.idle_s or moment - since > self.lifetime_s:
            return ConsoleSession(csrf=new_token(), lang=lang)
        return ConsoleSession(
            csrf=data["c"], user_id=user_id, since=float(since), seen=float(seen), lang=lang, epoch=epoch
        )


def cookie_options(settings: Settings) -> dict[str, Any]:
    """Keyword arguments for ``Response.set_cookie``: Secure on https, always HttpOnly and SameSite=Lax."""
    return {
        "key": COOKIE_NAME,
        "path": COOKIE_PATH,
        "httponly": True,
        "samesite": "lax",
        "secure": settings.public_url.lower().startswith("https://"),
        "max_age": settings.console_session_hours * 3600,
    }
