"""Checking a composed alert the way the API would, and adding what only the console asks for.

:func:`evaluate` runs the compose form through the API's own checks (CAP JSON parsing,
:func:`~alertsvc.alerts.sending_rules.check_targets`), then adds the console's safeguards: notice blanks must be
filled, and an Actual alert must carry the number of residents it reaches, typed by the dispatcher and checked here
against the reach *now* (the wrong polygon, or none, shows up as a number nobody expected).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

from alertsvc.alerts.reach import Reach
from alertsvc.alerts.sending_rules import check_targets
from alertsvc.cap import Alert as CapAlert
from alertsvc.cap import CapError, parse_cap_json
from alertsvc.clock import utcnow
from alertsvc.geo.zones import ZoneRegistry
from alertsvc.runtime import Runtime
from alertsvc.settings import Settings
from alertsvc.web.console.areas import ParsedAreas, areas_geojson, parse_areas
from alertsvc.web.console.compose import ComposeForm, blank_errors, build_document, errors_by_field
from alertsvc.web.console.preview import SmsPreview, reach_for, sms_previews

CONFIRMED_STATUSES = frozenset({"Actual"})
CONFIRMED_MSG_TYPES = frozenset({"Alert", "Update"})


@dataclass(slots=True)
class Evaluation:
    form: ComposeForm
    parsed: ParsedAreas
    document: dict[str, Any]
    cap: CapAlert | None = None
    errors: dict[str, str] = field(default_factory=dict)
    reach: Reach | None = None
    sms: list[SmsPreview] = field(default_factory=list)
    area_geojson: dict[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.cap is not None and not self.errors

    @property
    def needs_confirmation(self) -> bool:
        return self.form.status in CONFIRMED_STATUSES and self.form.msg_type in CONFIRMED_MSG_TYPES


def confirmation_error(form: ComposeForm, reach: Reach | None) -> str | None:
    """Why the typed resident count does not confirm the send (None when it does)."""
    expected = reach.residents if reach else 0
    typed = form.confirm_residents.replace(" ", "").replace(",", "").replace("\u202f", "")
    if not typed:
        return f"type the number of residents this alert reaches ({expected}) to confirm an Actual alert"
    if typed != str(expected):
        return f"this alert reaches {expected} residents now, not {form.confirm_residents}; check the area"
    return None


def _checked(form: ComposeForm, zones: ZoneRegistry, sender: str, settings: Settings) -> Evaluation:
    """The alert built from the form and checked as the API checks it: CPU work on the areas (polygons parsed,
    checked, drawn) and every SMS rendered, so :func:`evaluate` runs it in a worker thread."""
    parsed = parse_areas(form.area, zones)
    built = build_document(form, parsed, sender, settings.service_name, utcnow())
    result = Evaluation(form=form, parsed=parsed, document=built.document, errors=dict(parsed.errors))
    try:
        cap = parse_cap_json(built.document)
        check_targets(cap, zones)
        result.cap = cap
    except CapError as exc:
        for name, message in errors_by_field(exc.errors, built.block_of_info).items():
            result.errors.setdefault(name, message)
    for name, message in blank_errors(form).items():
        result.errors.setdefault(name, message)
    result.area_geojson = areas_geojson(parsed, zones)
    result.sms = sms_previews(built.document, settings)
    return result


async def evaluate(runtime: Runtime, form: ComposeForm, sender: str, confirm: bool) -> Evaluation:
    """Build and validate the alert; ``confirm`` also checks the typed resident count of an Actual alert. The
    areas' geometry is worked on off the event loop, so a large polygon never stalls other requests."""
    result = await asyncio.to_thread(_checked, form, runtime.zones, sender, runtime.settings)
    parsed = result.parsed
    result.reach = await reach_for(runtime, parsed)
    if confirm and result.needs_confirmation:
        problem = confirmation_error(form, result.reach)
        if problem:
            result.errors["confirm_residents"] = problem
    return result
