"""CAP XML in and out: bytes to a validated :class:`~alertsvc.cap.model.Alert`, and an alert to CAP 1.2 XML.

Reading
    The bytes go through :mod:`alertsvc.cap.safexml` (no DTD, no entities, nothing fetched or read), then the
    elements are gathered into the JSON form's mapping and validated like a JSON alert, so both forms obey the
    same rules and report problems with the same paths. Element *order* is not enforced on input (real feeds
    are not always in schema order); unknown CAP elements and repeated singletons are reported.

Versions
    CAP 1.2 is read as is. CAP 1.1 uses the same elements and is converted by reading it under 1.2's rules,
    after :mod:`alertsvc.cap.cap11` has applied its element-by-element decisions (see there): it becomes an
    ordinary 1.2 alert, or its problems are reported like any other.
    CAP 1.0 and any other root element or namespace are refused with an "unsupported CAP version" error.

Extension elements
    Elements in a foreign namespace directly inside ``alert`` (``cap12.xsd`` allows XML-signature elements
    after the infos; CAP 1.1 allowed any namespace there) are accepted and **dropped**. We are lenient about
    their namespace and position because nothing of them is kept: a signature covers the original bytes and
    cannot survive re-serialization, so keeping it would only carry a signature that no longer verifies.
    Verify signatures on the original bytes, before parsing, if you need them. Foreign elements inside
    ``info``, ``area`` and the rest, and unqualified elements anywhere, are reported as problems.

Writing
    UTF-8, elements in ``cap12.xsd`` order, valid against that schema.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from typing import Any

from alertsvc.cap.cap11 import upgrade_cap11
from alertsvc.cap.errors import BODY, CapError, FieldError, Loc
from alertsvc.cap.jsonform import alert_to_json
from alertsvc.cap.layout import CAP10_NAMESPACES, CAP11_NS, CAP12_NS, LAYOUT, Element
from alertsvc.cap.model import Alert
from alertsvc.cap.safexml import parse_xml
from alertsvc.cap.validate import validate_alert
from alertsvc.cap.values import decimal_text

SUPPORTED = frozenset({CAP12_NS, CAP11_NS})


def _split(tag: str) -> tuple[str | None, str]:
    """``{namespace}local`` -> (namespace, local); no namespace -> (None, tag)."""
    if tag.startswith("{"):
        namespace, _, local = tag[1:].partition("}")
        return namespace, local
    return None, tag


def _check_root(root: ET.Element) -> str:
    """The root's namespace when it is a supported CAP alert, else an "unsupported" :class:`CapError`."""
    namespace, local = _split(root.tag)
    if local == "alert" and namespace in SUPPORTED:
        return namespace
    if local == "alert" and namespace in CAP10_NAMESPACES:
        raise CapError.at(BODY, "unsupported CAP version 1.0: send CAP 1.2 (CAP 1.1 is converted)")
    if local == "alert":
        where = f"namespace '{namespace[:100]}'" if namespace else "no namespace"
        raise CapError.at(BODY, f"unsupported CAP version: 'alert' in {where}; CAP 1.2 uses '{CAP12_NS}'")
    raise CapError.at(
        BODY, f"unsupported CAP version: the root element is '{local[:100]}', not a CAP 'alert' in '{CAP12_NS}'"
    )


def _read_text(node: ET.Element, element: Element, loc: Loc, errors: list[FieldError]) -> str:
    if len(node):  # reported; the nested elements are not read (they may be arbitrarily deep)
        errors.append(FieldError(loc, f"'{element.name}' must contain text only, not elements"))
        return node.text or ""
    text = node.text or ""
    return text.strip() if element.typed else text


def _read_group(node: ET.Element, group: str, namespace: str, loc: Loc, errors: list[FieldError]) -> dict[str, Any]:
    """The children of ``node`` as a mapping of CAP names; problems of structure are added to ``errors``."""
    layout = {element.name: element for element in LAYOUT[group]}
    out: dict[str, Any] = {}
    seen: dict[str, int] = {}
    for child in node:
        child_ns, name = _split(child.tag)
        if child_ns != namespace:
            if group == "alert" and child_ns is not None and child_ns not in SUPPORTED:
                continue  # an extension such as an XML signature: allowed here, dropped (see module docstring)
            errors.append(FieldError([*loc, name[:100]], f"element '{child.tag[:200]}' is not allowed here"))
            continue
        element = layout.get(name)
        if element is None:
            errors.append(FieldError([*loc, name[:100]], f"'{name[:100]}' is not a CAP element of '{group}'"))
            continue
        index = seen.get(name, 0)
        seen[name] = index + 1
        child_loc: Loc = [*loc, name, index] if element.repeats else [*loc, name]
        if index and not element.repeats:
            errors.append(FieldError(child_loc, f"'{name}' may appear only once"))
            continue
        value: Any
        if element.group is not None:
            value = _read_group(child, element.group, namespace, child_loc, errors)
        else:
            value = _read_text(child, element, child_loc, errors)
        if element.repeats:
            out.setdefault(name, []).append(value)
        else:
            out[name] = value
    return out


def parse_cap_xml(data: bytes) -> Alert:
    """A validated alert from CAP 1.2 (or convertible 1.1) XML bytes; anything else raises :class:`CapError`."""
    root = parse_xml(data)
    namespace = _check_root(root)
    errors: list[FieldError] = []
    document = _read_group(root, "alert", namespace, [], errors)
    if namespace == CAP11_NS:
        document, problems = upgrade_cap11(document)
        errors += problems
    return validate_alert(document, errors)


def _text(value: Any) -> str:
    if isinstance(value, float):
        return decimal_text(value)
    return str(value)


def _write_group(parent: ET.Element, group: str, data: dict[str, Any]) -> None:
    for element in LAYOUT[group]:
        value = data.get(element.name)
        if value is None:
            continue
        for item in value if element.repeats else [value]:
            child = ET.SubElement(parent, f"{{{CAP12_NS}}}{element.name}")
            if element.group is not None:
                _write_group(child, element.group, item)
            else:
                child.text = _text(item)


def alert_to_xml(alert: Alert) -> bytes:
    """CAP 1.2 XML (UTF-8, schema order, indented) for ``alert``."""
    root = ET.Element(f"{{{CAP12_NS}}}alert")
    _write_group(root, "alert", alert_to_json(alert))
    ET.indent(root, space="  ")
    text: bytes = ET.tostring(root, encoding="utf-8", xml_declaration=True, default_namespace=CAP12_NS)
    # A carriage return in text would be read back as a line feed (XML end-of-line handling); as a character
    # reference it survives. Text is the only place one can occur here, so the replacement is safe.
    return text.replace(b"\r", b"&#13;")
