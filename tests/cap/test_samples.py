"""The conformance samples' README table, encoded row by row: real alerts from real authorities."""

from __future__ import annotations

from typing import Any

import pytest

from alertsvc.cap import Alert, CapError, alert_to_json, alert_to_xml, parse_cap_json, parse_cap_xml

from .samples import ACCEPTED_12, CAP_11, HOSTILE, LATIN_1, REJECTED, SAMPLES, sample


def _round_trips(alert: Alert, schema: Any) -> None:
    xml = alert_to_xml(alert)
    schema.validate(xml.decode("utf-8"))
    assert parse_cap_xml(xml) == alert
    assert alert_to_xml(parse_cap_xml(xml)) == xml  # a fixed point after one round
    assert parse_cap_json(alert_to_json(alert)) == alert


def test_the_table_covers_every_cap_sample() -> None:
    """A sample added later must get a row here, not be skipped silently."""
    listed = {*ACCEPTED_12, LATIN_1, *CAP_11, *REJECTED, *HOSTILE}
    on_disk = {path.name for path in SAMPLES.glob("*.cap")} | {"xee.atom"}
    assert listed == on_disk


@pytest.mark.parametrize("name", ACCEPTED_12)
def test_cap12_samples_are_accepted_and_round_trip(name: str, cap_schema: Any) -> None:
    alert = parse_cap_xml(sample(name))
    assert alert.info, "every accepted sample carries at least one info"
    _round_trips(alert, cap_schema)


def test_latin1_sample_is_decoded(cap_schema: Any) -> None:
    alert = parse_cap_xml(sample(LATIN_1))
    assert alert.info[0].headline == "EQ 4.6 Usulután, Usulután, El Salvador - PRELIMINARY REPORT"
    assert "Usulután" in alert.info[0].area[0].area_desc
    xml = alert_to_xml(alert)
    assert "Usulután".encode() in xml  # re-encoded as UTF-8
    _round_trips(alert, cap_schema)


@pytest.mark.parametrize("name", CAP_11)
def test_cap11_samples_are_converted_to_cap12(name: str, cap_schema: Any) -> None:
    """Our choice among the README's two options: valid 1.1 becomes 1.2 (never a crash either way)."""
    assert b"urn:oasis:names:tc:emergency:cap:1.1" in sample(name)
    alert = parse_cap_xml(sample(name))
    xml = alert_to_xml(alert)
    assert b'xmlns="urn:oasis:names:tc:emergency:cap:1.2"' in xml
    _round_trips(alert, cap_schema)


def test_cap11_conversion_keeps_the_content() -> None:
    alert = parse_cap_xml(sample("earthquake.cap"))
    assert alert.identifier == "USGS-earthquakes-us2010apcd.6.20100831T000925.496Z"
    assert alert.code == ["IPAWSv1.0"]
    assert [p.value_name for p in alert.info[0].parameter][:3] == ["EventTime", "EventIDKey", "Version"]
    assert alert.info[0].area[0].circle == ["-16.053,-173.274 0.0"]
    assert alert_to_json(alert)["sent"] == "2010-08-31T00:09:25-05:00"


@pytest.mark.parametrize(("name", "element"), sorted(REJECTED.items()))
def test_invalid_samples_name_the_element(name: str, element: str) -> None:
    with pytest.raises(CapError) as caught:
        parse_cap_xml(sample(name))
    assert [element] in [error.loc for error in caught.value.errors]


def test_invalid_sample_reports_only_the_missing_scope() -> None:
    with pytest.raises(CapError) as caught:
        parse_cap_xml(sample("invalid.cap"))
    assert [(e.loc, e.msg) for e in caught.value.errors] == [(["scope"], "required element 'scope' is missing")]


def test_noaa_errors_reports_every_problem_with_its_path() -> None:
    with pytest.raises(CapError) as caught:
        parse_cap_xml(sample("noaa_errors.cap"))
    assert [e.path for e in caught.value.errors] == [
        "references",
        "info[0].urgency",
        "info[0].severity",
        "info[0].certainty",
        "info[0].area[0].polygon[0]",
        "info[0].area[0].polygon[1]",
    ]


@pytest.mark.parametrize("name", HOSTILE)
def test_hostile_samples_are_refused_for_their_dtd(name: str) -> None:
    with pytest.raises(CapError) as caught:
        parse_cap_xml(sample(name))
    assert [(e.loc, e.msg) for e in caught.value.errors] == [
        (["body"], "a DOCTYPE (DTD) is not allowed in a CAP document")
    ]


@pytest.mark.parametrize("path", sorted(SAMPLES.glob("*.atom")) + sorted(SAMPLES.glob("*.rss")), ids=lambda p: p.name)
def test_feeds_are_not_alerts(path: Any) -> None:
    """Feeds are for a feed reader; given as an alert they get a clear error, never a crash."""
    with pytest.raises(CapError) as caught:
        parse_cap_xml(path.read_bytes())
    assert caught.value.errors[0].loc == ["body"]
    message = caught.value.errors[0].msg
    assert "unsupported CAP version" in message or "DOCTYPE" in message or "well-formed" in message
