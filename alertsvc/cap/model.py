"""The whole CAP 1.2 alert as typed pydantic models: the one in-memory form of every alert, however it arrived.

Python attributes are snake_case; each field's alias is the CAP element name exactly (``msgType``,
``senderName``, ``areaDesc``), so the JSON form is CAP's own vocabulary and error paths name CAP elements.
Repeated elements are lists in document order. Polygons and circles stay the strings the sender wrote, so an
alert round-trips byte for byte in those values, but each is checked by :mod:`alertsvc.geo.areas` on the way in
and :meth:`Area.shapes` hands out the internal area types: raw ``lat,lon`` pairs never travel further.

The text residents read (``event``, ``headline``, ``description``, ``instruction``, ``senderName``, ``web``,
``contact``, ``audience``, ``areaDesc``) is :data:`~alertsvc.cap.values.ReaderText`: no bidirectional overrides or
other invisible characters (:mod:`alertsvc.cap.visible`), whichever form the alert came in.

Element-level rules live in the field types (:mod:`alertsvc.cap.values`, :mod:`alertsvc.cap.times`); rules that
join several elements live in :mod:`alertsvc.cap.rules` and run here too, so a model built directly in Python
obeys them. The public parsers (:mod:`alertsvc.cap.validate`) run those rules themselves to report them next to
every field problem at once, and tell the model to skip them (:data:`DEFER_RULES`).
"""

from __future__ import annotations

from contextlib import suppress
from typing import Any, Self

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, model_validator
from pydantic.alias_generators import to_camel
from pydantic_core import PydanticCustomError

from alertsvc.cap.enums import Category, Certainty, MsgType, ResponseType, Scope, Severity, Status, Urgency
from alertsvc.cap.rules import alert_rule_errors
from alertsvc.cap.times import CapTime, CapTimeError, format_cap_time, parse_cap_time
from alertsvc.cap.values import (
    CircleText,
    DecimalNumber,
    Language,
    OptionalReferences,
    PolygonText,
    ReaderText,
    Size,
    Text,
    Token,
    split_reference,
)
from alertsvc.geo.areas import CircleArea, PolygonArea, parse_cap_circle, parse_cap_polygon

DEFER_RULES: dict[str, Any] = {"cap_defer_rules": True}
"""Validation context: the caller runs the cross-element rules itself (to report them with their paths)."""

DEFAULT_LANGUAGE = "en-US"
"""CAP's default for ``info.language``."""


class CapModel(BaseModel):
    """Common configuration: CAP names as aliases, Python names accepted too, unknown elements refused,
    and immutable, so a validated alert cannot be changed into an unvalidated one."""

    model_config = ConfigDict(
        alias_generator=to_camel,
        populate_by_name=True,
        extra="forbid",
        frozen=True,
    )


class ValuePair(CapModel):
    """``eventCode``, ``parameter`` and ``geocode``: a system-specific name and its value (which may be empty)."""

    value_name: Text
    value: Text


class Resource(CapModel):
    """``resource``: a file that supplements the info (a map, an audio file)."""

    resource_desc: Text
    mime_type: Text
    size: Size | None = Field(default=None, ge=0)
    uri: Text | None = None
    deref_uri: Text | None = None
    digest: Text | None = None


class Area(CapModel):
    """``area``: where the info applies. Polygons and circles as CAP strings, checked on the way in."""

    area_desc: ReaderText
    polygon: list[PolygonText] = Field(default_factory=list)
    circle: list[CircleText] = Field(default_factory=list)
    geocode: list[ValuePair] = Field(default_factory=list)
    altitude: DecimalNumber | None = None
    ceiling: DecimalNumber | None = None

    def polygons(self) -> list[PolygonArea]:
        """The polygons as internal areas (already validated, so this cannot fail)."""
        return [parse_cap_polygon(text) for text in self.polygon]

    def circles(self) -> list[CircleArea]:
        """The circles as internal areas."""
        return [parse_cap_circle(text) for text in self.circle]

    def shapes(self) -> list[PolygonArea | CircleArea]:
        """Every polygon, then every circle, in document order. Geocodes are not shapes: ``alertsvc.geo.zones``
        resolves those, since only it knows the named zones."""
        return [*self.polygons(), *self.circles()]


class Info(CapModel):
    """``info``: the event, what to do, and where, in one language."""

    language: Language = DEFAULT_LANGUAGE
    category: list[Category] = Field(min_length=1)
    event: ReaderText
    response_type: list[ResponseType] = Field(default_factory=list)
    urgency: Urgency
    severity: Severity
    certainty: Certainty
    audience: ReaderText | None = None
    event_code: list[ValuePair] = Field(default_factory=list)
    effective: CapTime | None = None
    onset: CapTime | None = None
    expires: CapTime | None = None
    sender_name: ReaderText | None = None
    headline: ReaderText | None = None
    description: ReaderText | None = None
    instruction: ReaderText | None = None
    web: ReaderText | None = None
    contact: ReaderText | None = None
    parameter: list[ValuePair] = Field(default_factory=list)
    resource: list[Resource] = Field(default_factory=list)
    area: list[Area] = Field(default_factory=list)


CapKey = tuple[str, str, str]
"""(sender, identifier, sent) with ``sent`` in CAP form: what identifies an alert across systems."""


class Alert(CapModel):
    """``alert``: one CAP message. Extension elements (e.g. an XML signature) are not part of the model."""

    identifier: Token
    sender: Token
    sent: CapTime
    status: Status
    msg_type: MsgType
    source: Text | None = None
    scope: Scope
    restriction: Text | None = None
    addresses: Text | None = None
    code: list[Text] = Field(default_factory=list)
    note: Text | None = None
    references: OptionalReferences = None
    incidents: Text | None = None
    info: list[Info] = Field(default_factory=list)

    @model_validator(mode="after")
    def _cross_element_rules(self, info: ValidationInfo) -> Self:
        if isinstance(info.context, dict) and info.context.get("cap_defer_rules"):
            return self
        problems = alert_rule_errors(self.model_dump(by_alias=True))
        if problems:
            text = "; ".join(f"{problem.path}: {problem.msg}" for problem in problems)
            raise PydanticCustomError("cap_rules", "{problems}", {"problems": text})
        return self

    @property
    def key(self) -> CapKey:
        """(sender, identifier, sent), the triple CAP uses to name this alert in other alerts' references."""
        return self.sender, self.identifier, format_cap_time(self.sent)

    def reference_keys(self) -> list[CapKey]:
        """The alerts this one refers to, in order, as (sender, identifier, sent) triples.

        ``sent`` is rewritten in the same CAP form as :attr:`key` (``Z`` or ``+00:00`` as ``-00:00``), so a reference
        and the key of the alert it names compare equal however the referring sender wrote the offset.
        """
        keys: list[CapKey] = []
        for token in (self.references or "").split():
            parts = split_reference(token)
            if parts is None:
                continue
            sender, identifier, sent = parts
            with suppress(CapTimeError):  # only reachable through model_construct(), which skips validation
                sent = format_cap_time(parse_cap_time(sent))
            keys.append((sender, identifier, sent))
        return keys
