"""CAP's JSON form: the same elements with the same names as the XML, as a JSON object.

Repeated elements are arrays in document order; times are strings in CAP form (``2024-05-01T14:00:00-05:00``);
``size``, ``altitude`` and ``ceiling`` are numbers. Absent optional elements are left out. This is the form the
API accepts as ``application/json`` and the form alerts are stored in.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from alertsvc.cap.errors import BODY, CapError
from alertsvc.cap.model import Alert, Area
from alertsvc.cap.validate import validate_alert, validate_area


def _load(data: bytes | str | Mapping[str, Any]) -> Mapping[str, Any]:
    if isinstance(data, Mapping):
        return data
    try:
        loaded = json.loads(data)
    except (ValueError, RecursionError) as exc:  # JSONDecodeError and UnicodeDecodeError are ValueErrors
        raise CapError.at(BODY, f"not valid JSON: {str(exc)[:200]}") from None
    if not isinstance(loaded, dict):
        raise CapError.at(BODY, "the JSON document must be an object of CAP elements")
    return loaded


def parse_cap_json(data: bytes | str | Mapping[str, Any]) -> Alert:
    """An alert from its JSON form (bytes, text or an already decoded object); raises :class:`CapError`."""
    return validate_alert(_load(data))


def parse_cap_area(data: bytes | str | Mapping[str, Any]) -> Area:
    """One CAP ``area`` from its JSON form; error paths are relative to the area (``["polygon", 0]``)."""
    return validate_area(_load(data))


def alert_to_json(alert: Alert) -> dict[str, Any]:
    """The JSON form of an alert, ready for ``json.dumps``."""
    return alert.model_dump(mode="json", by_alias=True, exclude_none=True)
