"""CAP 1.1 to CAP 1.2: what changes between the versions, decided element by element, before validation.

A CAP 1.1 document is read into the same mapping as a 1.2 one (the element names are the same) and then
validated under CAP 1.2's rules. This module sits in between and applies the decisions below, so that a 1.1
alert either becomes an ordinary 1.2 alert that means what its sender said, or is refused with a reason that
names the CAP 1.2 requirement it does not meet. Each difference between the CAP 1.1 schema and specification
and CAP 1.2's (``cap12.xsd`` and its section 3), and what is done with it:

``resource.mimeType`` (optional in 1.1, required in 1.2)
    **Filled**: a missing or blank ``mimeType`` becomes ``application/octet-stream`` (RFC 2046 section 4.5.1,
    "arbitrary binary data"). It claims nothing about the content, so no receiver renders it as something it
    is not; guessing a type from the ``uri`` would claim what the sender never said.

``info.certainty`` ``Very Likely`` (deprecated in 1.1, removed in 1.2)
    **Rewritten to** ``Likely``: CAP 1.1 itself says the deprecated value is to be treated as ``Likely``, so
    the alert means the same. In a CAP 1.2 document ``Very Likely`` is refused, as 1.2 has no such value.

``info.responseType`` (1.2 adds ``Avoid`` and ``AllClear``)
    **Unchanged**: every 1.1 value is a 1.2 value.

``sent``, ``effective``, ``onset``, ``expires`` (``xs:dateTime`` in 1.1; 1.2 requires ``±hh:mm``, no fractions)
    **Converted** when the time has an offset (``Z`` and fractional seconds are read, as for 1.2, and written in
    1.2's form, UTC as ``-00:00``). A time without an offset is **refused**: the message says CAP 1.2 requires
    one (so does the 1.1 text), and guessing the zone could move a deadline by hours.

``area.altitude``, ``area.ceiling`` (``string`` in 1.1, ``xs:decimal`` feet in 1.2)
    **Kept** when the text is a decimal number; anything else (``1000 ft``) is **refused** by the 1.2 rule,
    whose message says CAP 1.2 requires a decimal number of feet: converting units or words would be a guess.

``references`` (same type in both; an empty one)
    **Refused** in a CAP 1.1 document, whatever its msgType. In CAP 1.2 an empty ``references`` on an
    ``Alert`` is accepted as absent (Environment Canada's NAAD feed, a CAP 1.2 producer, writes
    ``<references/>`` on every new alert); that tolerance is for that known 1.2 habit, and the CAP 1.1
    conformance sample with an empty ``references`` on an ``Alert`` (``noaa_errors.cap``, from
    google/cap-library) is one that correct implementations refuse. An Update or Cancel with an empty
    ``references`` is refused in both versions by the ordinary rule, with the same message.

``resource.size`` ("approximate" in 1.1, exact in 1.2; ``integer`` in both)
    **Kept** as given: nothing more exact is known, and a receiver uses it as a hint either way.

Extension elements (1.1 allowed any namespace after the infos; 1.2 only XML signatures)
    **Dropped** with the signatures, see :mod:`alertsvc.cap.xml`: nothing of them survives re-serialization.

Everything else (the other elements, their order, the ``status``, ``msgType``, ``scope``, ``category``,
``urgency`` and ``severity`` values, ``polygon`` and ``circle``) is the same in both versions.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from alertsvc.cap.enums import NEEDS_REFERENCES, Certainty
from alertsvc.cap.errors import FieldError

DEFAULT_MIME_TYPE = "application/octet-stream"
"""What a CAP 1.1 ``resource`` without ``mimeType`` is declared as in CAP 1.2."""

_NEEDS_REFERENCES = frozenset(str(msg_type) for msg_type in NEEDS_REFERENCES)


def _dicts(value: Any) -> Iterator[dict[str, Any]]:
    """The mappings in a repeated element (anything else is the validator's to report)."""
    if isinstance(value, list):
        yield from (item for item in value if isinstance(item, dict))


def _references(document: Mapping[str, Any]) -> list[FieldError]:
    references = document.get("references")
    if not isinstance(references, str) or references.strip():
        return []
    if document.get("msgType") in _NEEDS_REFERENCES:
        return []  # the ordinary "required when msgType is ..." rule reports it, with the same path
    return [
        FieldError(
            ["references"],
            "must not be empty in a CAP 1.1 document: list each earlier alert as sender,identifier,sent, "
            "or leave the element out",
        )
    ]


def _upgrade_info(info: dict[str, Any]) -> None:
    if info.get("certainty") == "Very Likely":
        info["certainty"] = str(Certainty.Likely)
    for resource in _dicts(info.get("resource")):
        mime_type = resource.get("mimeType")
        if mime_type is None or (isinstance(mime_type, str) and not mime_type.strip()):
            resource["mimeType"] = DEFAULT_MIME_TYPE


def upgrade_cap11(document: dict[str, Any]) -> tuple[dict[str, Any], list[FieldError]]:
    """``document`` (the mapping :mod:`alertsvc.cap.xml` read from a CAP 1.1 alert) made ready for CAP 1.2
    validation, and the problems that are CAP 1.1 problems only (reported with the rest). Changed in place."""
    for info in _dicts(document.get("info")):
        _upgrade_info(info)
    return document, _references(document)
