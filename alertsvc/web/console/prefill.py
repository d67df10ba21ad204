"""Ready-made starting points for the compose form: recurring notices, and an Update of an existing alert.

Recurring notices (boil-water, shelter-in-place, road closure) live as JSON in ``templates/console/notices/`` so
a service can add its own without code. Their texts hold blanks such as ``[[street]]`` that the dispatcher must
fill: :func:`alertsvc.web.console.compose.blank_errors` refuses an alert with one left.

An Update starts from the alert it corrects, with ``references`` set, so a correction is one click and a few
keystrokes, not a fresh alert typed under pressure (a real correction once took 38 minutes).

A draft from an anonymous tip starts with the tip's neighbourhood as the area and its name as the area's
description; the texts stay empty (a tip may name its tipster, an alert is public) and the status unchosen, so the
dispatcher writes and decides everything that goes out. Nothing is stored until they submit the form.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from alertsvc.alerts.queries import Alert
from alertsvc.geo.zones import is_zone_geocode
from alertsvc.resources import templates_dir
from alertsvc.web.console.areas import AreaInput
from alertsvc.web.console.compose import INFO_BLOCKS, ComposeForm, InfoBlock


@dataclass(frozen=True, slots=True)
class Notice:
    key: str
    titles: dict[str, str]
    fields: dict[str, Any]

    def title(self, lang: str) -> str:
        return self.titles.get(lang) or self.titles.get("en") or self.key


@lru_cache(maxsize=1)
def notices() -> tuple[Notice, ...]:
    """The notice templates, sorted by key."""
    folder = templates_dir() / "console" / "notices"
    found = []
    for path in sorted(folder.glob("*.json")):
        data = json.loads(path.read_text(encoding="utf-8"))
        found.append(Notice(key=path.stem, titles=dict(data["title"]), fields=dict(data["form"])))
    return tuple(found)


def find_notice(key: str) -> Notice | None:
    return next((notice for notice in notices() if notice.key == key), None)


def form_from_notice(notice: Notice) -> ComposeForm:
    """A form filled from a notice; status stays unchosen, so the dispatcher decides Test, Exercise or Actual."""
    values = notice.fields
    form = ComposeForm()
    for name in ("category", "urgency", "severity", "certainty", "expires_minutes"):
        if name in values:
            setattr(form, name, str(values[name]))
    for index, info in enumerate(values.get("infos", [])[:INFO_BLOCKS]):
        form.infos[index] = InfoBlock(
            language=str(info.get("language", form.infos[index].language)),
            event=str(info.get("event", "")),
            headline=str(info.get("headline", "")),
            description=str(info.get("description", "")),
            instruction=str(info.get("instruction", "")),
        )
    return form


def form_from_tip(zone: str | None) -> ComposeForm:
    """A blank form whose area is the tip's neighbourhood (``zone``, its canonical name; None: no area yet)."""
    form = ComposeForm()
    if zone:
        form.area = AreaInput(zones=[zone])
        form.area_desc = zone
    return form


def form_for_update(alert: Alert) -> ComposeForm:
    """A form that updates ``alert``: same status, texts and area, ``msgType`` Update and ``references`` set."""
    cap: dict[str, Any] = alert.cap
    infos: list[dict[str, Any]] = list(cap.get("info") or [])
    first = infos[0] if infos else {}
    form = ComposeForm(
        status=alert.status,
        msg_type="Update",
        references=f"{alert.sender},{alert.identifier},{alert.sent_text}",
        category=str((first.get("category") or ["Safety"])[0]),
        urgency=str(first.get("urgency", "Immediate")),
        severity=str(first.get("severity", "Severe")),
        certainty=str(first.get("certainty", "Observed")),
    )
    for index, info in enumerate(infos[:INFO_BLOCKS]):
        form.infos[index] = InfoBlock(
            language=str(info.get("language", "en-CA")),
            event=str(info.get("event", "")),
            headline=str(info.get("headline", "")),
            description=str(info.get("description", "")),
            instruction=str(info.get("instruction", "")),
        )
    areas: list[dict[str, Any]] = list(first.get("area") or [])
    polygons = [text for area in areas for text in area.get("polygon", [])]
    circles = [text for area in areas for text in area.get("circle", [])]
    zones = [
        str(code.get("value", ""))
        for area in areas
        for code in area.get("geocode", [])
        if is_zone_geocode(str(code.get("valueName", "")))
    ]
    form.area_desc = "; ".join(str(area.get("areaDesc", "")) for area in areas)
    form.area = AreaInput("\n".join(polygons), "\n".join(circles), zones)
    return form
