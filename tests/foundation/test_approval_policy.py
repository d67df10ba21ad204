"""Which console alerts need a second person: Actual always by default; configurable waivers by category and size."""

from __future__ import annotations

from pathlib import Path

from alertsvc.alerts.approval import needs_second_person
from alertsvc.cap import parse_cap_json
from alertsvc.settings import Settings
from tests.factories import cap_alert


def settings(tmp_path: Path, **values: object) -> Settings:
    return Settings(_env_file=None, data_dir=tmp_path, **values)  # type: ignore[arg-type]


def test_defaults_actual_needs_an_approver_drills_do_not(tmp_path: Path) -> None:
    config = settings(tmp_path)
    assert needs_second_person(parse_cap_json(cap_alert(status="Actual")), 5, config)
    assert not needs_second_person(parse_cap_json(cap_alert(status="Exercise")), 5, config)
    assert not needs_second_person(parse_cap_json(cap_alert(status="Test")), 5_000, config)


def test_category_waiver_needs_every_category_exempt(tmp_path: Path) -> None:
    config = settings(tmp_path, approval_exempt_categories=["Met"])
    assert not needs_second_person(parse_cap_json(cap_alert(category="Met")), 10_000, config)
    assert needs_second_person(parse_cap_json(cap_alert(category="Fire")), 10_000, config)


def test_size_waiver_and_unknown_reach(tmp_path: Path) -> None:
    config = settings(tmp_path, approval_exempt_max_residents=50)
    assert not needs_second_person(parse_cap_json(cap_alert()), 50, config)
    assert needs_second_person(parse_cap_json(cap_alert()), 51, config)
    assert needs_second_person(parse_cap_json(cap_alert()), None, config)
