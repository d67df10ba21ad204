"""Stage "target": what an alert's areas are, and who in principle it is meant for.

Turns the CAP areas of every ``info`` (polygons, circles and zone geocodes) into one :class:`TargetArea` (their
union), and states the CAP ``status``/``msgType`` rules of DESIGN.md as small pure functions.
"""

from __future__ import annotations

from dataclasses import dataclass

from alertsvc.cap import Alert as CapAlert
from alertsvc.geo.areas import Area, AreaError
from alertsvc.geo.targeting import TargetArea
from alertsvc.geo.zones import ZoneRegistry, is_zone_geocode, resolve_geocodes

TEST_ONLY_STATUSES = frozenset({"Exercise", "Test"})


@dataclass(frozen=True, slots=True)
class AreaProblem:
    loc: tuple[str | int, ...]
    msg: str


def alert_areas(cap: CapAlert, zones: ZoneRegistry) -> list[Area]:
    """Every polygon, circle and zone of every info, converted once into internal areas."""
    areas: list[Area] = []
    for info in cap.info:
        for area in info.area:
            areas.extend(area.shapes())
            geocodes = [(code.value_name, code.value) for code in area.geocode]
            areas.extend(resolve_geocodes(zones, geocodes))
    return areas


def zone_problems(cap: CapAlert, zones: ZoneRegistry) -> list[AreaProblem]:
    """Zone geocodes naming a zone we do not know: refused, because a misspelt zone would reach nobody."""
    problems = []
    for i, info in enumerate(cap.info):
        for j, area in enumerate(info.area):
            for k, code in enumerate(area.geocode):
                if is_zone_geocode(code.value_name) and zones.find(code.value) is None:
                    problems.append(AreaProblem(("info", i, "area", j, "geocode", k), f"unknown zone '{code.value}'"))
    return problems


def target_area(cap: CapAlert, zones: ZoneRegistry) -> TargetArea:
    return TargetArea(alert_areas(cap, zones))


def has_geometry(cap: CapAlert, zones: ZoneRegistry) -> bool:
    """Whether any area can be located. An alert without one must never fall back to "everyone"."""
    try:
        return bool(alert_areas(cap, zones))
    except AreaError:
        return False


def test_recipients_only(cap: CapAlert) -> bool:
    """Exercise and Test alerts go only to contacts marked as test recipients."""
    return str(cap.status) in TEST_ONLY_STATUSES


def uses_area(cap: CapAlert) -> bool:
    """Cancel goes only to the original recipients; Alert and Update reach their own areas too."""
    return str(cap.msg_type) in {"Alert", "Update"}


def uses_references(cap: CapAlert) -> bool:
    """Update and Cancel go to everyone who received a referenced alert."""
    return str(cap.msg_type) in {"Update", "Cancel"}
