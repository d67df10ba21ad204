"""``/api/v1/residents``: add or update one resident, import many (NDJSON or CSV, streamed), read, delete.

Thin on purpose: the rules live in ``alertsvc.residents`` (validation, storage, import); this module maps HTTP
to them and their refusals to problem documents. Contacts given with a ``residents:write`` key count as
confirmed (the key vouches for them), and no answer ever carries a full phone number or e-mail address.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Annotated, Any, Literal
from urllib.parse import quote

from fastapi import APIRouter, Depends, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from alertsvc.api.deps import require
from alertsvc.api.openapi import link, problems
from alertsvc.api.problems import Problem
from alertsvc.api.routing import ApiRoute
from alertsvc.http.body import read_limited
from alertsvc.http.deps import RuntimeDep
from alertsvc.residents import lookup, removal
from alertsvc.residents.formats import MEDIA_TYPES, format_for_media_type
from alertsvc.residents.importer import import_stream, validation_options
from alertsvc.residents.lookup import ResidentView
from alertsvc.residents.service import NumberedRow, upsert_residents
from alertsvc.residents.validation import CATEGORIES, SEVERITIES, validate_row
from alertsvc.security.principal import Principal
from alertsvc.security.scopes import Scope

router = APIRouter(prefix="/api/v1/residents", tags=["residents"], route_class=ApiRoute)

Writer = Annotated[Principal, Depends(require(Scope.RESIDENTS_WRITE))]
Reader = Annotated[Principal, Depends(require(Scope.RESIDENTS_READ))]

MAX_RESIDENT_BYTES = 64 * 1024
"""One resident is a few hundred bytes; the bulk endpoint is for anything larger."""
LOCATION = {
    "Location": {
        "description": "The resident's address: `/api/v1/residents/{ref}`, the ref percent-encoded.",
        "required": True,
        "schema": {"type": "string"},
    }
}
NO_RESIDENT = (404, "No resident with this ref.")
RESIDENT_LINKS = {
    "GetResident": link("/api/v1/residents/{ref}", "get", ref="$response.body#/ref"),
    "DeleteResident": link("/api/v1/residents/{ref}", "delete", ref="$response.body#/ref"),
}


class ResidentRow(BaseModel):
    """One resident as sent: the JSON body of ``POST /api/v1/residents``, one NDJSON line, or one CSV row
    (same names as columns). Only ``ref``, ``lat`` and ``lon`` are required. On an existing ``ref`` only the
    fields given are changed; a contact left out or empty keeps the resident's current one on that channel.

    The types are what ``alertsvc.residents.validation`` accepts in JSON (a CSV gives every value as text, so
    numbers and flags may come as strings); what a value must mean (a real phone number, a known time zone ...)
    is checked there and refused with 422 naming the field."""

    model_config = ConfigDict(extra="forbid", title="ResidentRow")

    ref: Annotated[str, Field(min_length=1, max_length=100)] | int = Field(
        description="Your own id for this resident; unique. Spaces around it are trimmed."
    )
    lat: Annotated[float, Field(ge=-90, le=90)] | str = Field(
        description="Latitude, WGS 84 degrees (or the number as text)."
    )
    lon: Annotated[float, Field(ge=-180, le=180)] | str = Field(
        description="Longitude, WGS 84 degrees (or the number as text)."
    )
    language: str | None = Field("en", description="BCP 47 language tag, e.g. `en`, `pt-BR`.")
    sms: str | None = Field(None, description="Phone number, international form (`+4915112345678`); stored E.164.")
    email: str | None = Field(None, description="E-mail address; stored normalised.")
    push: str | None = Field(None, description="An apprise push URL, e.g. `ntfys://ntfy.example.org/topic`.")
    categories: list[str] | str | None = Field(
        None, description=f"CAP categories ({', '.join(CATEGORIES)}); a list or `;`/`,`-separated; empty: all."
    )
    min_severity: str | None = Field(None, description=f"One of {', '.join(SEVERITIES)}; empty: everything.")
    test_recipient: bool | Literal[0, 1] | str | None = Field(
        None, description="Receives `Test` and `Exercise` alerts (true/false, 1/0, yes/no)."
    )
    quiet_start: str | None = Field(None, description="Quiet hours start, `HH:MM` local time (with quiet_end).")
    quiet_end: str | None = Field(None, description="Quiet hours end, `HH:MM` local time (with quiet_start).")
    timezone: str | None = Field(None, description="IANA time zone of the quiet hours, e.g. `Europe/Berlin`.")


class ImportProblem(BaseModel):
    line: int
    loc: list[str]
    msg: str


class ImportResult(BaseModel):
    created: int
    updated: int
    rejected: int
    errors: list[ImportProblem]
    errors_truncated: bool


_ROW_SCHEMA = ResidentRow.model_json_schema()
_IMPORT_EXAMPLE_CSV = "ref,lat,lon,language,sms,email,categories\nr-1,52.52,13.40,de,+4915112345678,,Met;Fire\n"
_IMPORT_EXAMPLE_NDJSON = '{"ref": "r-1", "lat": 52.52, "lon": 13.40, "sms": "+4915112345678"}\n'

CREATE_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {
                "schema": _ROW_SCHEMA,
                "example": {"ref": "r-1", "lat": 45.49, "lon": -73.57, "language": "fr", "sms": "+15145550101"},
            }
        },
    }
}
IMPORT_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "description": (
            "Residents, one a line: NDJSON (a JSON object a line) or CSV (a header row with the ResidentRow "
            "field names as columns, then one resident a row). Streamed: any size. Any text is read: a row that "
            "is not a valid resident is refused on its own and reported in the answer (200), with its line; only "
            "an empty body, or a CSV whose header is wrong, refuses the whole import (422). Without a "
            "Content-Type the first line decides (`{`: NDJSON)."
        ),
        "content": {
            **{
                media: {"schema": {"type": "string"}, "example": _IMPORT_EXAMPLE_NDJSON}
                for media in MEDIA_TYPES
                if media != "text/csv"
            },
            "text/csv": {"schema": {"type": "string"}, "example": _IMPORT_EXAMPLE_CSV},
        },
    }
}


def _problems(prefix: list[str], problems: list[tuple[str, str]]) -> list[dict[str, Any]]:
    return [{"loc": [*prefix, field] if field != "row" else prefix, "msg": reason} for field, reason in problems]


def _parse_json_object(body: bytes) -> dict[str, Any]:
    try:
        value = json.loads(body)
    except ValueError:
        raise Problem(422, "the body is not valid JSON", [{"loc": ["body"], "msg": "not valid JSON"}]) from None
    except RecursionError:  # arrays or objects nested past the parser's depth: no resident looks like that
        raise Problem(422, "the body is nested too deeply", [{"loc": ["body"], "msg": "nested too deeply"}]) from None
    if not isinstance(value, dict):
        raise Problem(422, "the body must be a JSON object", [{"loc": ["body"], "msg": "must be a JSON object"}])
    return value


@router.post(
    "",
    status_code=201,
    response_model=ResidentView,
    openapi_extra=CREATE_BODY,
    summary="Add or update one resident",
    responses={
        200: {
            "description": "The ref existed; the resident was updated.",
            "model": ResidentView,
            "headers": LOCATION,
            "links": RESIDENT_LINKS,
        },
        201: {"description": "The resident, created.", "headers": LOCATION, "links": RESIDENT_LINKS},
        **problems(
            (409, "An address belongs to another resident."),
            (413, f"The body is over {MAX_RESIDENT_BYTES} bytes (bulk: POST /api/v1/residents/import)."),
            (415, "Not application/json."),
            (422, "Not a valid resident; every problem is listed with its field."),
        ),
    },
)
async def put_resident(request: Request, response: Response, runtime: RuntimeDep, principal: Writer) -> ResidentView:
    """Create the resident, or update the one with this ``ref``. Contacts count as confirmed; an opted-out
    contact stays opted out."""
    media = request.headers.get("content-type", "application/json").split(";", 1)[0].strip().lower()
    if media != "application/json":
        raise Problem(415, "send the resident as application/json (bulk: POST /api/v1/residents/import)")
    raw = _parse_json_object(await read_limited(request, MAX_RESIDENT_BYTES))
    checked = await asyncio.to_thread(validate_row, raw, validation_options(runtime.settings))
    if isinstance(checked, list):
        count = len(checked)
        detail = f"{count} problem{'s' if count != 1 else ''} in the resident"
        raise Problem(422, detail, _problems(["body"], [(p.field, p.reason) for p in checked]))
    result = await upsert_residents(runtime.sessions, [NumberedRow(1, checked)], principal.name)
    if result.rejected:
        problems = [(problem.field, problem.reason) for _, problem in result.rejected]
        raise Problem(409, problems[0][1], _problems(["body"], problems))
    view = await lookup.read_resident(runtime, checked.ref)
    assert view is not None  # just stored
    if not result.created:
        response.status_code = 200
    response.headers["Location"] = f"{router.prefix}/{quote(checked.ref, safe='')}"
    return view


@router.post(
    "/import",
    response_model=ImportResult,
    openapi_extra=IMPORT_BODY,
    summary="Import residents in bulk (NDJSON or CSV, streamed)",
    responses=problems(
        (415, "Neither NDJSON nor CSV."),
        (422, "The body is empty, or the CSV header is wrong; nothing was imported."),
    ),
)
async def import_residents(request: Request, runtime: RuntimeDep, principal: Writer) -> ImportResult:
    """Create or update every good row; answer counts and, per refused row, its line, field and reason.

    The body is read as it arrives and stored a thousand rows at a time, so there is no size limit and a
    refused row never stops the others. Without a Content-Type, the first line decides the format."""
    content_type = request.headers.get("content-type", "")
    fmt = format_for_media_type(content_type) if content_type else None
    if content_type and fmt is None:
        raise Problem(415, f"send residents as {', '.join(MEDIA_TYPES)}")
    received = 0

    async def counted() -> AsyncIterator[bytes]:
        nonlocal received
        async for chunk in request.stream():
            received += len(chunk)
            yield chunk

    # An unreadable header (ImportFormatError) is answered by api.problems: 422 at body.line.<n>.<field>.
    report = await import_stream(runtime.sessions, counted(), fmt, principal.name, validation_options(runtime.settings))
    if not received:  # nothing was stored: an empty body has no rows
        raise Problem(422, "the body is empty: send NDJSON or CSV rows", [{"loc": ["body"], "msg": "empty"}])
    return ImportResult.model_validate(report.as_dict())


@router.get(
    "/{ref:path}",
    response_model=ResidentView,
    summary="Read one resident (addresses masked)",
    responses=problems(NO_RESIDENT),
)
async def read_resident(ref: str, runtime: RuntimeDep, _principal: Reader) -> ResidentView:
    view = await lookup.read_resident(runtime, ref)
    if view is None:
        raise Problem(404, "no resident with this ref")
    return view


@router.delete(
    "/{ref:path}",
    status_code=204,
    summary="Delete one resident (opt-outs are kept)",
    responses=problems(NO_RESIDENT),
)
async def remove_resident(ref: str, runtime: RuntimeDep, principal: Writer) -> Response:
    """Remove the resident's position, preferences and active contacts. Opted-out contacts are consent
    records and are kept (anonymously), so the address is not messaged again if it is ever re-imported."""
    if await removal.remove_resident(runtime, ref, principal.name) is None:
        raise Problem(404, "no resident with this ref")
    return Response(status_code=204)
