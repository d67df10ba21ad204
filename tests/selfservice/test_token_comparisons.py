"""Constant-time comparisons of what a client sends: a non-ASCII value is a mismatch, never an exception (a 500)."""

from __future__ import annotations

from alertsvc.security.form_tokens import FormTokens
from alertsvc.webhooks.signing import sign, verify


def test_a_non_ascii_form_cookie_is_refused() -> None:
    tokens = FormTokens("k" * 40)
    cookie = tokens.new_cookie_value()
    field = tokens.field_for(cookie)
    assert tokens.check(cookie, field)
    assert not tokens.check("é" + cookie[1:], field)


def test_a_non_ascii_webhook_signature_is_refused() -> None:
    body = b'{"event":"x"}'
    header = sign("secret", body)
    assert verify("secret", body, header)
    stamp = header.split(",", 1)[0]
    assert not verify("secret", body, f"{stamp},v1=ünïcode")
