"""CAP rules that join several elements: each problem reported at the element a sender must change.

They read the document in its mapping form (CAP names, or Python names) and tolerate anything malformed there,
because they also run on documents that failed field validation: the point is to report *every* problem at
once, and a missing ``scope`` must not hide an Update without ``references``. Field-level problems (a bad time,
an unknown enumeration value) are left to the model, which reports them itself.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import datetime
from typing import Any

from pydantic.alias_generators import to_snake

from alertsvc.cap.enums import NEEDS_REFERENCES, Scope
from alertsvc.cap.errors import FieldError
from alertsvc.cap.times import CapTimeError, earlier, format_cap_time, normalize_cap_time, parse_cap_time


def _get(data: Mapping[str, Any], name: str) -> Any:
    """An element by its CAP name, or by its Python name (the model accepts both)."""
    if name in data:
        return data[name]
    return data.get(to_snake(name))


def _text(value: Any) -> str | None:
    return str(value) if isinstance(value, str) else None


def _time(value: Any) -> datetime | None:
    try:
        if isinstance(value, str):
            return parse_cap_time(value)
        if isinstance(value, datetime):
            return normalize_cap_time(value)
    except CapTimeError:
        return None  # the model reports it
    return None


def _items(value: Any) -> Iterator[tuple[int, Mapping[str, Any]]]:
    if isinstance(value, list):
        for index, item in enumerate(value):
            if isinstance(item, Mapping):
                yield index, item


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _references_rules(data: Mapping[str, Any]) -> Iterator[FieldError]:
    msg_type = _text(_get(data, "msgType"))
    if msg_type in {str(t) for t in NEEDS_REFERENCES} and _blank(_get(data, "references")):  # empty = absent
        yield FieldError(
            ["references"], f"required when msgType is {msg_type}: name the earlier alert(s) as sender,identifier,sent"
        )


def _scope_rules(data: Mapping[str, Any]) -> Iterator[FieldError]:
    scope = _text(_get(data, "scope"))
    if scope == Scope.Restricted and _blank(_get(data, "restriction")):
        yield FieldError(["restriction"], "required when scope is Restricted: say who may receive the alert")
    if scope == Scope.Private and _blank(_get(data, "addresses")):
        yield FieldError(["addresses"], "required when scope is Private: list the intended recipients")


def _info_rules(data: Mapping[str, Any]) -> Iterator[FieldError]:
    sent = _time(_get(data, "sent"))
    for i, info in _items(_get(data, "info")):
        expires = _time(_get(info, "expires"))
        if sent is not None and expires is not None and earlier(expires, sent):
            yield FieldError(
                ["info", i, "expires"],
                f"expires ({format_cap_time(expires)}) is before the alert was sent ({format_cap_time(sent)})",
            )
        for j, area in _items(_get(info, "area")):
            for error in area_rule_errors(area):
                yield FieldError(["info", i, "area", j, *error.loc], error.msg)


def area_rule_errors(area: Mapping[str, Any]) -> list[FieldError]:
    """Rules within one ``area``; ``loc`` is relative to it."""
    if _get(area, "ceiling") is not None and _get(area, "altitude") is None:
        return [FieldError(["ceiling"], "ceiling is only allowed together with altitude")]
    return []


def alert_rule_errors(data: Mapping[str, Any]) -> list[FieldError]:
    """Every cross-element problem of an alert document (empty when there is none)."""
    return [*_references_rules(data), *_scope_rules(data), *_info_rules(data)]
