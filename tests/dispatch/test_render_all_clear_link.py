"""The e-mail of a Cancel (an all-clear) links to a page that shows the all-clear and has no answer buttons, so it
names that link for what it is, in the reader's language; every other kind of message still asks for an answer."""

from __future__ import annotations

import pytest

from alertsvc.dispatch.render import render_info

INFO = {
    "language": "fr-CA",
    "event": "Inondation",
    "headline": "Fin d'alerte : Inondation",
    "instruction": "C'est fini.",
}


def _email(msg_type: str, language: str) -> tuple[str, str]:
    rendered = render_info(
        {**INFO, "language": language},
        status="Actual",
        msg_type=msg_type,
        sender_name="Ville",
        public_url="https://alerts.example",
        max_segments=3,
    )
    return rendered.email_text, rendered.email_html


@pytest.mark.parametrize(
    ("language", "asks", "all_clear"),
    [
        ("en-CA", "Tell us you are safe or need help", "Read the all-clear online"),
        ("fr-CA", "Dites-nous si vous êtes en sécurité", "Lire la fin d'alerte en ligne"),
        ("es", "Díganos si está a salvo", "Leer el fin de la alerta en línea"),
    ],
)
def test_a_cancel_does_not_ask_for_an_answer(language: str, asks: str, all_clear: str) -> None:
    for text in _email("Cancel", language):
        assert asks not in text.replace("&#39;", "'")
        assert all_clear in text.replace("&#39;", "'")
    for msg_type in ("Alert", "Update"):
        for text in _email(msg_type, language):
            assert asks in text.replace("&#39;", "'")
            assert all_clear not in text.replace("&#39;", "'")
