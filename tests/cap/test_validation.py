"""Validation: every problem at once, each at the path of the CAP element at fault, whatever the input form."""

from __future__ import annotations

from typing import Any

import pytest

from alertsvc.cap import CapError, FieldError, alert_to_json, alert_to_xml, parse_cap_json, parse_cap_xml
from alertsvc.geo.areas import AreaError, parse_cap_polygon

from . import documents


def problems(document: dict[str, Any]) -> list[tuple[str, str]]:
    """(path, msg) of every problem, checked the same whether the document came as JSON or as XML."""
    with pytest.raises(CapError) as caught:
        parse_cap_json(document)
    return [(e.path, e.msg) for e in caught.value.errors]


def area_error(polygon: str) -> str:
    """The reason ``alertsvc.geo.areas`` gives: the CAP layer reports it unchanged."""
    with pytest.raises(AreaError) as caught:
        parse_cap_polygon(polygon)
    return str(caught.value)


def paths(document: dict[str, Any]) -> list[str]:
    return [path for path, _ in problems(document)]


def test_a_valid_document_passes() -> None:
    parse_cap_json(documents.alert())


def test_three_problems_are_reported_together() -> None:
    document = documents.alert(
        msgType="Update", info=[documents.info(area=[documents.area(polygon=[documents.BOWTIE])])]
    )
    del document["scope"]
    assert problems(document) == [
        ("scope", "required element 'scope' is missing"),
        ("references", "required when msgType is Update: name the earlier alert(s) as sender,identifier,sent"),
        ("info[0].area[0].polygon[0]", area_error(documents.BOWTIE)),
    ]


def test_problems_come_in_document_order_with_structured_loc() -> None:
    document = documents.alert(
        status="Real",
        info=[
            documents.info(),
            documents.info(urgency="Now", area=[documents.area(), documents.area(circle=["45,-73 -1"])]),
        ],
    )
    with pytest.raises(CapError) as caught:
        parse_cap_json(document)
    errors = caught.value.errors
    assert [e.loc for e in errors] == [["status"], ["info", 1, "urgency"], ["info", 1, "area", 1, "circle", 0]]
    assert errors[2].path == "info[1].area[1].circle[0]"
    assert errors[2].as_dict() == {"loc": ["info", 1, "area", 1, "circle", 0], "msg": errors[2].msg}
    assert "radius" in errors[2].msg


def test_field_error_path() -> None:
    assert FieldError(["info", 0, "area", 1, "polygon", 0], "x").path == "info[0].area[1].polygon[0]"
    assert FieldError(["body"], "x").path == "body"


@pytest.mark.parametrize(
    ("polygon", "reason"),
    [
        ("95,-73.6 45.5,-73.5 45.6,-73.5 95,-73.6", "latitude 95.0 is outside -90..90"),
        ("45.5,-190 45.5,-73.5 45.6,-73.5 45.5,-190", "longitude -190.0 is outside -180..180"),
        ("45.5,-73.6 45.5,-73.5 45.5,-73.6", "a polygon needs at least 4 points (first repeated last), got 3"),
        ("45.5,-73.6 45.5,-73.5 45.6,-73.5 45.6,-73.6", "polygon is not closed: the first and last points differ"),
        (documents.BOWTIE, "polygon is self-intersecting"),
        ("-73.6 45.5", "'-73.6' is not a 'lat,lon' pair"),
        ("", "polygon is empty"),
        ("80,0 80,120 80,-120 80,0", "polygon goes round a pole"),  # each step 120 degrees, the same way
        ("0,179 1,-179 0,-179 1,179 0,179", "polygon is self-intersecting near 0.5,180 (lat,lon)"),  # across 180
        (
            "0,0 0,170 0,-20 0,10 1,10 1,-20 1,170 1,0 0,0",  # a strip 370 degrees long, east then back
            "polygon spans more than 360 degrees of longitude",
        ),
    ],
)
def test_polygon_rules_with_their_path(polygon: str, reason: str) -> None:
    area = documents.area(polygon=[documents.SQUARE, polygon])
    document = documents.alert(info=[documents.info(), documents.info(area=[documents.area(), area])])
    assert problems(document) == [("info[1].area[1].polygon[1]", area_error(polygon))]
    assert area_error(polygon).startswith(reason)


@pytest.mark.parametrize("circle", ["45.5,-73.6 -2", "45.5,-73.6 nan", "45.5,-73.6", "95,0 1", "45.5,-73.6 far"])
def test_circle_rules(circle: str) -> None:
    document = documents.alert(info=[documents.info(area=[documents.area(circle=[circle])])])
    assert paths(document) == ["info[0].area[0].circle[0]"]


@pytest.mark.parametrize("field", ["identifier", "sender"])
@pytest.mark.parametrize("value", ["has space", "has,comma", "a<b", "a&b", "", "tab\there"])
def test_identifier_and_sender_characters(field: str, value: str) -> None:
    assert paths(documents.alert(**{field: value})) == [field]


@pytest.mark.parametrize("msg_type", ["Update", "Cancel", "Ack", "Error"])
def test_msg_types_that_need_references(msg_type: str) -> None:
    assert paths(documents.alert(msgType=msg_type)) == ["references"]
    required = f"required when msgType is {msg_type}: name the earlier alert(s) as sender,identifier,sent"
    for blank in ("", "  ", "\n\t "):
        assert problems(documents.alert(msgType=msg_type, references=blank)) == [("references", required)]
    parse_cap_json(documents.alert(msgType=msg_type, references="a@x,ID-1,2024-05-01T10:00:00-05:00"))


@pytest.mark.parametrize("blank", ["", "  ", "\n\t "])
def test_blank_references_on_an_alert_are_absent(blank: str) -> None:
    """Environment Canada's NAAD feed sends ``<references/>`` on new alerts: nothing is referenced, so nothing
    is wrong; the element is treated as absent (and not written back)."""
    alert = parse_cap_json(documents.alert(msgType="Alert", references=blank))
    assert alert.references is None and alert.reference_keys() == []
    assert "references" not in alert_to_json(alert)
    assert b"references" not in alert_to_xml(alert)


@pytest.mark.parametrize(
    "references", ["a@x,ID-1", "a@x,ID-1,2024-05-01T10:00:00", "a@x,,2024-05-01T10:00:00Z", "a,b,c,d"]
)
def test_malformed_references(references: str) -> None:
    assert paths(documents.alert(msgType="Update", references=references)) == ["references"]


def test_scope_rules() -> None:
    assert paths(documents.alert(scope="Restricted")) == ["restriction"]
    assert paths(documents.alert(scope="Private", addresses="")) == ["addresses"]
    parse_cap_json(documents.alert(scope="Restricted", restriction="first responders"))
    parse_cap_json(documents.alert(scope="Private", addresses="ops@city.example"))


def test_expires_before_sent_is_an_error() -> None:
    # 13:00-05:00 is 18:00Z; sent 14:00-05:00 is 19:00Z. Compared as instants, not as written.
    document = documents.alert(info=[documents.info(), documents.info(expires="2024-05-01T18:00:00+00:00")])
    assert problems(document) == [
        (
            "info[1].expires",
            "expires (2024-05-01T18:00:00-00:00) is before the alert was sent (2024-05-01T14:00:00-05:00)",
        )
    ]
    parse_cap_json(documents.alert(info=[documents.info(expires="2024-05-01T19:00:00Z")]))  # equal is fine


def test_required_elements_and_enumerations() -> None:
    info = documents.info(category=[], severity="Bad", certainty="Very Likely")
    del info["event"]
    document = documents.alert(info=[info])
    del document["identifier"]
    assert paths(document) == [
        "identifier",
        "info[0].category",
        "info[0].event",
        "info[0].severity",
        "info[0].certainty",
    ]


def test_unknown_elements_are_named() -> None:
    document = documents.alert(msgtype="Alert", info=[documents.info(colour="red")])
    assert problems(document) == [
        ("info[0].colour", "'colour' is not a CAP element here"),
        ("msgtype", "'msgtype' is not a CAP element here"),
    ]


def test_wrong_json_types() -> None:
    document = documents.alert(code="single", info=[documents.info(area={"areaDesc": "x"})], identifier=7)
    assert paths(document) == ["identifier", "code", "info[0].area"]


def test_characters_xml_cannot_carry_are_refused() -> None:
    assert problems(documents.alert(note="bell\x07")) == [("note", "contains a character XML cannot carry (U+0007)")]
    assert paths(documents.alert(note="lone \ud800 surrogate")) == ["note"]


def test_carriage_returns_survive_xml() -> None:
    alert = parse_cap_json(documents.alert(note="line one\r\nline two\r"))
    assert parse_cap_xml(alert_to_xml(alert)).note == "line one\r\nline two\r"


def test_the_same_rules_apply_to_xml() -> None:
    xml = b"""<?xml version="1.0" encoding="UTF-8"?>
<alert xmlns="urn:oasis:names:tc:emergency:cap:1.2">
  <identifier>A 1</identifier><sender>s@x</sender><sent>2024-05-01T14:00:00</sent>
  <status>Actual</status><msgType>Cancel</msgType><scope>Public</scope>
  <info><category>Met</category><event>e</event><urgency>Past</urgency><severity>Minor</severity>
    <certainty>Observed</certainty>
    <area><areaDesc>a</areaDesc><polygon>1,1 2,2 1,2</polygon></area></info>
</alert>"""
    with pytest.raises(CapError) as caught:
        parse_cap_xml(xml)
    assert [e.path for e in caught.value.errors] == [
        "identifier",
        "sent",
        "references",
        "info[0].area[0].polygon[0]",
    ]


def test_error_message_lists_every_problem() -> None:
    document = documents.alert(scope="Restricted", status="Real")
    with pytest.raises(CapError) as caught:
        parse_cap_json(document)
    text = str(caught.value)
    assert text.startswith("2 problems in the CAP document:")
    assert "status:" in text and "restriction:" in text
