"""The JSON form: same model, CAP names, CAP time strings; round trips in every direction."""

from __future__ import annotations

import json
from datetime import UTC, timedelta
from typing import Any

import pytest

from alertsvc.cap import (
    Alert,
    CapError,
    MsgType,
    Status,
    alert_to_json,
    alert_to_xml,
    parse_cap_area,
    parse_cap_json,
    parse_cap_xml,
)

from . import documents
from .samples import ACCEPTED_12, CAP_11, LATIN_1, sample


@pytest.mark.parametrize("name", [*ACCEPTED_12, LATIN_1, *CAP_11])
def test_xml_to_model_to_json_to_model_is_equal(name: str) -> None:
    alert = parse_cap_xml(sample(name))
    as_json = json.dumps(alert_to_json(alert))
    again = parse_cap_json(as_json.encode())
    assert again == alert
    assert alert_to_json(again) == alert_to_json(alert)
    assert alert_to_xml(again) == alert_to_xml(alert)


def test_json_uses_cap_element_names() -> None:
    alert = parse_cap_xml(sample("wcatwc-warning.cap"))
    document = alert_to_json(alert)
    assert {"identifier", "sender", "sent", "status", "msgType", "scope", "info"} <= document.keys()
    info = document["info"][0]
    assert {"senderName", "eventCode", "responseType"} & info.keys()
    assert "resourceDesc" in info["resource"][0] and "mimeType" in info["resource"][0]
    assert "areaDesc" in info["area"][0]
    assert "msg_type" not in document


def test_python_names_are_accepted_too() -> None:
    document = documents.alert()
    document["msg_type"] = document.pop("msgType")
    assert parse_cap_json(document).msg_type is MsgType.Alert


def test_enumerations_are_str_enums() -> None:
    alert = parse_cap_json(documents.alert())
    assert alert.status is Status.Actual
    assert str(alert.status) == "Actual"
    assert str(alert.info[0].category[0]) == "Met"


def test_offsets_are_kept() -> None:
    alert = parse_cap_json(documents.alert(sent="2024-05-01T14:00:00-05:00"))
    assert alert.sent.utcoffset() == timedelta(hours=-5)
    assert alert_to_json(alert)["sent"] == "2024-05-01T14:00:00-05:00"
    assert b"<sent>2024-05-01T14:00:00-05:00</sent>" in alert_to_xml(alert)


@pytest.mark.parametrize(
    ("given", "written"),
    [
        ("2024-05-01T19:00:00Z", "2024-05-01T19:00:00-00:00"),
        ("2024-05-01T19:00:00.987654Z", "2024-05-01T19:00:00-00:00"),
        ("2024-05-01T14:00:00.5-05:00", "2024-05-01T14:00:00-05:00"),
        ("2024-05-01T19:00:00-00:00", "2024-05-01T19:00:00-00:00"),
        ("2024-05-01T19:00:00+00:00", "2024-05-01T19:00:00-00:00"),
        ("2024-05-01T23:30:00+05:30", "2024-05-01T23:30:00+05:30"),
    ],
)
def test_times_are_written_in_cap_form(given: str, written: str) -> None:
    alert = parse_cap_json(documents.alert(sent=given))
    assert alert_to_json(alert)["sent"] == written
    assert alert.sent.microsecond == 0


def test_utc_offset_is_a_fixed_timezone() -> None:
    alert = parse_cap_json(documents.alert(sent="2024-05-01T19:00:00Z"))
    assert alert.sent.tzinfo == UTC


@pytest.mark.parametrize("field", ["effective", "onset", "expires"])
def test_info_time_without_offset_is_an_error(field: str) -> None:
    document = documents.alert(info=[documents.info(**{field: "2024-05-01T20:00:00"})])
    with pytest.raises(CapError) as caught:
        parse_cap_json(document)
    assert [e.loc for e in caught.value.errors] == [["info", 0, field]]
    assert "no UTC offset" in caught.value.errors[0].msg


def test_sent_without_offset_is_an_error() -> None:
    with pytest.raises(CapError) as caught:
        parse_cap_json(documents.alert(sent="2024-05-01T14:00:00"))
    assert [e.loc for e in caught.value.errors] == [["sent"]]
    assert "no UTC offset" in caught.value.errors[0].msg


@pytest.mark.parametrize(
    "value", [1714590000, "2024-05-01", "yesterday", "2024-13-01T00:00:00Z", "2024-05-01T10:00:00+24:00"]
)
def test_not_a_cap_time(value: Any) -> None:
    with pytest.raises(CapError) as caught:
        parse_cap_json(documents.alert(sent=value))
    assert [e.loc for e in caught.value.errors] == [["sent"]]


def test_language_defaults_to_en_us() -> None:
    info = documents.info()
    del info["language"]
    alert = parse_cap_json(documents.alert(info=[info]))
    assert alert.info[0].language == "en-US"
    assert alert_to_json(alert)["info"][0]["language"] == "en-US"


def test_repeated_elements_keep_their_order() -> None:
    codes = ["zeta", "alpha", "mu"]
    areas = [documents.area(areaDesc=name) for name in ("North", "East", "Centre")]
    infos = [
        documents.info(language="fr-CA", category=["Safety", "Met", "Fire"], area=areas),
        documents.info(language="en-CA", responseType=["Prepare", "Shelter"]),
    ]
    alert = parse_cap_json(documents.alert(code=codes, info=infos))
    for again in (parse_cap_xml(alert_to_xml(alert)), parse_cap_json(alert_to_json(alert))):
        assert again.code == codes
        assert [i.language for i in again.info] == ["fr-CA", "en-CA"]
        assert [str(c) for c in again.info[0].category] == ["Safety", "Met", "Fire"]
        assert [a.area_desc for a in again.info[0].area] == ["North", "East", "Centre"]
        assert [str(r) for r in again.info[1].response_type] == ["Prepare", "Shelter"]


def test_numbers_round_trip() -> None:
    info = documents.info(
        area=[documents.area(altitude=1500.5, ceiling="2000.25")],
        resource=[{"resourceDesc": "map", "mimeType": "image/png", "size": "12345", "uri": "https://x.example/m.png"}],
    )
    alert = parse_cap_json(documents.alert(info=[info]))
    document = alert_to_json(alert)
    assert document["info"][0]["area"][0]["altitude"] == 1500.5
    assert document["info"][0]["area"][0]["ceiling"] == 2000.25
    assert document["info"][0]["resource"][0]["size"] == 12345
    assert parse_cap_xml(alert_to_xml(alert)) == alert


def test_key_and_reference_keys() -> None:
    references = "a@x,ID-1,2024-05-01T10:00:00-00:00\n  b@y,ID-2,2024-05-01T11:00:00-05:00"
    alert = parse_cap_json(documents.alert(msgType="Update", references=references))
    assert alert.key == ("alerts@city.example", "CITY-2024-001", "2024-05-01T14:00:00-05:00")
    assert alert.reference_keys() == [
        ("a@x", "ID-1", "2024-05-01T10:00:00-00:00"),
        ("b@y", "ID-2", "2024-05-01T11:00:00-05:00"),
    ]
    original = parse_cap_json(documents.alert(sender="a@x", identifier="ID-1", sent="2024-05-01T10:00:00Z"))
    assert original.key in alert.reference_keys()


def test_area_helpers_give_internal_shapes() -> None:
    area = parse_cap_area({"areaDesc": "x", "polygon": [documents.SQUARE], "circle": ["45.5,-73.57 2.5"]})
    polygon, circle = area.shapes()
    assert polygon.points[0].lat == 45.5 and polygon.points[0].lon == -73.6  # type: ignore[union-attr]
    assert circle.radius_km == 2.5  # type: ignore[union-attr]
    assert area.polygon == [documents.SQUARE]  # the CAP string is kept as written


def test_area_errors_are_relative_to_the_area() -> None:
    with pytest.raises(CapError) as caught:
        parse_cap_area({"areaDesc": "x", "polygon": [documents.BOWTIE], "ceiling": 3})
    assert [e.loc for e in caught.value.errors] == [["polygon", 0], ["ceiling"]]


@pytest.mark.parametrize("body", [b"", b"not json", b"[1, 2]", b'"text"', b"\xff\xfe\x00", b"[" * 100_000])
def test_bodies_that_are_not_json_objects(body: bytes) -> None:
    with pytest.raises(CapError) as caught:
        parse_cap_json(body)
    assert [e.loc for e in caught.value.errors] == [["body"]]


def test_built_in_python_the_rules_still_hold() -> None:
    """The cross-element rules run on direct construction too, so no code path skips them."""
    with pytest.raises(ValueError, match="references"):
        Alert(
            identifier="X",
            sender="s",
            sent="2024-05-01T14:00:00Z",
            status=Status.Actual,
            msg_type=MsgType.Cancel,
            scope="Public",
        )


def test_models_are_immutable() -> None:
    alert = parse_cap_json(documents.alert())
    with pytest.raises(ValueError, match="frozen"):
        alert.identifier = "changed"  # type: ignore[misc]


def test_json_schema_is_available_for_openapi() -> None:
    schema = Alert.model_json_schema(by_alias=True)
    assert {"msgType", "sent", "info"} <= schema["properties"].keys()
