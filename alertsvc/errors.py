"""The application's error tree: what a domain package raises when a request cannot be served, and why.

A domain package (``alerts``, ``residents``, ``security``, ``tracking`` ...) raises these and knows nothing of HTTP.
Each error carries what an answer needs, whoever gives it: its :class:`Kind` (not found, conflict, ...), a
``message`` (the answer's one sentence), field errors (``errors``: where, as ``loc``, and why, as ``msg``) and, when
waiting helps, ``retry_after`` seconds. ``str()`` is the reason, safe to show and to log (no personal data, no
tokens). Each entry side maps the tree once, by kind, and decides the status itself:
:mod:`alertsvc.api.problems` to problem+json for other systems, :mod:`alertsvc.web.errors` to an HTML page for
people (the console's route class and the resident pages' use it). So ``security`` never imports the API to refuse a
request, a page never answers problem+json for the domain, and a router does not catch domain errors one by one.

The tree (the module that defines each class in brackets; a built-in base in parentheses stays for callers that
catch it, e.g. pydantic validators and ``except ValueError``)::

    AlertsvcError                  base; kind, message, errors, retry_after
    ├── InvalidInput (ValueError)  kind invalid: the input breaks a rule; ``errors`` names each field
    │   ├── CapError               [cap.errors] every problem of a CAP document, each at its element's path
    │   ├── CapTimeError           [cap.times] not a CAP date-time
    │   ├── AreaError              [geo.areas] a polygon, circle or zone that cannot be a target
    │   ├── _Refused               [residents.validation] one field of a resident's row (kept as a row problem)
    │   ├── ImportFormatError      [residents.formats] an import that cannot be read as a whole (body.line.N.field)
    │   ├── UnknownEventTypes      [webhooks.registry] event types that do not exist (body.events)
    │   ├── MeetingError           [community.meetings] a meeting that cannot be held as given (body.<field>)
    │   ├── TipError               [community.tips] a tip or a reply that cannot be taken as given (body.<field>)
    │   └── WebhookUrlError        [webhooks.targets] a URL a webhook may not use (body.url)
    ├── NotFound (LookupError)     kind not_found: nothing of that id (for this caller)
    │   ├── AlertNotFound          [alerts.service]
    │   ├── WebhookNotFound        [webhooks.registry] none with that id for this owner
    │   ├── UnknownZone            [community.meetings] no named zone by this name
    │   ├── PriorityNotFound       [community.priorities] no priority of that id (visible to a resident)
    │   ├── TipNotFound            [community.tips] no tip of that id (perhaps purged)
    │   ├── ResidentNotFound       [residents.message_classes] no resident of that id
    │   ├── BadToken               [security.links] a link token we did not make, or not for this purpose
    │   └── AckRefused             [tracking.acks] an answer for no known delivery
    │       ├── AnswersClosed      [tracking.acks] kind gone: the alert expired, answers are no longer taken
    │       └── AnswerRefused      [tracking.answers] kind gone: the alert was cancelled; carries the page's state
    ├── Conflict                   kind conflict: the request is fine but the current state forbids it
    │   ├── LifecycleError         [alerts.service] (ValueError) not a state that allows this action
    │   └── TipClosed              [community.tips] a tip that cannot be answered or blocked (STOP, no contact)
    ├── Forbidden (PermissionError) kind forbidden: this caller may not do this
    │   ├── ActionForbidden        [alerts.service] approving or rejecting needs the alerts:send scope
    │   ├── NotYourZone            [community.priorities] a resident acting on a zone they do not live in
    │   └── CsrfError              [security.csrf] a console form without this session's token
    ├── RateLimited                kind rate_limited: too many requests from one address; ``retry_after``
    ├── Unavailable                kind unavailable: the database or Redis is not answering; ``retry_after``
    └── StartupRefused             kind unavailable: a process must not start against what it found; the command
        │                          line prints it on one line, exit code 2
        ├── SchemaMismatch         [store.migrate] the database's schema is older or newer than the code
        └── MBTilesError           [mbtiles] (ValueError) ALERTSVC_TILES_FILE cannot be served

Not in the tree, because they are the entry sides' own answers rather than the domain's: ``Problem``
(:mod:`alertsvc.api.problems`: an HTTP status and a problem document, for what only the API can refuse, such as a
media type), ``LoginRequired`` and ``ConsoleForbidden`` (:mod:`alertsvc.web.console.route`) and ``PageAnswer``
(:mod:`alertsvc.web.residents`: a resident page's dependency answering with its page). The database's and
Redis' own exceptions (:data:`alertsvc.runtime.UNAVAILABLE`) are answered as :class:`Unavailable` is.

The delivery adapters keep a tree of their own, drawn in :mod:`channels.base` (``ChannelError`` and its
``TransientError``, ``PermanentError`` and ``RateLimited``): ``channels`` imports nothing of ``alertsvc``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, ClassVar

__all__ = [
    "RETRY_UNAVAILABLE_SECONDS",
    "AlertsvcError",
    "Conflict",
    "FieldError",
    "Forbidden",
    "InvalidInput",
    "Kind",
    "Loc",
    "NotFound",
    "RateLimited",
    "StartupRefused",
    "Unavailable",
]

Loc = list[str | int]
"""A path to a field: names and list indices, e.g. ``["body", "url"]`` or, in a CAP alert, ``["info", 0, "area"]``."""

RETRY_UNAVAILABLE_SECONDS = 5
"""What ``Retry-After`` says when the database or Redis did not answer: long enough for a restart to begin."""


class Kind(StrEnum):
    """What sort of refusal an error is; each entry side maps a kind to its status (one table each)."""

    INVALID = "invalid"
    NOT_FOUND = "not_found"
    GONE = "gone"
    CONFLICT = "conflict"
    FORBIDDEN = "forbidden"
    RATE_LIMITED = "rate_limited"
    UNAVAILABLE = "unavailable"


@dataclass(slots=True)
class FieldError:
    """One problem: where (``loc``) and why (``msg``, meant for the person who wrote the input)."""

    loc: Loc
    msg: str

    @property
    def path(self) -> str:
        """``loc`` as one readable string: ``info[0].area[1].polygon[0]``."""
        text = ""
        for part in self.loc:
            if isinstance(part, int):
                text += f"[{part}]"
            else:
                text += f".{part}" if text else part
        return text

    def as_dict(self) -> dict[str, Any]:
        """The form the HTTP API puts in its problem documents."""
        return {"loc": list(self.loc), "msg": self.msg}


class AlertsvcError(Exception):
    """Base of the errors the application's domain packages raise.

    ``str()`` is the reason, safe to show and to log; ``message`` is the answer's one sentence (the reason unless a
    class says it shorter, e.g. "the URL cannot be used" with the reason in ``errors``); ``errors`` names the fields
    at fault; ``retry_after`` is set when trying again later may succeed. A bare ``AlertsvcError`` is a refusal of
    the input as it is (kind ``invalid``); raise a subclass.
    """

    kind: ClassVar[Kind] = Kind.INVALID
    retry_after: int | None = None

    def __init__(self, reason: str, *, message: str | None = None, errors: Iterable[FieldError] = ()) -> None:
        super().__init__(reason)
        self.message = reason if message is None else message
        self.errors: list[FieldError] = list(errors)


class InvalidInput(AlertsvcError, ValueError):
    """The input breaks a rule; ``errors`` names each field at fault (none when the input as a whole is wrong)."""

    kind = Kind.INVALID


class NotFound(AlertsvcError, LookupError):
    """Nothing of that id, or nothing this caller may see ("not found" rather than "not yours")."""

    kind = Kind.NOT_FOUND


class Conflict(AlertsvcError):
    """The request is well formed but the current state forbids it (an alert already sent, a name taken)."""

    kind = Kind.CONFLICT


class Forbidden(AlertsvcError, PermissionError):
    """This caller may not do this (a scope or role it lacks, a form that did not come from its session)."""

    kind = Kind.FORBIDDEN


class RateLimited(AlertsvcError):
    """Too many requests from one client address; it may try again after ``retry_after`` seconds."""

    kind = Kind.RATE_LIMITED

    def __init__(self, retry_after: int, message: str = "too many requests; try again shortly") -> None:
        super().__init__(message)
        self.retry_after = retry_after


class Unavailable(AlertsvcError):
    """The database or Redis is not answering; the same request may succeed after ``retry_after`` seconds.

    The entry sides answer the drivers' own exceptions (:data:`alertsvc.runtime.UNAVAILABLE`) as this error.
    """

    kind = Kind.UNAVAILABLE

    def __init__(
        self,
        reason: str = "the database or Redis is not answering; try again shortly",
        retry_after: int = RETRY_UNAVAILABLE_SECONDS,
    ) -> None:
        super().__init__(reason)
        self.retry_after = retry_after


class StartupRefused(AlertsvcError):
    """A process must not start against what it found; ``str()`` is one line saying what and how to fix it."""

    kind = Kind.UNAVAILABLE
