"""Who an alert is sent to: the CAP ``status``/``msgType`` rules of DESIGN.md, where its areas are, and the check
that refuses an alert that would reach nobody, in one module.

The rules, as small pure functions that both the lifecycle (:mod:`alertsvc.alerts.service`, whether a new alert
is ever sent) and the fan-out (:mod:`alertsvc.dispatch.fanout`, who receives it) read, so the two cannot disagree:

* ``status``: Actual reaches residents; Exercise and Test only contacts marked as test recipients; System and
  Draft are stored, never sent.
* ``msgType``: Alert reaches its own areas; Update its areas and everyone who received an alert it references;
  Cancel only those who received what it references; Ack and Error are stored, never sent.
* areas: every polygon, circle and zone geocode of every ``info``, as one union. An unknown zone name is refused,
  and a new Alert that would be sent must be locatable somewhere (never "everyone") unless it has expired already
  (then it is only a record).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from alertsvc.cap import Alert as CapAlert
from alertsvc.cap import CapError
from alertsvc.cap.errors import FieldError
from alertsvc.clock import utcnow
from alertsvc.geo.areas import Area, AreaError
from alertsvc.geo.targeting import TargetArea
from alertsvc.geo.zones import ZoneRegistry, is_zone_geocode, resolve_geocodes

__all__ = [
    "BROADCAST_MSG_TYPES",
    "BROADCAST_STATUSES",
    "TEST_ONLY_STATUSES",
    "AreaProblem",
    "alert_areas",
    "check_targets",
    "has_geometry",
    "is_broadcast",
    "latest_expiry",
    "target_area",
    "test_recipients_only",
    "uses_area",
    "uses_references",
    "zone_problems",
]

BROADCAST_STATUSES = frozenset({"Actual", "Exercise", "Test"})
"""CAP statuses that reach anyone: Actual to residents, Exercise and Test to test recipients only."""
BROADCAST_MSG_TYPES = frozenset({"Alert", "Update", "Cancel"})
"""CAP msgTypes that are sent; Ack and Error are stored, never broadcast."""
TEST_ONLY_STATUSES = frozenset({"Exercise", "Test"})


def is_broadcast(cap: CapAlert) -> bool:
    """Whether this alert is ever sent to anyone (DESIGN.md, rules of sending)."""
    return str(cap.status) in BROADCAST_STATUSES and str(cap.msg_type) in BROADCAST_MSG_TYPES


def test_recipients_only(cap: CapAlert) -> bool:
    """Exercise and Test alerts go only to contacts marked as test recipients."""
    return str(cap.status) in TEST_ONLY_STATUSES


def uses_area(cap: CapAlert) -> bool:
    """Cancel goes only to the original recipients; Alert and Update reach their own areas too."""
    return str(cap.msg_type) in {"Alert", "Update"}


def uses_references(cap: CapAlert) -> bool:
    """Update and Cancel go to everyone who received a referenced alert."""
    return str(cap.msg_type) in {"Update", "Cancel"}


def latest_expiry(cap: CapAlert) -> datetime | None:
    """When the last info block expires; None when any info has no expiry (it never ends on its own)."""
    expiries = [info.expires for info in cap.info]
    if not expiries or any(expiry is None for expiry in expiries):
        return None
    return max(expiry for expiry in expiries if expiry is not None)


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
    """Whether any area can be located. An alert without one must never fall back to "everyone".

    Reuses the parse that made ``cap``: every polygon and circle of a :class:`~alertsvc.cap.Alert` was parsed and
    checked by :mod:`alertsvc.geo.areas` when the model was validated, so one written there is one that can be
    located, and it is not parsed again here (creates parsed each polygon twice, the second time in a worker thread
    of its own: bench/README.md, "Answers and creates"). Only zone geocodes are looked up, in the loaded zones.
    """
    for info in cap.info:
        for area in info.area:
            if area.polygon or area.circle:
                return True
            try:
                if resolve_geocodes(zones, [(code.value_name, code.value) for code in area.geocode]):
                    return True
            except AreaError:  # an unknown zone locates nothing (check_targets names it)
                continue
    return False


def check_targets(cap: CapAlert, zones: ZoneRegistry) -> None:
    """Refuse (:class:`~alertsvc.cap.CapError`) unknown zone names, and a new alert that would be broadcast but can
    be located nowhere.

    An alert whose area has neither polygon, circle nor known zone must never fall back to "everyone" (a real
    county-wide false alert began that way); an expired or stored-only one is accepted as a record. Parses no
    polygon (:func:`has_geometry`): cheap enough for the event loop.
    """
    problems = [FieldError(list(p.loc), p.msg) for p in zone_problems(cap, zones)]
    if problems:
        raise CapError(problems)
    if is_broadcast(cap) and uses_area(cap) and str(cap.msg_type) == "Alert":
        expiry = latest_expiry(cap)
        if (expiry is None or expiry > utcnow()) and not has_geometry(cap, zones):
            raise CapError([FieldError(["info"], "no area has a polygon, circle or known zone: it would reach nobody")])
