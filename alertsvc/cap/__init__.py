"""CAP 1.2, the interchange format: the alert model, its XML and JSON forms, and validation.

Every alert enters through :func:`parse_cap_xml` or :func:`parse_cap_json` and leaves through
:func:`alert_to_xml` or :func:`alert_to_json`. Anything wrong with a document raises one :class:`CapError` whose
``errors`` list every problem with the path of the CAP element at fault.
"""

from typing import TYPE_CHECKING

from alertsvc.cap.enums import Category, Certainty, MsgType, ResponseType, Scope, Severity, Status, Urgency
from alertsvc.cap.errors import CapError, FieldError
from alertsvc.cap.jsonform import alert_to_json, parse_cap_area, parse_cap_json
from alertsvc.cap.model import Alert, Area, CapKey, Info, Resource, ValuePair
from alertsvc.cap.times import format_cap_time, parse_cap_time

if TYPE_CHECKING:
    from alertsvc.cap.xml import alert_to_xml, parse_cap_xml

__all__ = [
    "Alert",
    "Area",
    "CapError",
    "CapKey",
    "Category",
    "Certainty",
    "FieldError",
    "Info",
    "MsgType",
    "Resource",
    "ResponseType",
    "Scope",
    "Severity",
    "Status",
    "Urgency",
    "ValuePair",
    "alert_to_json",
    "alert_to_xml",
    "format_cap_time",
    "parse_cap_area",
    "parse_cap_json",
    "parse_cap_time",
    "parse_cap_xml",
]


def __getattr__(name: str) -> object:
    """The XML form, imported on first use: it brings ElementTree, expat and defusedxml, which the API needs
    (CAP XML in and out) but the workers, which only ever see alerts in their JSON form, do not."""
    if name in ("alert_to_xml", "parse_cap_xml"):
        from alertsvc.cap import xml

        return getattr(xml, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
