"""The compose form: its fields, how it becomes a CAP alert (JSON form), and how CAP's errors find their fields.

The console does not validate alerts itself: it builds the CAP JSON document and hands it to the same
:func:`alertsvc.cap.parse_cap_json` as the API, so the console can never accept what the API would refuse.
:func:`field_for` then maps each :class:`~alertsvc.cap.FieldError` path (``info[1].headline``) to the form field
that produced it (``info1_headline``), so errors appear next to what the dispatcher typed.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Final

from alertsvc.cap import FieldError
from alertsvc.cap.errors import Loc
from alertsvc.i18n import N_
from alertsvc.web.console.areas import AreaInput, ParsedAreas

INFO_BLOCKS = 2
"""Language blocks on the form; the first is required, the others are used when any of their text is filled."""
BLANK = re.compile(r"\[\[([^\[\]]{1,60})\]\]")
"""The blanks of a notice template (``[[street]]``): an alert with one left unfilled is refused."""
STATUSES = ("Actual", "Exercise", "Test")
CATEGORIES = (
    "Geo",
    "Met",
    "Safety",
    "Security",
    "Rescue",
    "Fire",
    "Health",
    "Env",
    "Transport",
    "Infra",
    "CBRNE",
    "Other",
)
URGENCIES = ("Immediate", "Expected", "Future", "Past", "Unknown")
SEVERITIES = ("Extreme", "Severe", "Moderate", "Minor", "Unknown")
CERTAINTIES = ("Observed", "Likely", "Possible", "Unlikely", "Unknown")
TEXT_FIELDS = ("event", "headline", "description", "instruction")
DEFAULT_LANGUAGES = ("en-CA", "fr-CA")
FIELD_LABELS = {
    "status": "Status",
    "msg_type": "Message type",
    "references": "References",
    "category": "Category",
    "urgency": "Urgency",
    "severity": "Severity",
    "certainty": "Certainty",
    "expires_minutes": "Expires in (minutes)",
    "language": "Language",
    "event": "Event",
    "headline": "Headline",
    "description": "Description",
    "instruction": "Instruction",
    "area": "Target area",
    "area_desc": "Area description",
    "polygon": "Polygons",
    "circle": "Circles",
    "zones": "Named zones",
    "confirm_residents": "Residents this alert reaches (type to confirm)",
    "form": "Alert",
}
"""English labels of the form fields (translated in the template), also used to name fields in error lists."""
_BLOCK_FIELD = re.compile(r"^info(\d+)_(\w+)$")
SEND_LABELS: Final[dict[tuple[str, bool], str]] = {
    ("Actual", True): N_("Send ACTUAL alert to the public now"),
    ("Actual", False): N_("Submit ACTUAL alert for approval"),
    ("Exercise", True): N_("Send EXERCISE now"),
    ("Exercise", False): N_("Submit EXERCISE for approval"),
    ("Test", True): N_("Send TEST now"),
    ("Test", False): N_("Submit TEST for approval"),
}
"""The send button's words by (status, whether it goes out at once): it says what pressing it does (a Test that
needs no approval once read "Submit TEST for approval" and went out at once)."""


def policy_document(form: ComposeForm, status: str, sender: str, now: datetime) -> dict[str, Any]:
    """The least CAP alert the approval policy reads for this form under ``status``: its status, message type
    and category (the policy reads nothing else of the document), valid whatever else the form lacks yet. An
    Update is asked about as an Alert: the policy treats them alike, and CAP wants an Update's references (the
    compose form makes no Cancel: that has its own page)."""
    info: dict[str, Any] = {"event": "policy", "urgency": "Unknown", "severity": "Unknown", "certainty": "Unknown"}
    if form.category in CATEGORIES:
        info["category"] = [form.category]
    return {
        "identifier": "console-policy",
        "sender": sender,
        "sent": now.replace(microsecond=0).isoformat(),
        "status": status,
        "msgType": "Alert",  # an Update or a Cancel would need references; the form composes Alerts and Updates
        "scope": "Public",
        "info": [info],
    }


def field_label(name: str, translate: Callable[..., str]) -> str:
    """A field's label for the error summary: ``info1_headline`` reads "Headline (message 2)"."""
    found = _BLOCK_FIELD.match(name)
    if found and found.group(2) in FIELD_LABELS:
        label = translate(FIELD_LABELS[found.group(2)])
        return translate("{field} (message {n})", field=label, n=int(found.group(1)) + 1)
    return translate(FIELD_LABELS.get(name, name))


@dataclass(slots=True)
class InfoBlock:
    """One ``info`` in one language."""

    language: str = "en-CA"
    event: str = ""
    headline: str = ""
    description: str = ""
    instruction: str = ""

    def is_empty(self) -> bool:
        return not any(getattr(self, name).strip() for name in TEXT_FIELDS)


def _blocks() -> list[InfoBlock]:
    return [InfoBlock(language=DEFAULT_LANGUAGES[i % len(DEFAULT_LANGUAGES)]) for i in range(INFO_BLOCKS)]


@dataclass(slots=True)
class ComposeForm:
    """Every field of the compose form, as typed (strings), so a refused form comes back exactly as it was."""

    status: str = ""
    msg_type: str = "Alert"
    references: str = ""
    category: str = "Safety"
    urgency: str = "Immediate"
    severity: str = "Severe"
    certainty: str = "Observed"
    expires_minutes: str = "120"
    area_desc: str = ""
    area: AreaInput = field(default_factory=AreaInput)
    confirm_residents: str = ""
    submission_key: str = field(default_factory=lambda: uuid.uuid4().hex)
    """Sent back with the form and used as the Idempotency-Key: a double click on Send stores one alert."""
    infos: list[InfoBlock] = field(default_factory=_blocks)

    @classmethod
    def from_form(cls, data: Mapping[str, Any], zones: Sequence[str]) -> ComposeForm:
        """Read a submitted form (``zones`` is the multi-valued checkbox list)."""

        def text(name: str, default: str = "") -> str:
            value = data.get(name)
            return value.strip() if isinstance(value, str) else default

        infos = [
            InfoBlock(
                language=text(f"info{i}_language", DEFAULT_LANGUAGES[i % len(DEFAULT_LANGUAGES)]),
                event=text(f"info{i}_event"),
                headline=text(f"info{i}_headline"),
                description=text(f"info{i}_description"),
                instruction=text(f"info{i}_instruction"),
            )
            for i in range(INFO_BLOCKS)
        ]
        return cls(
            status=text("status"),
            msg_type=text("msg_type", "Alert") or "Alert",
            references=text("references"),
            category=text("category"),
            urgency=text("urgency"),
            severity=text("severity"),
            certainty=text("certainty"),
            expires_minutes=text("expires_minutes"),
            area_desc=text("area_desc"),
            area=AreaInput(text("polygon"), text("circle"), [z for z in zones if z.strip()]),
            confirm_residents=text("confirm_residents"),
            submission_key=text("submission_key")[:64] or uuid.uuid4().hex,
            infos=infos,
        )

    def used_blocks(self) -> list[int]:
        """Indices of the blocks that become ``info`` elements: the first always, others when filled."""
        return [i for i, block in enumerate(self.infos) if i == 0 or not block.is_empty()]


@dataclass(slots=True)
class Built:
    """A CAP document built from the form, and where each of its ``info`` came from."""

    document: dict[str, Any]
    block_of_info: list[int]


def _expires(form: ComposeForm, now: datetime) -> str | None:
    try:
        minutes = int(form.expires_minutes)
    except ValueError:
        return None
    if minutes <= 0:
        return None
    return (now + timedelta(minutes=minutes)).replace(microsecond=0).isoformat()


def cap_area(form: ComposeForm, parsed: ParsedAreas) -> dict[str, Any]:
    area: dict[str, Any] = {"areaDesc": form.area_desc}
    if parsed.polygons:
        area["polygon"] = parsed.cap_polygons()
    if parsed.circles:
        area["circle"] = parsed.cap_circles()
    if parsed.zones:
        area["geocode"] = [{"valueName": "zone", "value": name} for name in parsed.zones]
    return area


def info_document(form: ComposeForm, block: InfoBlock, expires: str | None, sender_name: str) -> dict[str, Any]:
    """One ``info`` in CAP JSON form; blank optional texts are left out, blank required ones are left for CAP
    validation to report (so the message is the API's own)."""
    info: dict[str, Any] = {"language": block.language or "en-CA", "senderName": sender_name}
    if form.category:
        info["category"] = [form.category]
    for key, value in (
        ("event", block.event),
        ("urgency", form.urgency),
        ("severity", form.severity),
        ("certainty", form.certainty),
        ("expires", expires),
        ("headline", block.headline),
        ("description", block.description),
        ("instruction", block.instruction),
    ):
        if value:
            info[key] = value
    return info


def build_document(form: ComposeForm, parsed: ParsedAreas, sender: str, sender_name: str, now: datetime) -> Built:
    """The CAP alert the form describes (not yet validated)."""
    expires = _expires(form, now)
    area = cap_area(form, parsed)
    blocks = form.used_blocks()
    infos = []
    for index in blocks:
        info = info_document(form, form.infos[index], expires, sender_name)
        if form.msg_type != "Cancel":
            info["area"] = [area]
        infos.append(info)
    document: dict[str, Any] = {
        "identifier": f"console-{uuid.uuid4().hex}",
        "sender": sender,
        "sent": now.replace(microsecond=0).isoformat(),
        "msgType": form.msg_type,
        "scope": "Public",
        "info": infos,
    }
    if form.status:
        document["status"] = form.status
    if form.references:
        document["references"] = form.references
    return Built(document, blocks)


def blank_errors(form: ComposeForm) -> dict[str, str]:
    """Notice-template blanks (``[[street]]``) still in the text, by field."""
    errors = {}
    for index in form.used_blocks():
        for name in TEXT_FIELDS:
            found = BLANK.search(getattr(form.infos[index], name))
            if found:
                errors[f"info{index}_{name}"] = f"fill in the blank [[{found.group(1)}]]"
    return errors


_SHARED = {
    "category": "category",
    "urgency": "urgency",
    "severity": "severity",
    "certainty": "certainty",
    "expires": "expires_minutes",
}
_AREA_PARTS = {"polygon": "polygon", "circle": "circle", "geocode": "zones", "areaDesc": "area_desc"}
_TOP = {"status": "status", "msgType": "msg_type", "references": "references"}


def field_for(loc: Loc, block_of_info: Sequence[int]) -> str:
    """The form field a CAP error path belongs to; ``"form"`` for problems of the whole alert."""
    if not loc:
        return "form"
    head = loc[0]
    if head == "info" and len(loc) == 1:
        return "area"  # "no area has a polygon, circle or known zone"
    if head == "info" and len(loc) >= 3 and isinstance(loc[1], int):
        block = block_of_info[loc[1]] if loc[1] < len(block_of_info) else 0
        name = loc[2]
        if name == "area":
            part = loc[4] if len(loc) > 4 else None
            return _AREA_PARTS.get(str(part), "area")
        if name in TEXT_FIELDS or name == "language":
            return f"info{block}_{name}"
        return _SHARED.get(str(name), "form")
    if head == "info" and len(loc) == 2:
        return "form"
    return _TOP.get(str(head), "form")


def errors_by_field(errors: Sequence[FieldError], block_of_info: Sequence[int]) -> dict[str, str]:
    """The first problem of each field (one message a field keeps the page readable)."""
    found: dict[str, str] = {}
    for error in errors:
        found.setdefault(field_for(error.loc, block_of_info), error.msg)
    return found
