"""From a mapping of CAP elements to a validated model, or one :class:`CapError` listing every problem.

Both the XML and the JSON parser end here, so an alert is held to the same rules whichever form it came in.
Field problems (pydantic) and cross-element problems (:mod:`alertsvc.cap.rules`) are gathered together rather
than one after the other, so a sender sees everything wrong with a document in one answer.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, NoReturn

from pydantic import ValidationError

from alertsvc.cap.errors import CapError, FieldError, deduplicated, from_validation_error
from alertsvc.cap.layout import LAYOUT
from alertsvc.cap.model import DEFER_RULES, Alert, Area
from alertsvc.cap.rules import alert_rule_errors, area_rule_errors


def _document_order(group: str) -> Callable[[FieldError], tuple[int, ...]]:
    """Sort key: problems in the order their elements appear in a schema-ordered document, so a long list
    reads top to bottom like the alert itself (whichever check found each problem)."""

    def key(error: FieldError) -> tuple[int, ...]:
        position: list[int] = []
        current: str | None = group
        for part in error.loc:
            if isinstance(part, int):
                position.append(part)
                continue
            names = [element.name for element in LAYOUT.get(current or "", ())]
            if part in names:
                element = LAYOUT[current or ""][names.index(part)]
                position.append(names.index(part) + 1)
                current = element.group
            else:  # "body", or an element CAP does not know: before / after the known ones
                position.append(0 if part == "body" else len(names) + 1)
                current = None
        return tuple(position)

    return key


def _raise(errors: list[FieldError], group: str) -> NoReturn:
    raise CapError(sorted(deduplicated(errors), key=_document_order(group)))


def validate_alert(data: Any, found: Sequence[FieldError] = ()) -> Alert:
    """Validate an alert document in mapping form. ``found`` are problems an earlier stage already noticed
    (e.g. unknown XML elements); they are reported together with these, and make the document invalid."""
    errors = list(found)
    alert: Alert | None = None
    try:
        alert = Alert.model_validate(data, context=DEFER_RULES)
    except ValidationError as exc:
        errors += from_validation_error(exc)
    if isinstance(data, Mapping):
        errors += alert_rule_errors(data)
    if errors or alert is None:
        _raise(errors, "alert")
    return alert


def validate_area(data: Any) -> Area:
    """Validate one ``area`` on its own (e.g. a targeting preview); paths are relative to the area."""
    errors: list[FieldError] = []
    area: Area | None = None
    try:
        area = Area.model_validate(data)
    except ValidationError as exc:
        errors += from_validation_error(exc)
    if isinstance(data, Mapping):
        errors += area_rule_errors(data)
    if errors or area is None:
        _raise(errors, "area")
    return area
