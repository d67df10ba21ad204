"""CAP 1.1 to CAP 1.2: what changes between the versions, decided element by element, before validation.

A CAP 1.1 document is read into the same mapping as a 1.2 one (the element names are the same) and then
validated under CAP 1.2's rules. This module sits in between and applies the decisions below, so that a 1.1
alert either becomes an ordinary 1.2 alert that means what its sender said, or is refused with a reason.

``references``
    An empty or whitespace-only ``references`` is refused in a CAP 1.1 document, whatever its msgType. In CAP
    1.2 an empty ``references`` on an ``Alert`` is accepted as absent (Environment Canada's NAAD feed, a CAP
    1.2 producer, writes ``<references/>`` on every new alert); that tolerance is for that known 1.2 habit, and
    the CAP 1.1 conformance sample of an empty ``references`` on an ``Alert`` (``noaa_errors.cap``, from
    google/cap-library) is one that correct implementations refuse. An Update or Cancel with an empty
    ``references`` is refused in both versions by the ordinary rule, with the same message.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from alertsvc.cap.enums import NEEDS_REFERENCES
from alertsvc.cap.errors import FieldError

_NEEDS_REFERENCES = frozenset(str(msg_type) for msg_type in NEEDS_REFERENCES)


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


def upgrade_cap11(document: dict[str, Any]) -> tuple[dict[str, Any], list[FieldError]]:
    """``document`` (the mapping :mod:`alertsvc.cap.xml` read from a CAP 1.1 alert) made ready for CAP 1.2
    validation, and the problems that are CAP 1.1 problems only (reported with the rest)."""
    return document, _references(document)
