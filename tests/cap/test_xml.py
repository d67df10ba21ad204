"""CAP XML: versions, structure problems, extension elements, schema order and validity of what we write."""

from __future__ import annotations

from typing import Any

import pytest

from alertsvc.cap import CapError, alert_to_json, alert_to_xml, parse_cap_json, parse_cap_xml
from alertsvc.cap.layout import LAYOUT

from . import documents
from .samples import sample

CAP12 = "urn:oasis:names:tc:emergency:cap:1.2"
CAP11 = "urn:oasis:names:tc:emergency:cap:1.1"

HEAD = """<identifier>X1</identifier><sender>s@example.org</sender><sent>2024-05-01T14:00:00-05:00</sent>
<status>Actual</status><msgType>Alert</msgType><scope>Public</scope>"""
INFO = """<category>Met</category><event>Storm</event><urgency>Immediate</urgency><severity>Severe</severity>
<certainty>{certainty}</certainty>"""


def xml(body: str, namespace: str = CAP12, root: str = "alert") -> bytes:
    return f'<?xml version="1.0" encoding="UTF-8"?>\n<{root} xmlns="{namespace}">{body}</{root}>'.encode()


def errors_of(data: bytes) -> list[tuple[str, str]]:
    with pytest.raises(CapError) as caught:
        parse_cap_xml(data)
    return [(e.path, e.msg) for e in caught.value.errors]


def full_document() -> dict[str, Any]:
    """Every element CAP 1.2 has, each with a value."""
    info = documents.info(
        responseType=["Shelter", "AllClear"],
        audience="residents",
        eventCode=[{"valueName": "SAME", "value": "FLW"}],
        effective="2024-05-01T14:00:00-05:00",
        onset="2024-05-01T15:00:00-05:00",
        senderName="City OEM",
        description="Water rising <fast> & wide",
        instruction="Go up",
        web="https://city.example/alerts/1",
        contact="311",
        parameter=[{"valueName": "layer", "value": ""}],
        resource=[
            {
                "resourceDesc": "map",
                "mimeType": "image/png",
                "size": 1024,
                "uri": "https://city.example/map.png",
                "derefUri": "aGVsbG8=",
                "digest": "da39a3ee5e6b4b0d3255bfef95601890afd80709",
            }
        ],
        area=[
            documents.area(
                circle=["45.5,-73.57 2.5"],
                geocode=[{"valueName": "zone", "value": "downtown"}],
                altitude=100,
                ceiling=250.5,
            )
        ],
    )
    return documents.alert(
        source="dispatch",
        scope="Restricted",
        restriction="responders",
        addresses="ops@city.example",
        code=["IPAWSv1.0", "profile:x"],
        note="a note",
        msgType="Update",
        references="s@x,OLD-1,2024-05-01T10:00:00-05:00",
        incidents="INC-1 INC-2",
        info=[info],
    )


def test_every_cap12_element_round_trips_and_validates(cap_schema: Any) -> None:
    alert = parse_cap_json(full_document())
    data = alert_to_xml(alert)
    cap_schema.validate(data.decode())
    assert parse_cap_xml(data) == alert
    for group in LAYOUT.values():  # every element of the layout is written
        for element in group:
            assert f"<{element.name}>".encode() in data, element.name


def test_output_follows_schema_order_whatever_the_input_order(cap_schema: Any) -> None:
    shuffled = xml(
        "<scope>Public</scope><msgType>Alert</msgType><status>Actual</status>"
        "<sent>2024-05-01T14:00:00-05:00</sent><sender>s@x</sender><identifier>X1</identifier>"
        "<info><certainty>Observed</certainty><severity>Severe</severity><urgency>Immediate</urgency>"
        "<event>Storm</event><category>Met</category></info>"
    )
    alert = parse_cap_xml(shuffled)
    out = alert_to_xml(alert)
    cap_schema.validate(out.decode())
    assert out.index(b"<identifier>") < out.index(b"<sender>") < out.index(b"<scope>") < out.index(b"<info>")


@pytest.mark.parametrize("utc", ["Z", "+00:00", "-00:00"])
def test_utc_is_written_minus_zero_everywhere(utc: str, cap_schema: Any) -> None:
    """CAP 1.2 section 3.3.2: "The timezone for UTC MUST be represented as -00:00", in XML and JSON alike;
    all three spellings are read, and the alert round-trips to an equal one."""
    stamp = f"2024-05-01T19:00:00{utc}"
    references = f"a@x,ID-1,{stamp} b@y,ID-2,2024-05-01T11:00:00-05:00"
    document = documents.alert(
        sent=stamp,
        msgType="Update",
        references=references,
        info=[documents.info(effective=stamp, onset=stamp, expires="2024-05-01T21:00:00+00:00")],
    )
    alert = parse_cap_json(document)
    data = alert_to_xml(alert)
    cap_schema.validate(data.decode())
    for element in ("sent", "effective", "onset"):
        assert f"<{element}>2024-05-01T19:00:00-00:00</{element}>".encode() in data
    assert b"<expires>2024-05-01T21:00:00-00:00</expires>" in data
    assert b"+00:00" not in data and b"Z<" not in data
    as_json = alert_to_json(alert)
    assert as_json["sent"] == as_json["info"][0]["onset"] == "2024-05-01T19:00:00-00:00"
    assert alert.key[2] == "2024-05-01T19:00:00-00:00"
    assert alert.reference_keys()[0] == ("a@x", "ID-1", "2024-05-01T19:00:00-00:00")
    assert parse_cap_xml(data) == alert
    assert alert_to_xml(parse_cap_xml(data)) == data
    assert parse_cap_json(as_json) == alert


def test_writes_utf8_with_declaration() -> None:
    out = alert_to_xml(parse_cap_json(documents.alert(note="Montréal ✓")))
    assert out.startswith(b"<?xml version='1.0' encoding='utf-8'?>")
    assert "Montréal ✓".encode() in out


def test_reads_utf16() -> None:
    text = '<?xml version="1.0" encoding="UTF-16"?>' + xml(HEAD + "<note>Zürich</note>").decode().split("\n", 1)[1]
    assert parse_cap_xml(text.encode("utf-16")).note == "Zürich"


def test_whitespace_around_typed_values_is_tolerated_free_text_is_kept() -> None:
    body = HEAD.replace("<status>Actual</status>", "<status>\n  Actual\n</status>")
    alert = parse_cap_xml(xml(body + "<note>  spaced\n text </note>"))
    assert str(alert.status) == "Actual"
    assert alert.note == "  spaced\n text "
    assert parse_cap_xml(sample("thunderstorm.cap")).info[0].description.startswith(" AT 254 PM")  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("data", "wording"),
    [
        (xml(HEAD, namespace="http://www.incident.com/cap/1.0"), "unsupported CAP version 1.0"),
        (xml(HEAD, namespace="urn:oasis:names:tc:emergency:cap:1.0"), "unsupported CAP version 1.0"),
        (xml(HEAD, namespace="urn:oasis:names:tc:emergency:cap:1.3"), "unsupported CAP version"),
        (f"<alert>{HEAD}</alert>".encode(), "unsupported CAP version"),
        (xml("", root="feed", namespace="http://www.w3.org/2005/Atom"), "unsupported CAP version"),
    ],
)
def test_unsupported_versions(data: bytes, wording: str) -> None:
    [(path, msg)] = errors_of(data)
    assert path == "body"
    assert wording in msg


@pytest.mark.parametrize(
    "data", [b"", b"<alert", b"<?xml version='1.0'?><a></b>", b"\x00\x01", b"plain text", b"<a/><b/>"]
)
def test_malformed_xml_is_one_readable_body_error(data: bytes) -> None:
    [(path, msg)] = errors_of(data)
    assert path == "body"
    assert msg.startswith("not well-formed XML: ")


@pytest.mark.parametrize("element", ["<references/>", "<references></references>", "<references>\n  </references>"])
def test_naad_empty_references_on_an_alert_is_accepted(element: str, cap_schema: Any) -> None:
    """Environment Canada's NAAD feed writes an empty ``<references/>`` on new alerts (msgType Alert)."""
    data = sample("canada.cap").replace(b"<msgType>Update</msgType>", b"<msgType>Alert</msgType>")
    start, end = data.index(b"<references>"), data.index(b"</references>") + len(b"</references>")
    alert = parse_cap_xml(data[:start] + element.encode() + data[end:])
    assert alert.references is None
    out = alert_to_xml(alert)
    assert b"references" not in out
    cap_schema.validate(out.decode())
    assert parse_cap_xml(out) == alert


@pytest.mark.parametrize("msg_type", ["Update", "Cancel"])
def test_empty_references_on_an_update_or_cancel_is_refused(msg_type: str) -> None:
    body = HEAD.replace("<msgType>Alert</msgType>", f"<msgType>{msg_type}</msgType><references/>")
    assert errors_of(xml(body + f"<info>{INFO.format(certainty='Likely')}</info>")) == [
        ("references", f"required when msgType is {msg_type}: name the earlier alert(s) as sender,identifier,sent")
    ]


@pytest.mark.parametrize(
    ("msg_type", "message"),
    [
        ("Alert", "must not be empty in a CAP 1.1 document: list each earlier alert as sender,identifier,sent, "
         "or leave the element out"),
        ("Update", "required when msgType is Update: name the earlier alert(s) as sender,identifier,sent"),
    ],
)  # fmt: skip
def test_empty_references_stay_refused_in_cap11(msg_type: str, message: str) -> None:
    """The NAAD tolerance is for CAP 1.2: the 1.1 conformance sample noaa_errors.cap stays refused for it."""
    body = HEAD.replace("<msgType>Alert</msgType>", f"<msgType>{msg_type}</msgType><references> </references>")
    assert errors_of(xml(body + f"<info>{INFO.format(certainty='Likely')}</info>", namespace=CAP11)) == [
        ("references", message)
    ]


def test_cap11_valid_under_12_is_converted() -> None:
    alert = parse_cap_xml(xml(HEAD + f"<info>{INFO.format(certainty='Likely')}</info>", namespace=CAP11))
    assert b"<certainty>Likely</certainty>" in alert_to_xml(alert)


def test_cap11_optional_elements_that_12_requires_get_safe_values(cap_schema: Any) -> None:
    """A 1.1 resource may leave out mimeType (1.2 requires it): it becomes application/octet-stream, which claims
    nothing about the content. 1.1's deprecated "Very Likely" is read as "Likely", as CAP 1.1 says to."""
    resources = (
        "<resource><resourceDesc>map</resourceDesc><uri>https://x.example/m</uri></resource>"
        "<resource><resourceDesc>blank</resourceDesc><mimeType> </mimeType></resource>"
        "<resource><resourceDesc>typed</resourceDesc><mimeType>image/png</mimeType></resource>"
    )
    body = HEAD + f"<info>{INFO.format(certainty='Very Likely')}{resources}</info>"
    alert = parse_cap_xml(xml(body, namespace=CAP11))
    assert [r.mime_type for r in alert.info[0].resource] == [
        "application/octet-stream",
        "application/octet-stream",
        "image/png",
    ]
    assert str(alert.info[0].certainty) == "Likely"
    out = alert_to_xml(alert)
    cap_schema.validate(out.decode())
    assert parse_cap_xml(out) == alert


def test_cap11_response_types_are_all_cap12_values() -> None:
    kinds = ["Shelter", "Evacuate", "Prepare", "Execute", "Monitor", "Assess", "None"]  # the 1.1 list
    types = "".join(f"<responseType>{kind}</responseType>" for kind in kinds)
    info = INFO.format(certainty="Likely").replace("<urgency>", types + "<urgency>")
    alert = parse_cap_xml(xml(HEAD + f"<info>{info}</info>", namespace=CAP11))
    assert [str(kind) for kind in alert.info[0].response_type] == kinds


def test_cap11_values_that_cannot_become_cap12_are_refused_as_cap12_requirements() -> None:
    area = "<area><areaDesc>a</areaDesc><altitude>1000 ft</altitude><ceiling>2000</ceiling></area>"
    head = HEAD.replace("<sent>2024-05-01T14:00:00-05:00</sent>", "<sent>2024-05-01T14:00:00</sent>")
    body = head + f"<info>{INFO.format(certainty='Likely')}{area}</info>"
    problems = errors_of(xml(body, namespace=CAP11))
    assert [path for path, _ in problems] == ["sent", "info[0].area[0].altitude"]
    assert all("CAP 1.2 requires" in message for _, message in problems), problems


def test_cap12_keeps_its_own_rules_for_what_11_allowed() -> None:
    resource = "<resource><resourceDesc>map</resourceDesc></resource>"
    body = HEAD + f"<info>{INFO.format(certainty='Very Likely')}{resource}</info>"
    assert [path for path, _ in errors_of(xml(body))] == ["info[0].certainty", "info[0].resource[0].mimeType"]


def test_structure_problems_have_paths() -> None:
    body = (
        HEAD
        + "<status>Test</status><colour>red</colour>"
        + f"<info>{INFO.format(certainty='Observed')}<headline>a<b>bold</b></headline>"
        + '<x:ext xmlns:x="urn:other">no</x:ext><area><areaDesc>a</areaDesc><radius>1</radius></area></info>'
    )
    assert errors_of(xml(body)) == [
        ("status", "'status' may appear only once"),
        ("info[0].headline", "'headline' must contain text only, not elements"),
        ("info[0].area[0].radius", "'radius' is not a CAP element of 'area'"),
        ("info[0].ext", "element '{urn:other}ext' is not allowed here"),  # unknown ones after the known ones
        ("colour", "'colour' is not a CAP element of 'alert'"),
    ]


def test_signature_is_accepted_and_dropped(cap_schema: Any) -> None:
    original = sample("canada_signed.cap")
    assert b"<Signature" in original
    alert = parse_cap_xml(original)
    out = alert_to_xml(alert)
    assert b"Signature" not in out
    assert "Signature" not in str(alert_to_json(alert))
    assert parse_cap_xml(out) == alert


def test_unqualified_element_in_alert_is_refused() -> None:
    assert errors_of(xml(HEAD + '<extra xmlns="">x</extra>')) == [("extra", "element 'extra' is not allowed here")]


def test_comments_and_cdata_are_read_as_text() -> None:
    alert = parse_cap_xml(xml(HEAD + "<note><![CDATA[a < b]]><!-- hidden --> & more</note>".replace("&", "&amp;")))
    assert alert.note == "a < b & more"
