"""RFC 9457 problem responses: every error the API gives has the same shape, naming the field at fault.

    {"type": "about:blank", "title": "Unprocessable Content", "status": 422,
     "detail": "2 problems in the alert", "errors": [{"loc": ["info", 0, "area", 0, "polygon", 0], "msg": "..."}]}

Handlers here translate every exception the API can meet (our own, FastAPI's validation, Starlette's HTTP
errors) into that shape, and turn anything unexpected into a bare 500 that leaks nothing.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from alertsvc.cap import CapError

log = logging.getLogger(__name__)
PROBLEM_JSON = "application/problem+json"


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


def _loc_from_fastapi(loc: Sequence[Any]) -> list[str | int]:
    return [part if isinstance(part, int) else str(part) for part in loc]


def install(app: FastAPI) -> None:
    """Register the problem handlers on ``app``."""

    @app.exception_handler(Problem)
    async def _problem(_request: Request, exc: Problem) -> JSONResponse:
        return problem_response(exc.status, exc.detail, exc.errors, exc.headers)

    @app.exception_handler(CapError)
    async def _cap(_request: Request, exc: CapError) -> JSONResponse:
        errors = [{"loc": list(error.loc), "msg": error.msg} for error in exc.errors]
        count = len(errors)
        return problem_response(422, f"{count} problem{'s' if count != 1 else ''} in the alert", errors)

    @app.exception_handler(RequestValidationError)
    async def _validation(_request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [{"loc": _loc_from_fastapi(error["loc"]), "msg": error["msg"]} for error in exc.errors()]
        return problem_response(422, "the request is not valid", errors)

    @app.exception_handler(StarletteHTTPException)
    async def _http(_request: Request, exc: StarletteHTTPException) -> JSONResponse:
        detail = exc.detail if isinstance(exc.detail, str) else HTTPStatus(exc.status_code).phrase
        return problem_response(exc.status_code, detail, headers=dict(exc.headers or {}))

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return problem_response(500, "internal error; it has been logged")
