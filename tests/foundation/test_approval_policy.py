"""Which console alerts need a second person: Actual always by default; configurable waivers by category and size;
the two-person rule for those who may approve, and its waiver by category."""

from __future__ import annotations

from pathlib import Path

from alertsvc.alerts.approval import may_approve, needs_second_person, sends_alone, sends_at_once, waiver_note
from alertsvc.cap import parse_cap_json
from alertsvc.security.principal import Principal
from alertsvc.security.scopes import ROLE_SCOPES, Role, Scope
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


def _person(*scopes: Scope) -> Principal:
    return Principal("user:7", frozenset(scopes or ROLE_SCOPES[Role.APPROVER]))


def test_the_two_person_rule_holds_a_persons_actual_alert_but_not_a_keys(tmp_path: Path) -> None:
    actual = parse_cap_json(cap_alert(status="Actual"))
    key = Principal("key:cad", frozenset({Scope.ALERTS_SEND}))
    assert sends_at_once(actual, key, approval_waived=False)  # the API's contract: alerts:send sends
    assert not sends_at_once(actual, _person(), approval_waived=False)
    assert not sends_at_once(actual, _person(Scope.ADMIN), approval_waived=False)
    assert sends_at_once(parse_cap_json(cap_alert(status="Exercise")), _person(), approval_waived=False)
    cancel = parse_cap_json(cap_alert(status="Actual", msg_type="Cancel", references="a,b,2024-01-01T00:00:00+00:00"))
    assert sends_at_once(cancel, _person(), approval_waived=False)  # a correction does not wait
    assert not sends_at_once(actual, _person(*ROLE_SCOPES[Role.DISPATCHER]), approval_waived=False)
    assert sends_at_once(actual, _person(*ROLE_SCOPES[Role.DISPATCHER]), approval_waived=True)


def test_the_waiver_is_by_category_for_those_who_may_approve_and_every_use_is_noted(tmp_path: Path) -> None:
    config = settings(tmp_path, approval_waived_categories=["Met"])
    dispatcher = _person(*ROLE_SCOPES[Role.DISPATCHER])
    met, fire = parse_cap_json(cap_alert(category="Met")), parse_cap_json(cap_alert(category="Fire"))
    assert sends_alone(met, 10, _person(), config) and not sends_alone(fire, 10, _person(), config)
    assert not sends_alone(met, 10, dispatcher, config)
    assert not sends_alone(met, 10, _person(), settings(tmp_path))  # off by default
    exempt = settings(tmp_path, approval_exempt_max_residents=50)  # what exempts a dispatcher exempts an approver
    assert sends_alone(fire, 50, _person(), exempt) and sends_alone(fire, 50, dispatcher, exempt)
    assert waiver_note(met, _person(), approval_waived=True) == {
        "approval": "two-person rule waived by policy",
        "categories": "Met",
    }
    assert waiver_note(met, dispatcher, approval_waived=True) == {"approval": "waived by policy"}
    assert waiver_note(met, _person(), approval_waived=False) == {}


def test_nobody_approves_their_own_alert() -> None:
    assert not may_approve("user:7", _person(Scope.ADMIN))
    assert may_approve("user:8", _person())
    assert not may_approve("key:cad", Principal("key:cad", frozenset(Scope)))
