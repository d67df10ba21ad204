"""The shape of a CAP 1.2 document as ``cap12.xsd`` declares it: which elements, in which order, which repeat.

One table serves both directions: the reader uses it to know what repeats and what nests, the writer to emit
elements in the schema's order (the XSD uses ``<sequence>``, so order is part of validity).
"""

from __future__ import annotations

from dataclasses import dataclass

CAP12_NS = "urn:oasis:names:tc:emergency:cap:1.2"
CAP11_NS = "urn:oasis:names:tc:emergency:cap:1.1"
CAP10_NAMESPACES = frozenset({"http://www.incident.com/cap/1.0", "urn:oasis:names:tc:emergency:cap:1.0"})


@dataclass(frozen=True, slots=True)
class Element:
    """One child element: its CAP name, whether it repeats, the group it contains (if it is not text), and
    whether its text is a typed value (enumeration, time, number, tag) whose surrounding whitespace is not
    part of the value. Free text (``description``, ``areaDesc``...) is kept exactly as written."""

    name: str
    repeats: bool = False
    group: str | None = None
    typed: bool = False


def _e(name: str, repeats: bool = False, group: str | None = None, typed: bool = False) -> Element:
    return Element(name, repeats, group, typed)


LAYOUT: dict[str, tuple[Element, ...]] = {
    "alert": (
        _e("identifier"),
        _e("sender"),
        _e("sent", typed=True),
        _e("status", typed=True),
        _e("msgType", typed=True),
        _e("source"),
        _e("scope", typed=True),
        _e("restriction"),
        _e("addresses"),
        _e("code", repeats=True),
        _e("note"),
        _e("references"),
        _e("incidents"),
        _e("info", repeats=True, group="info"),
    ),
    "info": (
        _e("language", typed=True),
        _e("category", repeats=True, typed=True),
        _e("event"),
        _e("responseType", repeats=True, typed=True),
        _e("urgency", typed=True),
        _e("severity", typed=True),
        _e("certainty", typed=True),
        _e("audience"),
        _e("eventCode", repeats=True, group="pair"),
        _e("effective", typed=True),
        _e("onset", typed=True),
        _e("expires", typed=True),
        _e("senderName"),
        _e("headline"),
        _e("description"),
        _e("instruction"),
        _e("web", typed=True),
        _e("contact"),
        _e("parameter", repeats=True, group="pair"),
        _e("resource", repeats=True, group="resource"),
        _e("area", repeats=True, group="area"),
    ),
    "resource": (
        _e("resourceDesc"),
        _e("mimeType", typed=True),
        _e("size", typed=True),
        _e("uri", typed=True),
        _e("derefUri"),
        _e("digest", typed=True),
    ),
    "area": (
        _e("areaDesc"),
        _e("polygon", repeats=True),
        _e("circle", repeats=True),
        _e("geocode", repeats=True, group="pair"),
        _e("altitude", typed=True),
        _e("ceiling", typed=True),
    ),
    "pair": (
        _e("valueName"),
        _e("value"),
    ),
}
"""Children of each group, in ``cap12.xsd`` order."""
