"""Stage "render": the words each contact receives, per channel and language, from ``templates/messages``.

Rendering is done once per (alert, language, channel) with placeholders for the per-recipient parts (the
acknowledgement and unsubscribe links), and patched per recipient with a plain string replace: a Jinja render or
a MIME build per recipient would cost more than the send itself at fan-out rates.

Test and Exercise alerts carry an unmistakable marker in every message, and Update and Cancel say so up front,
so a drill can never read like the real thing.

Text that a provider would refuse is made acceptable here, where each channel's shape is known:

* **One line where one line is built**: the e-mail ``Subject``, the SMS headline line and the push title hold the
  headline with every run of whitespace (``\r``, ``\n``, tabs, U+0085, U+2028, U+2029, no-break and other
  Unicode spaces) folded into one space (:func:`one_line`). A pretty-printed CAP feed wraps long headlines; a
  header with a line break is refused by every mail library ("Header values may not contain linefeed ...").
  Line breaks are kept where the channel carries them: the e-mail bodies, the SMS instruction, the push body.
* **E-mail lines within 998 octets** (RFC 5321): a long paragraph is broken at a space (:func:`wrap_long_lines`),
  since the bodies travel as 8-bit text, never re-encoded.
* **One channel's failure is that channel's alone**: each channel's message is built on its own, and a build that
  fails (a template error, a line that cannot be broken) is kept in :attr:`Rendered.failures` for that channel;
  the deliver job records those deliveries ``failed`` (``invalid_message``), while the other channels send.
"""

from __future__ import annotations

import logging
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from types import MappingProxyType
from typing import Any, Final

from jinja2 import Environment, FileSystemLoader, StrictUndefined, TemplateError, select_autoescape

from alertsvc.dispatch.sms_text import fit_sms
from alertsvc.i18n import N_, translator
from alertsvc.resources import templates_dir
from alertsvc.security.links import LONGEST_TOKEN
from channels.base import Message, PermanentError, Unreachable
from channels.email_mime import ACK_LINK, UNSUBSCRIBE_LINK, EmailTemplate, check_address
from channels.twilio_codes import MAX_BODY_CHARACTERS

ACK_PLACEHOLDER = "\x00ACK\x00"
UNSUB_PLACEHOLDER = "\x00UNSUB\x00"
log = logging.getLogger(__name__)
LONGEST_ACK_PATH = len("/a/") + LONGEST_TOKEN
"""The acknowledgement link's path at its longest (the largest delivery id's token)."""
SMS_MAX_CHARACTERS = MAX_BODY_CHARACTERS - 100
"""Longest SMS as rendered, the link placeholder counted at its real length (:func:`sms_link_room`): Twilio refuses a
body past 1,600 characters (21617), and this leaves room for an acknowledgement link up to 140 characters long."""
EMAIL_LINE_OCTETS = 900
"""Longest line of an e-mail body as rendered; SMTP allows 998 octets, the rest is room for a patched-in link."""


def one_line(text: str) -> str:
    """``text`` on one line: every run of whitespace as one space, none at either end.

    ``str.split()`` splits at every character Python calls whitespace: the ASCII ones, the C0 separators
    U+001C-U+001F, U+0085 (NEL), U+00A0 and the other Unicode spaces (U+1680, U+2000-U+200A, U+202F, U+205F,
    U+3000), and the line and paragraph separators U+2028 and U+2029.
    """
    return " ".join(text.split())


def _break_line(line: str, limit: int) -> list[str]:
    """One line as several of at most ``limit`` UTF-8 octets, broken at the last space that fits, else anywhere
    (a word that long is not text a reader reads; cutting it beats refusing the whole message)."""
    pieces: list[str] = []
    while len(line.encode()) > limit:
        cut = len(line.encode()[:limit].decode(errors="ignore"))  # the most characters within ``limit`` octets
        space = line.rfind(" ", 0, cut + 1)
        if space > 0:
            pieces.append(line[:space].rstrip(" "))
            line = line[space + 1 :]
        else:
            pieces.append(line[:cut])
            line = line[cut:]
    pieces.append(line)
    return pieces


def wrap_long_lines(text: str, limit: int = EMAIL_LINE_OCTETS) -> str:
    """``text`` with every line longer than ``limit`` octets broken (see :func:`_break_line`); others untouched.

    Safe in HTML too (a line break between words is a space there) and for the link placeholders (they hold no
    spaces and are short, so a break never falls inside one).
    """
    lines = text.split("\n")
    if all(len(line) * 4 <= limit or len(line.encode()) <= limit for line in lines):
        return text
    return "\n".join(piece for line in lines for piece in _break_line(line, limit))


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
    "answer": N_("Tell us you are safe or need help"), "all_clear": N_("Read the all-clear online"),
    "unsubscribe": N_("Unsubscribe"),
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
    """The whole e-mail serialised once, for the SMTP adapter's fast path and the sandbox (None without a From)."""
    sms_dropped: tuple[str, ...] = ()
    """Parts of the info the SMS left out or shortened to stay within its segments (``description``): the
    console's preview warns of them before anything is sent."""
    failures: Mapping[str, str] = field(default_factory=dict)
    """Channel -> why its message could not be built; that channel's fields are empty, the others are good."""

    def failure(self, channel: str) -> str | None:
        """Why ``channel``'s message could not be built for this language, or None when it was."""
        return self.failures.get(channel)


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
    headline = one_line(str(info.get("headline") or info.get("event") or ""))
    marker = marker_for(status, msg_type, words, headline)
    description = str(info.get("description") or "")
    instruction = str(info.get("instruction") or "")
    context = {
        "marker": marker,
        "headline": headline,
        "description": description,
        "instruction": instruction,
        "expires": info.get("expires"),
        "sender_name": one_line(str(info.get("senderName") or sender_name)),
        "labels": words,
        "language": language,
        "ack_url": ACK_PLACEHOLDER,
        "link_label": words["all_clear" if msg_type == "Cancel" else "answer"],
        "unsubscribe_url": UNSUB_PLACEHOLDER,
    }
    failures: dict[str, str] = {}
    sms = ""
    dropped: tuple[str, ...] = ()
    try:
        link_room = sms_link_room(public_url)
        sms, dropped = _render_sms(headline, marker, description, instruction, link_room, max_segments)
    except (ValueError, TemplateError) as exc:
        failures["sms"] = _failure("SMS", exc)
    subject = push_body = email_text = email_html = ""
    template = None
    try:  # the push title and the e-mail subject: a failure here is both channels'
        subject = one_line(env.get_template("messages/subject.txt.j2").render(context))
    except (ValueError, TemplateError) as exc:
        failures["push"] = failures["email"] = _failure("subject", exc)
    if "push" not in failures:
        try:
            push_body = env.get_template("messages/push.txt.j2").render(context).strip()
        except (ValueError, TemplateError) as exc:
            failures["push"] = _failure("push notification", exc)
    if "email" not in failures:
        try:
            email_text = wrap_long_lines(env.get_template("messages/email.txt.j2").render(context))
            email_html = wrap_long_lines(env.get_template("messages/email.html.j2").render(context))
            if email_from:
                template = EmailTemplate.compile(
                    from_addr=email_from,
                    subject=subject,
                    text=email_text.replace(ACK_PLACEHOLDER, ACK_LINK).replace(UNSUB_PLACEHOLDER, UNSUBSCRIBE_LINK),
                    html_body=email_html.replace(ACK_PLACEHOLDER, ACK_LINK).replace(
                        UNSUB_PLACEHOLDER, UNSUBSCRIBE_LINK
                    ),
                    with_unsubscribe=True,
                )
        except (ValueError, TemplateError) as exc:
            failures["email"] = _failure("e-mail", exc)
            email_text = email_html = ""
    return Rendered(
        sms=sms,
        subject=subject,
        email_text=email_text,
        email_html=email_html,
        push_title=subject,
        push_body=push_body,
        email=template,
        sms_dropped=dropped,
        failures=MappingProxyType(failures),
    )


def sms_link_room(public_url: str) -> int:
    """Characters the acknowledgement link takes in an SMS: ``{public_url}/a/{token}``, the token at its longest,
    so the message cut to fit its segments still fits once the real link is in (a fixed guess let a three-segment
    budget go out as four when the public URL was long)."""
    return len(public_url.rstrip("/")) + LONGEST_ACK_PATH


def _render_sms(
    headline: str, marker: str, description: str, instruction: str, link_length: int, max_segments: int
) -> tuple[str, tuple[str, ...]]:
    """The SMS text with the link placeholder, and what of the info it left out."""
    sms_headline = f"{marker}: {headline}" if marker else headline
    link_room = "x" * link_length
    sms = fit_sms(sms_headline, instruction, description, link_room, max_segments, SMS_MAX_CHARACTERS)
    sms = sms.replace(link_room, ACK_PLACEHOLDER)
    whole_description = " ".join(description.split())
    dropped = ("description",) if whole_description and whole_description not in sms else ()
    return sms, dropped


def _failure(what: str, exc: Exception) -> str:
    """The reason stored with the deliveries: what could not be built and why, without recipient data (none is
    in a template render)."""
    log.warning("the %s message could not be built: %s", what, exc)
    return f"the {what} could not be built: {str(exc)[:200]}"


def personalise_failure(channel: str, to: str, exc: ValueError) -> PermanentError:
    """Whose fault it is that :func:`personalise` refused a message (``exc``), as the deliver job records it.

    The e-mail builder refuses an address it cannot write into a header *and* a link it cannot put in the
    message (longer than ``MAX_LINK_LENGTH``: a long ``ALERTSVC_PUBLIC_URL``, or not a plain URL). Only the
    first is the recipient's: ``undeliverable`` with ``invalid_recipient``. A refused link is our own message's
    fault, as a text that could not be built is: ``failed`` with ``invalid_message``, and the recipient is not
    counted unreachable. Recording it as ``invalid_recipient`` sent the operator looking at good addresses.
    """
    if channel == "email":
        try:
            check_address(to)
        except ValueError:
            return PermanentError("invalid_recipient", str(exc), Unreachable.INVALID_ADDRESS)
    return PermanentError("invalid_message", str(exc))


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
