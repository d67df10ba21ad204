"""What ``render_info`` builds is what providers accept: single lines stay single, e-mail lines stay short, and a
channel whose message cannot be built fails alone."""

from __future__ import annotations

import shutil
from email import message_from_bytes, policy
from pathlib import Path

import pytest

from alertsvc.dispatch.render import ACK_PLACEHOLDER, Rendered, one_line, personalise, render_info, wrap_long_lines
from alertsvc.resources import templates_dir

BREAKS = ["\n", "\r\n", "\r", "\t", "\u0085", "\u2028", "\u2029", "\u00a0", "\u202f", "\u3000", "\x0b", "\x0c"]
ACK = "https://alerts.example.org/a/token"
UNSUB = "https://alerts.example.org/u/token"


def _render(headline: str, description: str = "Water is rising.", **options: object) -> Rendered:
    info = {"language": "en-US", "headline": headline, "description": description, "instruction": "Go up.\nNow."}
    return render_info(
        info, status="Test", msg_type="Update", sender_name="City\nSafety", public_url="https://alerts.example.org",
        max_segments=3, email_from="alerts@city.example", **options,  # type: ignore[arg-type]
    )  # fmt: skip


@pytest.mark.parametrize("brk", BREAKS)
def test_every_kind_of_break_in_a_headline_becomes_one_space_where_one_line_is_built(brk: str) -> None:
    rendered = _render(f"Flood{brk}{brk}  warning {brk}")
    assert rendered.failures == {}
    assert rendered.subject.endswith("] Flood warning") and "\n" not in rendered.subject
    assert rendered.push_title == rendered.subject
    assert rendered.sms.split("\n", 1)[0].endswith(": Flood warning")
    assert rendered.email is not None
    mime = rendered.email.render(to="ann@example.org", reference="7", ack_link=ACK, unsubscribe_link=UNSUB)
    headers = mime.split(b"\r\n\r\n", 1)[0].split(b"\r\n")
    subject = [line for line in headers if line.lower().startswith(b"subject:")]
    assert len(subject) == 1 and b"Flood warning" in subject[0]
    text = message_from_bytes(mime, policy=policy.default)
    assert str(text["Subject"]).endswith("] Flood warning")


def test_line_breaks_stay_where_the_channel_carries_them() -> None:
    rendered = _render("Flood", description="First line.\nSecond line.")
    assert "First line.\nSecond line." in rendered.email_text
    assert "Go up.\nNow." in rendered.email_text
    assert rendered.push_body.startswith("Go up.\nNow.")
    assert "Go up.\nNow." in rendered.sms
    assert "From: City Safety" in rendered.email_text  # the sender line is a single line


def test_one_line_folds_every_whitespace_run() -> None:
    assert one_line(" a\r\n\t b\u2028\u2029c\u00a0\u00a0d\u0085 ") == "a b c d"


def test_a_long_paragraph_is_broken_at_a_space_so_the_email_builds() -> None:
    description = "The river is rising quickly along the old mill road. " * 40  # ~2,100 characters, one line
    rendered = _render("Flood", description=description)
    assert rendered.failures == {}
    assert rendered.email is not None
    mime = rendered.email.render(to="ann@example.org", reference="7", ack_link=ACK, unsubscribe_link=UNSUB)
    assert max(len(line) for line in mime.split(b"\r\n")) <= 998
    body = message_from_bytes(mime, policy=policy.default).get_body(("plain",))
    assert body is not None
    assert " ".join(body.get_content().split()).count("old mill road.") == 40  # nothing lost, only re-broken


def test_wrap_long_lines_breaks_at_spaces_or_anywhere_and_counts_octets() -> None:
    assert wrap_long_lines("short\nlines", limit=10) == "short\nlines"
    assert wrap_long_lines("aaaa bbbb cccc", limit=10) == "aaaa bbbb\ncccc"
    assert wrap_long_lines("x" * 25, limit=10) == "x" * 10 + "\n" + "x" * 10 + "\n" + "x" * 5
    wrapped = wrap_long_lines("é" * 12, limit=10)  # 2 octets each: 5 a line, never a character cut in two
    assert wrapped.split("\n") == ["é" * 5, "é" * 5, "é" * 2]


def test_a_build_failure_in_one_channel_leaves_the_others_whole(tmp_path: Path) -> None:
    root = tmp_path / "templates"
    shutil.copytree(templates_dir() / "messages", root / "messages")
    (root / "messages" / "email.html.j2").write_text("<p>{{ no_such_value }}</p>")
    rendered = _render("Flood", root=root)
    assert set(rendered.failures) == {"email"}
    assert rendered.failure("email") is not None and rendered.failure("sms") is None
    assert rendered.sms.startswith("TEST - NOT A REAL ALERT · UPDATE: Flood")
    assert rendered.push_title and rendered.push_body
    sms = personalise(rendered, "sms", to="+15145551101", reference="1", ack_url=ACK, unsubscribe_url="")
    assert sms.body.endswith(ACK) and ACK_PLACEHOLDER not in sms.body


def test_a_reserved_token_in_the_text_fails_the_email_only() -> None:
    rendered = _render("Flood", description="see @@alertsvc-to-9f3c@@")
    assert set(rendered.failures) == {"email"}
    assert "reserved placeholder" in (rendered.failure("email") or "")
    assert rendered.sms and rendered.push_body


@pytest.mark.parametrize(
    ("headline", "instruction"),
    [("Flood " * 100, "Go up now. " * 300), ("Flood " * 400, "Go up."), ("Flood", "Go up now. " * 300)],
)
def test_an_sms_never_passes_twilios_1600_characters(headline: str, instruction: str) -> None:
    info = {"language": "en-US", "headline": headline, "instruction": instruction, "description": "d " * 50}
    rendered = render_info(
        info, status="Actual", msg_type="Alert", sender_name="x", public_url="https://a.example", max_segments=40
    )
    link = "https://alerts.example.org/a/" + "t" * 110  # a 140-character acknowledgement link
    sms = personalise(rendered, "sms", to="+15145551101", reference="1", ack_url=link, unsubscribe_url="").body
    assert len(sms) <= 1600 and sms.endswith(link)
    first, second = sms.split("\n")[:2]
    assert first.startswith("Flood") and second.startswith("Go up")  # both kept, the longer one shortened
    assert sms.count("...") <= 2


def test_within_characters_leaves_a_text_that_fits_alone() -> None:
    from alertsvc.dispatch.sms_text import within_characters

    assert within_characters("Flood", "Go up.", "L" * 40, 1500) == ("Flood", "Go up.")
    headline, instruction = within_characters("H" * 1000, "I" * 1000, "L" * 40, 1500)
    assert len(headline) + len(instruction) + 40 + 2 <= 1500
    assert len(headline) >= 700 and len(instruction) >= 700
