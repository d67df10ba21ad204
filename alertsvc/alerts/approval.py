"""Who may send an alert alone, and who may approve one: the approval policy, in one place.

**Dispatchers (console).** By default every Actual alert of theirs waits for an approver, and Exercise and Test
alerts (which reach test recipients only) do not. A deployment may waive approval for chosen categories
(``ALERTSVC_APPROVAL_EXEMPT_CATEGORIES``, e.g. routine ``Met`` notices) or for alerts reaching at most a given
number of residents (``ALERTSVC_APPROVAL_EXEMPT_MAX_RESIDENTS``); both are off unless configured.

**The two-person rule (people).** The author of an alert never approves it, whatever their role (an admin
neither), and an approver's or admin's own Actual alert waits for another approver like a dispatcher's: the one
who may approve is never the only pair of eyes on a public warning. What waives a dispatcher's approval waives an
approver's too, and ``ALERTSVC_APPROVAL_WAIVED_CATEGORIES`` lets those who may approve send their own Actual
alerts alone in chosen categories (off by default). Every alert that goes out by a waiver says so in its
``alert.submit`` audit row. A Cancel from someone who may approve goes at once: a correction must not wait.

**API keys** are not governed by the console's policy: their scope decides (``alerts:send`` sends, ``alerts:write``
waits), as the contract says; the author rule holds for them too (a key never approves what it submitted).

:mod:`alertsvc.alerts.service` asks :func:`sends_at_once`, :func:`waiver_note` and :func:`may_approve`; the console
asks :func:`sends_alone` before it submits.
"""

from __future__ import annotations

from alertsvc.cap import Alert as CapAlert
from alertsvc.security.principal import Principal
from alertsvc.security.scopes import Scope
from alertsvc.settings import Settings

TWO_PERSON_STATUS = "Actual"
"""The status whose alerts the two-person rule covers (Exercise and Test reach test recipients only)."""
PERSON_PREFIX = "user:"
"""A console user's principal name (``user:ID``); keys are ``key:NAME``, the service itself ``system``."""


def _categories(cap: CapAlert) -> set[str]:
    return {str(category) for info in cap.info for category in info.category}


def _all_among(cap: CapAlert, allowed: list[str]) -> bool:
    """Every category of the alert is in ``allowed`` (an alert with no category is never covered)."""
    categories = _categories(cap)
    return bool(allowed and categories and categories <= set(allowed))


def needs_second_person(cap: CapAlert, reach: int | None, settings: Settings) -> bool:
    """Whether a dispatcher may not send this alert alone. Unknown reach never waives anything."""
    if str(cap.status) not in settings.approval_required_statuses:
        return False
    if _all_among(cap, settings.approval_exempt_categories):
        return False
    limit = settings.approval_exempt_max_residents
    return not (limit > 0 and reach is not None and reach <= limit)


def is_person(principal: Principal) -> bool:
    """A console user, as opposed to an API key or the service itself."""
    return principal.name.startswith(PERSON_PREFIX)


def two_person_rule_applies(cap: CapAlert, principal: Principal) -> bool:
    """Whether this submitter's alert must wait for someone else although they may approve alerts: a person's
    Actual alert (a Cancel excepted)."""
    return is_person(principal) and str(cap.status) == TWO_PERSON_STATUS and str(cap.msg_type) != "Cancel"


def sends_alone(cap: CapAlert, reach: int | None, principal: Principal, settings: Settings) -> bool:
    """Whether a console user's alert goes out without another person's approval (the console passes this to
    the submission as ``approval_waived``). ``reach``: the residents it reaches, None when unknown."""
    if not needs_second_person(cap, reach, settings):
        return True
    return principal.can(Scope.ALERTS_SEND) and _all_among(cap, settings.approval_waived_categories)


def sends_at_once(cap: CapAlert, principal: Principal, approval_waived: bool) -> bool:
    """Whether a new broadcast alert starts approved: waived by the console's policy, or submitted by someone
    who may send and whom the two-person rule does not hold back (an API key with ``alerts:send``, or a person's
    Cancel)."""
    if approval_waived:
        return True
    return principal.can(Scope.ALERTS_SEND) and not two_person_rule_applies(cap, principal)


def waiver_note(cap: CapAlert, principal: Principal, approval_waived: bool) -> dict[str, str]:
    """What the ``alert.submit`` audit row says about a waiver used (empty when none was needed)."""
    if not approval_waived:
        return {}
    if not principal.can(Scope.ALERTS_SEND):
        return {"approval": "waived by policy"}
    if two_person_rule_applies(cap, principal):
        return {"approval": "two-person rule waived by policy", "categories": ",".join(sorted(_categories(cap)))}
    return {}


def may_approve(submitted_by: str, principal: Principal) -> bool:
    """Whether ``principal`` may approve an alert ``submitted_by`` someone: never their own, whatever their role
    (the scope to approve at all is the caller's to check)."""
    return submitted_by != principal.name
