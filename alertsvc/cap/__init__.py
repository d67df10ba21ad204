"""CAP 1.2, the interchange format: the alert model, its XML and JSON forms, and validation.

Every alert enters through :func:`parse_cap_xml` or :func:`parse_cap_json` and leaves through
:func:`alert_to_xml` or :func:`alert_to_json`. Anything wrong with a document raises one :class:`CapError` whose
``errors`` list every problem with the path of the CAP element at fault.
"""

from alertsvc.cap.enums import Category, Certainty, MsgType, ResponseType, Scope, Severity, Status, Urgency
from alertsvc.cap.errors import CapError, FieldError
from alertsvc.cap.jsonform import alert_to_json, parse_cap_area, parse_cap_json
from alertsvc.cap.model import Alert, Area, CapKey, Info, Resource, ValuePair
from alertsvc.cap.times import format_cap_time, parse_cap_time
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
