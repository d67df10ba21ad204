"""Stage "render": the words each contact receives, per channel and language, from ``templates/messages``.

Rendering is done once per (alert, language, channel) with placeholders for the per-recipient parts (the
acknowledgement and unsubscribe links), and patched per recipient with a plain string replace: a Jinja render or
a MIME build per recipient would cost more than the send itself at fan-out rates.

Test and Exercise alerts carry an unmistakable marker in every message, and Update and Cancel say so up front,
so a drill can never read like the real thing.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from types import MappingProxyType
from typing import Any, Final

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from alertsvc.dispatch.sms_text import fit_sms
from alertsvc.i18n import N_, translator
from alertsvc.resources import templates_dir
from channels.base import Message
from channels.email_mime import ACK_LINK, UNSUBSCRIBE_LINK, EmailTemplate

ACK_PLACEHOLDER = "\x00ACK\x00"
UNSUB_PLACEHOLDER = "\x00UNSUB\x00"
SMS_LINK_PLACEHOLDER_LEN = 40
"""Room kept for the acknowledgement link in the SMS budget: the public URL + ``/a/`` + a token."""


@lru_cache(maxsize=8)
def _environment(root: str) -> Environment:
    return Environment(
        loader=FileSystemLoader(root),
        autoescape=select_autoescape(enabled_extensions=("html.j2",), default_for_string=False),
        undefined=StrictUndefined,
        keep_trailing_newline=False,
    )


LABELS: Final[Mapping[str, str]] = MappingProxyType({
    "cancel": N_("CANCELLED"), "update": N_("UPDATE"), "test": N_("TEST - NOT A REAL ALERT"),
    "exercise": N_("EXERCISE - NOT A REAL ALERT"), "reply": N_("Reply or tap"),
    "answer": N_("Tell us you are safe or need help"), "unsubscribe": N_("Unsubscribe"),
    "instruction": N_("What to do"), "expires": N_("Valid until"), "from": N_("From"),
})  # fmt: skip
"""The templates' ``labels.<key>``: fixed words of the messages, in English (the ``messages`` catalogue's ids)."""


@lru_cache(maxsize=16)
def labels(language: str) -> dict[str, str]:
    """:data:`LABELS` in the language's primary subtag, English when the ``messages`` domain lacks it; built once per
    language and process, so rendering does no catalogue work."""
    _ = translator("messages", language)
    return {key: _(text) for key, text in LABELS.items()}


def _folded(text: str) -> str:
    """``text`` without accents, case-folded, for comparing words as a reader would ("Mise à jour" = "MISE A JOUR")."""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch)).casefold()


def already_says(headline: str, word: str) -> bool:
    """Whether ``headline`` starts with ``word`` (case and accents aside) as a whole word, e.g. an author who typed
    "UPDATE: ..." themselves; the message then gets no second prefix."""
    folded, prefix = _folded(headline.lstrip()), _folded(word).strip()
    if not prefix or not folded.startswith(prefix):
        return False
    rest = folded[len(prefix) :]
    return not rest or not rest[0].isalnum()


def marker_for(status: str, msg_type: str, words: dict[str, str], headline: str = "") -> str:
    """The words before a message's headline: TEST / EXERCISE, then CANCELLED / UPDATE in the reader's language;
    a word the headline already starts with (in this language or in English) is not repeated."""
    parts = []
    if status == "Test":
        parts.append(words["test"])
    elif status == "Exercise":
        parts.append(words["exercise"])
    kind = {"Cancel": "cancel", "Update": "update"}.get(msg_type)
    if kind is not None:
        spellings = (words[kind], LABELS[kind])
        if not any(already_says(headline, spelling) for spelling in spellings):
            parts.append(words[kind])
    return " · ".join(parts)


@dataclass(frozen=True, slots=True)
class Rendered:
    """One alert in one language, rendered for every channel, with placeholders for the links."""

    sms: str
    subject: str
    email_text: str
    email_html: str
    push_title: str
    push_body: str
    email: EmailTemplate | None
    """The whole e-mail serialised once, for the SMTP adapter's fast path (None in the sandbox)."""
    sms_dropped: tuple[str, ...] = ()
    """Parts of the info the SMS left out or shortened to stay within its segments (``description``): the
    console's preview warns of them before anything is sent."""


def render_info(
    info: dict[str, Any],
    *,
    status: str,
    msg_type: str,
    sender_name: str,
    public_url: str,
    max_segments: int,
    email_from: str | None = None,
    root: Path | None = None,
) -> Rendered:
    """Render one CAP info (JSON form) for every channel."""
    base = str(root or templates_dir())
    env = _environment(base)
    language = str(info.get("language") or "en-US")
    words = labels(language)
    headline = str(info.get("headline") or info.get("event") or "")
    marker = marker_for(status, msg_type, words, headline)
    description = str(info.get("description") or "")
    instruction = str(info.get("instruction") or "")
    context = {
        "marker": marker,
        "headline": headline,
        "description": description,
        "instruction": instruction,
        "expires": info.get("expires"),
        "sender_name": info.get("senderName") or sender_name,
        "labels": words,
        "language": language,
        "ack_url": ACK_PLACEHOLDER,
        "unsubscribe_url": UNSUB_PLACEHOLDER,
    }
    sms_headline = f"{marker}: {headline}" if marker else headline
    link_room = "x" * SMS_LINK_PLACEHOLDER_LEN
    sms = fit_sms(sms_headline, instruction, description, link_room, max_segments).replace(link_room, ACK_PLACEHOLDER)
    whole_description = " ".join(description.split())
    dropped = ("description",) if whole_description and whole_description not in sms else ()
    subject = env.get_template("messages/subject.txt.j2").render(context).strip()
    push_body = env.get_template("messages/push.txt.j2").render(context).strip()
    email_text = env.get_template("messages/email.txt.j2").render(context)
    email_html = env.get_template("messages/email.html.j2").render(context)
    template = None
    if email_from:
        template = EmailTemplate.compile(
            from_addr=email_from,
            subject=subject,
            text=email_text.replace(ACK_PLACEHOLDER, ACK_LINK).replace(UNSUB_PLACEHOLDER, UNSUBSCRIBE_LINK),
            html_body=email_html.replace(ACK_PLACEHOLDER, ACK_LINK).replace(UNSUB_PLACEHOLDER, UNSUBSCRIBE_LINK),
            with_unsubscribe=True,
        )
    return Rendered(
        sms=sms,
        subject=subject,
        email_text=email_text,
        email_html=email_html,
        push_title=subject,
        push_body=push_body,
        email=template,
        sms_dropped=dropped,
    )


def personalise(
    rendered: Rendered,
    channel: str,
    *,
    to: str,
    reference: str,
    ack_url: str,
    unsubscribe_url: str,
    status_callback: str | None = None,
) -> Message:
    """The message for one contact: the links patched into the pre-rendered text."""
    if channel == "sms":
        return Message(
            channel="sms",
            to=to,
            body=rendered.sms.replace(ACK_PLACEHOLDER, ack_url),
            reference=reference,
            status_callback=status_callback,
        )
    if channel == "email":
        if rendered.email is not None:
            # The SMTP adapter sends these bytes as they are: no per-recipient copies of the text and HTML bodies.
            mime = rendered.email.render(to=to, reference=reference, ack_link=ack_url, unsubscribe_link=unsubscribe_url)
            return Message(channel="email", to=to, subject=rendered.subject, body="", reference=reference, mime=mime)
        return Message(
            channel="email",
            to=to,
            subject=rendered.subject,
            body=rendered.email_text.replace(ACK_PLACEHOLDER, ack_url).replace(UNSUB_PLACEHOLDER, unsubscribe_url),
            html=rendered.email_html.replace(ACK_PLACEHOLDER, ack_url).replace(UNSUB_PLACEHOLDER, unsubscribe_url),
            reference=reference,
            headers={
                "List-Unsubscribe": f"<{unsubscribe_url}>",
                "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
            },
        )
    return Message(
        channel=channel,
        to=to,
        subject=rendered.push_title,
        body=f"{rendered.push_body} {ack_url}".strip(),
        reference=reference,
    )
