"""Log lines without secrets: the token of every signed resident link, phone numbers and e-mail addresses are
redacted from each record before any handler writes it.

The access log records every request's path and query, and the paths of the resident links *are* their secrets:
whoever reads ``GET /a/12ab.Xy...`` in a log can answer for that resident, ``/u/...`` unsubscribes them and
``/r/manage/...`` opens their preferences. Logs are kept, shipped and shared far more widely than the database, so
they get ``/a/<redacted>`` instead. The paths to redact are read from the application's routes (every route with a
``{token}`` parameter, so a new signed link is covered the day it is added) on top of the known ones.

:func:`install` puts one :class:`Redactor` on the ``uvicorn.access`` logger and on every handler configured at the
time (the root's from ``logging.basicConfig``, uvicorn's own), so records of any logger, ours and the libraries',
pass through it: ``alertsvc serve`` calls it once uvicorn has configured its logging, every other command at start.
It also puts :class:`QuietSuccess` first on the access logger: an answered status callback gets no line.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Iterator
from typing import Any, Final

__all__ = [
    "KNOWN_TOKEN_PREFIXES",
    "QUIET_WHEN_ANSWERED",
    "REDACTED",
    "QuietSuccess",
    "Redactor",
    "install",
    "route_paths",
    "token_prefixes",
]

REDACTED: Final = "<redacted>"
KNOWN_TOKEN_PREFIXES: Final = ("/a/", "/u/", "/r/confirm/", "/r/manage/")
"""Paths followed by a signed token (acknowledge, unsubscribe, confirm a contact, manage preferences)."""
_PARAMETER = re.compile(r"\{([^{}:]+)(?::[^{}]*)?\}")
_SEGMENT = r"[^/?#\s\"'<>]+"
_PHONE = r"(?<![\w%])(?:\+|%2[Bb])[1-9]\d{6,14}(?!\d)"
"""E.164 numbers, also percent-encoded in a query string (``to=%2B15145550111``)."""
_EMAIL = r"[\w.+-]+(?:@|%40)[\w-]+(?:\.[\w-]+)+"


def route_paths(app: Any) -> Iterator[str]:
    """The path of every route of ``app``, whichever way this FastAPI keeps included routers."""
    for route in getattr(app, "routes", ()):
        contexts = getattr(route, "effective_route_contexts", None)
        if contexts is not None:  # FastAPI 0.16x resolves included routers lazily
            yield from (str(context.path) for context in contexts())
        elif isinstance(getattr(route, "path", None), str):
            yield route.path


def token_prefixes(app: Any) -> set[str]:
    """The path patterns (as regular expressions) that precede a ``{token}`` in ``app``'s routes."""
    found: set[str] = set()
    for path in route_paths(app):
        for match in _PARAMETER.finditer(path):
            if "token" in match.group(1):
                before = path[: match.start()]
                pieces = _PARAMETER.split(before)[::2]  # the literal text between the parameters
                found.add(_SEGMENT.join(re.escape(piece) for piece in pieces))
                break
    return found


class Redactor(logging.Filter):
    """Rewrites a record's message and arguments (and its traceback) with secrets replaced; never drops one.

    Arguments are redacted one by one first, because some formatters read them (uvicorn's access formatter
    unpacks ``record.args`` into client, method, path, version and status); only when the message they make still
    has a secret (in the text itself, or split between it and an argument) is the record's message replaced by the
    redacted whole, without arguments.
    """

    def __init__(self, prefixes: Iterable[str] = ()) -> None:
        super().__init__()
        paths = sorted({re.escape(p) for p in KNOWN_TOKEN_PREFIXES} | set(prefixes), key=len, reverse=True)
        self._pattern = re.compile(rf"(?P<path>{'|'.join(paths)}){_SEGMENT}|(?P<phone>{_PHONE})|(?P<email>{_EMAIL})")

    def _replace(self, match: re.Match[str]) -> str:
        if match.group("path") is not None:
            return match.group("path") + REDACTED
        return "<phone>" if match.group("phone") is not None else "<e-mail>"

    def redact(self, text: str) -> str:
        """``text`` with every token path, phone number and e-mail address replaced."""
        return self._pattern.sub(self._replace, text)

    def _argument(self, value: Any) -> Any:
        if isinstance(value, str):
            return self.redact(value)
        if value is None or isinstance(value, int | float):
            return value
        text = str(value)  # a URL object, an exception: redacted only if it needs it, so %r and %d keep working
        redacted = self.redact(text)
        return value if redacted == text else redacted

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(self._argument(arg) for arg in record.args)
        elif isinstance(record.args, dict):
            record.args = {key: self._argument(value) for key, value in record.args.items()}
        try:
            message = record.getMessage()
        except Exception:  # a malformed call: logging itself reports it when it formats
            return True
        redacted = self.redact(message)
        if redacted != message:  # a secret in the text itself, or split between it and an argument
            record.msg, record.args = redacted, ()
        if record.exc_info and not record.exc_text:
            record.exc_text = self.redact(logging.Formatter().formatException(record.exc_info))
        return True


QUIET_WHEN_ANSWERED: Final = frozenset({"/hooks/twilio/status"})
"""Paths whose answered (2xx) requests get no access-log line: Twilio's status callbacks, thousands a second
during a large alert, each line the same and saying nothing a delivery's state does not (bench/README.md: the
line cost ~8 % of a callback's CPU). Their refusals (403 forged, 413, 422, 503 ...) are logged as always."""


class QuietSuccess(logging.Filter):
    """Drops uvicorn's access-log record of a 2xx answer to a :data:`QUIET_WHEN_ANSWERED` path; keeps every other.

    Put first on the ``uvicorn.access`` logger, so a dropped record costs no redaction. uvicorn's arguments are
    (client, method, path with query, HTTP version, status)."""

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if not isinstance(args, tuple) or len(args) != 5:
            return True
        path, status = args[2], args[4]
        if not isinstance(path, str) or not isinstance(status, int) or not 200 <= status < 300:
            return True
        return path.partition("?")[0] not in QUIET_WHEN_ANSWERED


def _handlers() -> list[logging.Handler]:
    loggers = [logging.getLogger(), *(obj for obj in logging.Logger.manager.loggerDict.values()
                                      if isinstance(obj, logging.Logger))]  # fmt: skip
    handlers: list[logging.Handler] = []
    for logger in loggers:
        handlers.extend(handler for handler in logger.handlers if handler not in handlers)
    return handlers


def install(app: Any = None) -> Redactor:
    """Redact the records of every logger from now on (see the module's docstring); ``app`` adds its token paths.

    Installing again replaces the earlier redactor (the routes are known only once the app is built)."""
    redactor = Redactor(token_prefixes(app) if app is not None else ())
    access = logging.getLogger("uvicorn.access")
    targets: list[logging.Filterer] = [access, *_handlers()]
    for target in targets:
        for old in [f for f in target.filters if isinstance(f, Redactor | QuietSuccess)]:
            target.removeFilter(old)
        target.addFilter(redactor)
    access.filters.insert(0, QuietSuccess())  # before the redactor: a dropped line is not redacted first
    return redactor
