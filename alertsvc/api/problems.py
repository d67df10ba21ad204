"""RFC 9457 problem responses: every error the API gives has the same shape, naming the field at fault.

    {"type": "about:blank", "title": "Unprocessable Content", "status": 422,
     "detail": "2 problems in the alert", "errors": [{"loc": ["info", 0, "area", 0, "polygon", 0], "msg": "..."}]}

Handlers here translate every exception the API can meet into that shape: the application's errors
(:mod:`alertsvc.errors`) by one handler and one table from their kind to a status (:data:`STATUS`), so a router
never catches a domain error to answer it; :class:`Problem`, for what only the API refuses (a media type, a
missing key); FastAPI's validation and Starlette's HTTP errors. A database or Redis that does not answer, or a
wait that timed out, is answered as :class:`~alertsvc.errors.Unavailable` (503 with ``Retry-After``: the request
may succeed when repeated), and anything else unexpected a bare 500 that leaks nothing. :class:`ProblemDocument`
is the shape as a schema, for the OpenAPI document (``alertsvc.api.openapi``).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import iter_route_contexts
from pydantic import BaseModel, ConfigDict, Field
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match

from alertsvc.errors import RETRY_UNAVAILABLE_SECONDS, AlertsvcError, Kind, Unavailable
from alertsvc.runtime import UNAVAILABLE

__all__ = [
    "PROBLEM_JSON",
    "RETRY_UNAVAILABLE_SECONDS",
    "STATUS",
    "Problem",
    "ProblemDocument",
    "ProblemError",
    "install",
    "problem_for",
    "problem_response",
]

log = logging.getLogger(__name__)
PROBLEM_JSON = "application/problem+json"

STATUS: dict[Kind, int] = {
    Kind.INVALID: 422,
    Kind.NOT_FOUND: 404,
    Kind.GONE: 410,
    Kind.CONFLICT: 409,
    Kind.FORBIDDEN: 403,
    Kind.RATE_LIMITED: 429,
    Kind.UNAVAILABLE: 503,
}
"""The API's status for each kind of application error: the one place the domain's refusals meet HTTP."""


class ProblemError(BaseModel):
    """One thing wrong with the request: where, and why."""

    model_config = ConfigDict(title="ProblemError")

    loc: list[str | int] = Field(
        description='Path to the field at fault: `["query", "state"]`, `["body", "url"]`, or in a CAP alert '
        '`["info", 0, "area", 0, "polygon", 0]`.'
    )
    msg: str = Field(description="Why it is refused.")


class ProblemDocument(BaseModel):
    """An RFC 9457 problem document: the body of every error answer, served as `application/problem+json`."""

    model_config = ConfigDict(title="Problem")

    type: str = Field(description="Always `about:blank`: the status code says what kind of problem it is.")
    title: str = Field(description="The status code's reason phrase.")
    status: int = Field(ge=400, le=599, description="The HTTP status code, repeated.")
    detail: str = Field(description="What went wrong, in a sentence.")
    errors: list[ProblemError] = Field(description="Each field at fault (empty when no one field is).")


class Problem(Exception):
    """An error answered as a problem document; raise it from anywhere below a router."""

    def __init__(
        self,
        status: int,
        detail: str,
        errors: Sequence[dict[str, Any]] = (),
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.errors = list(errors)
        self.headers = headers


def problem_response(
    status: int, detail: str, errors: Sequence[dict[str, Any]] = (), headers: dict[str, str] | None = None
) -> JSONResponse:
    body: dict[str, Any] = {
        "type": "about:blank",
        "title": HTTPStatus(status).phrase,
        "status": status,
        "detail": detail,
        "errors": list(errors),
    }
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


def problem_for(exc: AlertsvcError) -> JSONResponse:
    """The problem document answering an application error: its kind's status, its message as ``detail``, its
    field errors, and ``Retry-After`` when waiting helps."""
    headers = {"Retry-After": str(exc.retry_after)} if exc.retry_after is not None else None
    return problem_response(STATUS[exc.kind], exc.message, [error.as_dict() for error in exc.errors], headers)


def _loc_from_fastapi(loc: Sequence[Any]) -> list[str | int]:
    return [part if isinstance(part, int) else str(part) for part in loc]


def allowed_methods(request: Request) -> str:
    """The ``Allow`` value for a 405: the methods of every route at the most specific path matching this URL.

    Starlette lists only the first route that matched the path, so ``GET /a/{token}`` and ``POST /a/{token}``,
    declared separately, would each claim to be the only one. "Most specific" is OpenAPI's rule: a concrete path
    (``/api/v1/residents/import``) comes before a templated one (``/api/v1/residents/{ref}``).
    """
    scope = dict(request.scope)
    found: dict[int, set[str]] = {}
    for context in iter_route_contexts(request.app.routes):
        methods = context.methods
        if not methods:
            continue
        match, _ = context.matches(scope)
        if match is not Match.NONE:
            found.setdefault(len(context.param_convertors), set()).update(methods)
    return ", ".join(sorted(found[min(found)])) if found else ""


def install(app: FastAPI) -> None:
    """Register the problem handlers on ``app``."""

    @app.exception_handler(Problem)
    async def _problem(_request: Request, exc: Problem) -> JSONResponse:
        return problem_response(exc.status, exc.detail, exc.errors, exc.headers)

    @app.exception_handler(AlertsvcError)
    async def _refused(request: Request, exc: AlertsvcError) -> JSONResponse:
        if exc.kind is Kind.UNAVAILABLE:
            log.warning("unavailable on %s %s: %s", request.method, request.url.path, type(exc).__name__)
        return problem_for(exc)

    @app.exception_handler(RequestValidationError)
    async def _validation(_request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [{"loc": _loc_from_fastapi(error["loc"]), "msg": error["msg"]} for error in exc.errors()]
        return problem_response(422, "the request is not valid", errors)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        detail = exc.detail if isinstance(exc.detail, str) else HTTPStatus(exc.status_code).phrase
        headers = dict(exc.headers or {})
        if exc.status_code == 405:
            headers["Allow"] = allowed_methods(request) or headers.get("Allow", "")
        return problem_response(exc.status_code, detail, headers=headers)

    async def _unavailable(request: Request, exc: Exception) -> JSONResponse:
        # The class only: a driver's message can carry the statement's parameters (addresses, numbers).
        log.warning("storage unavailable on %s %s: %s", request.method, request.url.path, type(exc).__name__)
        return problem_for(Unavailable())

    for unavailable in UNAVAILABLE:
        app.add_exception_handler(unavailable, _unavailable)
    # A wait that ran out: a database that accepts connections but never answers (a partition, a stalled host)
    # ends in the driver's own timeout (asyncpg's connect timeout raises the builtin TimeoutError, unwrapped), and
    # a bounded wait of ours ends the same way. The request may succeed later: 503, not 500.
    app.add_exception_handler(TimeoutError, _unavailable)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return problem_response(500, "internal error; it has been logged")
