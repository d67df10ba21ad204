"""The application's error tree (``alertsvc/errors.py``): every error of the application is in it, the tree drawn in
its docstring is the classes' tree, and every error has an answer on both edges, problem+json for the API
(``alertsvc.api.problems``) and a page for people (``alertsvc.web.errors``, through the console's and the resident
pages' route classes), the API's answers being the ones it has always given."""

from __future__ import annotations

import importlib
import pkgutil
import re
from collections.abc import Iterator
from http import HTTPStatus
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import httpx
import pytest
from fastapi import APIRouter, FastAPI
from fastapi.routing import APIRoute

import alertsvc
from alertsvc import errors
from alertsvc.alerts.service import ActionForbidden, AlertNotFound, LifecycleError
from alertsvc.api import problems
from alertsvc.cap.errors import CapError
from alertsvc.cap.times import CapTimeError
from alertsvc.community.meetings import MeetingError, UnknownZone
from alertsvc.community.priorities import NotYourZone, PriorityNotFound
from alertsvc.community.tips import TipClosed, TipError, TipNotFound
from alertsvc.errors import (
    AlertsvcError,
    Conflict,
    FieldError,
    Forbidden,
    InvalidInput,
    Kind,
    NotFound,
    RateLimited,
    StartupRefused,
    Unavailable,
)
from alertsvc.geo.areas import AreaError
from alertsvc.mbtiles import MBTilesError
from alertsvc.residents.formats import ImportFormatError
from alertsvc.residents.message_classes import ResidentNotFound
from alertsvc.residents.validation import _Refused
from alertsvc.security.csrf import CsrfError
from alertsvc.security.links import BadToken
from alertsvc.store.migrate import SchemaMismatch
from alertsvc.store.models import Alert
from alertsvc.tracking.acks import AckRefused, AckTarget, AnswersClosed
from alertsvc.tracking.answers import Answered, AnswerRefused, Open
from alertsvc.web.console.route import NO_SUCH_ALERT, TOO_MANY_ATTEMPTS, ConsoleRoute
from alertsvc.web.errors import PAGE_STATUS, PageError, page_error
from alertsvc.web.pages import TOO_MANY_TEXT, PageRoute
from alertsvc.webhooks.registry import UnknownEventTypes, WebhookNotFound
from alertsvc.webhooks.targets import WebhookUrlError
from tests.conftest import make_settings

EDGE_ANSWERS = {
    "alertsvc.api.problems.Problem",
    "alertsvc.web.console.route.LoginRequired",
    "alertsvc.web.console.route.ConsoleForbidden",
    "alertsvc.web.residents.PageAnswer",
}
"""The only exceptions of the application outside the tree: the entry sides' own answers (the docstring says why)."""
NOT_IMPORTABLE = {"alertsvc.store.migrations.env"}
"""Alembic's environment script runs only inside alembic."""

SAMPLES: list[AlertsvcError] = [
    AlertsvcError("refused"),
    InvalidInput("not valid", errors=[FieldError(["body", "name"], "too long")]),
    CapError.at(["info", 0, "area", 0, "polygon", 0], "the polygon crosses itself"),
    CapTimeError("'tomorrow' is not a CAP date-time like 2024-05-01T14:00:00-05:00"),
    AreaError("latitude 91.0 is outside -90..90"),
    _Refused("must be a string"),
    ImportFormatError(1, "header", "a column name appears twice"),
    UnknownEventTypes(["alert.exploded"]),
    WebhookUrlError("URL must be http:// or https:// with a host"),
    NotFound("nothing here"),
    AlertNotFound("2f0c-unknown"),
    UnknownZone("Atlantis"),
    PriorityNotFound("no priority with that id"),
    ResidentNotFound("no resident with this id"),
    MeetingError("ends_at", "the meeting must end after it starts"),
    TipError("text", "write your tip"),
    TipNotFound("no tip with that id"),
    TipClosed("the tipster ended this conversation"),
    NotYourZone("the resident does not live in this zone"),
    WebhookNotFound(7),
    BadToken("invalid link"),
    AckRefused("this link is not valid"),
    AnswersClosed("this alert has expired; answers are no longer collected"),
    AnswerRefused(Answered(AckTarget(1, Alert(id="a"), 1), Open(answers_closed=True), "fr")),
    Conflict("that name is taken"),
    LifecycleError("alert is sent, only a pending_approval alert can be approved"),
    Forbidden("not for you"),
    ActionForbidden("approving needs the alerts:send scope"),
    CsrfError("the form has expired or did not come from this console; reload the page and try again"),
    RateLimited(7),
    Unavailable(),
    StartupRefused("Redis may evict keys"),
    SchemaMismatch("the database schema is older than this alertsvc's"),
    MBTilesError("ALERTSVC_TILES_FILE is not an MBTiles file"),
]
"""One error of every class in the tree."""

KEPT: dict[type[AlertsvcError], tuple[int, str, list[dict[str, Any]], str | None]] = {
    CapError: (422, "1 problem in the alert", [{"loc": ["info", 0, "area", 0, "polygon", 0],
                                                 "msg": "the polygon crosses itself"}], None),
    ImportFormatError: (422, "a column name appears twice", [{"loc": ["body", "line", 1, "header"],
                                                               "msg": "a column name appears twice"}], None),
    UnknownEventTypes: (422, "unknown event type", [{"loc": ["body", "events"],
                                                     "msg": "unknown: alert.exploded"}], None),
    WebhookUrlError: (422, "the URL cannot be used", [{"loc": ["body", "url"],
                                                       "msg": "URL must be http:// or https:// with a host"}], None),
    AlertNotFound: (404, "no alert with that id", [], None),
    WebhookNotFound: (404, "no webhook with that id", [], None),
    LifecycleError: (409, "alert is sent, only a pending_approval alert can be approved", [], None),
    ActionForbidden: (403, "approving needs the alerts:send scope", [], None),
    RateLimited: (429, "too many requests; try again shortly", [], "7"),
    Unavailable: (503, "the database or Redis is not answering; try again shortly", [], "5"),
}  # fmt: skip
"""The answers the API gave before the tree (each router mapped its own), kept exactly: status, detail, errors and
Retry-After."""


def _subclasses(cls: type[BaseException]) -> Iterator[type[BaseException]]:
    for sub in cls.__subclasses__():
        yield sub
        yield from _subclasses(sub)


@pytest.fixture(scope="module")
def application_errors() -> list[type[BaseException]]:
    """Every exception class the application defines, once all its modules are imported."""
    for info in pkgutil.walk_packages(alertsvc.__path__, "alertsvc."):
        if info.name not in NOT_IMPORTABLE:
            importlib.import_module(info.name)
    return sorted(
        {cls for cls in _subclasses(BaseException) if cls.__module__.startswith("alertsvc.")},
        key=lambda cls: f"{cls.__module__}.{cls.__qualname__}",
    )


def _name(cls: type[BaseException]) -> str:
    return f"{cls.__module__}.{cls.__qualname__}"


def test_every_error_of_the_application_is_in_the_tree(application_errors: list[type[BaseException]]) -> None:
    outside = {_name(cls) for cls in application_errors if not issubclass(cls, AlertsvcError)} - EDGE_ANSWERS
    assert not outside, f"put these under alertsvc.errors (and draw them in its docstring): {sorted(outside)}"


def _drawn_tree() -> dict[str, tuple[str | None, str | None]]:
    """The docstring's tree: class name -> (parent's name, module in brackets)."""
    doc = errors.__doc__ or ""
    block = doc.split("::\n\n", 1)[1].split("\n\n", 1)[0]
    drawn: dict[str, tuple[str | None, str | None]] = {}
    stack: list[tuple[int, str]] = []
    for line in block.splitlines():
        found = re.match(r"    (AlertsvcError)\b", line) or re.search(r"── (\w+)", line)
        if found is None:
            continue  # a description running on from the line above
        column, name = found.start(1), found.group(1)
        while stack and stack[-1][0] >= column:
            stack.pop()
        module = re.search(r"\[([\w.]+)\]", line)
        drawn[name] = (stack[-1][1] if stack else None, f"alertsvc.{module.group(1)}" if module else None)
        stack.append((column, name))
    return drawn


def test_the_drawn_tree_is_the_tree_of_the_classes(application_errors: list[type[BaseException]]) -> None:
    classes = {cls.__name__: cls for cls in application_errors if issubclass(cls, AlertsvcError)} | {
        "AlertsvcError": AlertsvcError
    }
    drawn = _drawn_tree()
    assert set(drawn) == set(classes)
    for name, (parent, module) in drawn.items():
        cls = classes[name]
        base = next((b for b in cls.__bases__ if issubclass(b, AlertsvcError)), None)
        assert (base.__name__ if base else None) == parent, name
        assert cls.__module__ == (module or "alertsvc.errors"), name


def test_every_kind_has_a_status_on_both_edges() -> None:
    assert set(problems.STATUS) == set(Kind) == set(PAGE_STATUS)


def test_there_is_a_sample_of_every_error(application_errors: list[type[BaseException]]) -> None:
    in_tree = {cls for cls in application_errors if issubclass(cls, AlertsvcError)} | {AlertsvcError}
    assert {type(sample) for sample in SAMPLES} == in_tree


def _raising(route_class: type, exc: Exception) -> FastAPI:
    """An app with one route of ``route_class`` that raises ``exc``, the API's handlers installed app-wide."""
    app = FastAPI()
    problems.install(app)
    router = APIRouter(route_class=route_class)

    @router.get("/raise")
    async def _raise() -> None:
        raise exc

    app.include_router(router)
    return app


async def _get(app: FastAPI) -> httpx.Response:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as client:
        return await client.get("/raise")


@pytest.mark.parametrize("error", SAMPLES, ids=lambda error: type(error).__name__)
async def test_the_api_answers_every_error_by_its_kind(error: AlertsvcError) -> None:
    response = await _get(_raising(APIRoute, error))
    status = problems.STATUS[error.kind]
    assert response.status_code == status
    assert response.headers["content-type"].startswith("application/problem+json")
    body = response.json()
    assert body == {
        "type": "about:blank",
        "title": HTTPStatus(status).phrase,
        "status": status,
        "detail": error.message,
        "errors": [field.as_dict() for field in error.errors],
    }
    assert response.headers.get("retry-after") == (str(error.retry_after) if error.retry_after is not None else None)
    if type(error) in KEPT:
        kept_status, detail, field_errors, retry_after = KEPT[type(error)]
        assert (response.status_code, body["detail"], body["errors"]) == (kept_status, detail, field_errors)
        assert response.headers.get("retry-after") == retry_after


@pytest.mark.parametrize("error", SAMPLES, ids=lambda error: type(error).__name__)
async def test_the_resident_pages_answer_every_error_with_a_page(error: AlertsvcError) -> None:
    response = await _get(_raising(PageRoute, error))
    status = PAGE_STATUS[error.kind]
    if status is None:  # storage not answering: the app-wide problem, as for the drivers' own errors
        assert response.status_code == problems.STATUS[error.kind]
        assert response.headers["content-type"].startswith("application/problem+json")
        return
    assert response.status_code == status
    assert response.headers["content-type"].startswith("text/html")
    text = TOO_MANY_TEXT if isinstance(error, RateLimited) else error.message
    assert _html_text(text) in response.text
    assert response.headers.get("retry-after") == (str(error.retry_after) if error.retry_after is not None else None)


def _html_text(text: str) -> str:
    return text.replace("'", "&#39;")


@pytest.mark.parametrize("error", SAMPLES, ids=lambda error: type(error).__name__)
async def test_the_console_answers_every_error_with_a_page(error: AlertsvcError, tmp_path: Path) -> None:
    app = _raising(ConsoleRoute, error)
    settings = make_settings(tmp_path, f"sqlite+aiosqlite:///{tmp_path / 'db.sqlite3'}", "redis://127.0.0.1:1")
    app.state.runtime = SimpleNamespace(settings=settings)  # the pages read the basemap from the settings
    response = await _get(app)
    status = PAGE_STATUS[error.kind]
    if status is None:
        assert response.status_code == problems.STATUS[error.kind]
        assert response.headers["content-type"].startswith("application/problem+json")
        return
    assert response.status_code == status
    assert response.headers["content-type"].startswith("text/html")
    expected = {RateLimited: TOO_MANY_ATTEMPTS, AlertNotFound: NO_SUCH_ALERT}.get(type(error), error.message)
    assert _html_text(expected) in response.text
    assert response.headers.get("retry-after") == (str(error.retry_after) if error.retry_after is not None else None)


def test_a_page_uses_the_words_given_for_the_nearest_class() -> None:
    texts: dict[type[AlertsvcError], str] = {NotFound: "Nothing here.", AckRefused: "That link is not valid."}
    assert page_error(AnswersClosed("expired"), texts) == PageError(410, "That link is not valid.")
    found = page_error(AlertNotFound("a"), texts)
    assert found is not None and (found.status, found.text) == (404, "Nothing here.")
    plain = page_error(LifecycleError("alert is sent"))
    assert plain is not None and (plain.status, plain.text) == (409, "alert is sent")
    assert page_error(Unavailable()) is None
