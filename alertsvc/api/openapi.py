"""Makes ``/openapi.json`` exact: every status an operation can answer, with its media type, schema and headers.

FastAPI documents an operation's success answer and a 422 of its own shape. Everything else an operation can
answer follows from two things, and this module derives the document from both so that it cannot drift from the
code:

* what the operation *depends on*. A dependency registers the problems it can raise with :func:`answers` (or
  :func:`register`, for one defined elsewhere): the API key (401, with ``WWW-Authenticate``), a scope (403), a
  rate limit (429, with ``Retry-After``), the runtime, whose database and Redis may not answer (503, with
  ``Retry-After``), a signed provider form (400, 403, 413, 415). Parameters and bodies FastAPI validates give 422
  when, and only when, a value can fail validation (a required parameter, a constraint, a type that is not text),
  and on an :class:`~alertsvc.api.routing.ApiRoute` when a one-value query parameter is given twice; a body
  FastAPI parses can also fail to parse (400), and a JSON body on an ``ApiRoute`` come as the wrong media type
  (415).
* every operation that takes a body can answer 413: :mod:`alertsvc.http.body_limit` refuses a body over its
  path's limit before the route runs (a problem document under ``/api/`` and ``/hooks/``, a page elsewhere).
* what the operation's *handler* refuses by itself (no such alert: 404; a state that forbids the move: 409; a
  body over the limit: 413 ...), declared beside the handler with ``responses=problems(...)``.

Every error answer is an RFC 9457 problem (``application/problem+json``, the ``Problem`` schema) unless the route
declares other content for it, or its route class renders that status as a page for people (``page_answers``:
the resident links answer a rate limit with an HTML page). FastAPI's own 422 schema, which the service never
sends, is removed.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute, iter_route_contexts
from starlette.routing import BaseRoute

from alertsvc.api.problems import PROBLEM_JSON, ProblemDocument
from alertsvc.api.routing import ApiRoute, optional_query_names, reads_json_body
from alertsvc.http.answers import Declared, answers, declared_by, register
from alertsvc.http.body_limit import answers_as_problem

__all__ = ["answers", "complete", "link", "problem", "problems", "register"]

PROBLEM_REF = "#/components/schemas/Problem"
DESCRIPTIONS: dict[int, str] = {
    400: "The body cannot be parsed (as a form: too many fields; as JSON: not UTF-8).",
    401: "No API key, or one that is malformed, unknown or revoked.",
    403: "The API key lacks the scope this operation needs.",
    404: "Nothing found at this address.",
    409: "The request conflicts with the current state.",
    413: "The body is larger than this operation accepts.",
    415: "The body's Content-Type is not one this operation reads.",
    422: "The request is not valid; `errors` names each field at fault and why.",
    429: "Too many requests from this address; try again after `Retry-After` seconds.",
    503: "The database or Redis is not answering; try again after `Retry-After` seconds.",
}
_RETRY_AFTER = {
    "description": "Seconds to wait before trying again.",
    "required": True,
    "schema": {"type": "string", "pattern": "^[0-9]+$"},
}
HEADERS: dict[int, dict[str, Any]] = {
    401: {
        "WWW-Authenticate": {
            "description": "The scheme to authenticate with: `Bearer`.",
            "required": True,
            "schema": {"type": "string"},
        }
    },
    429: {"Retry-After": _RETRY_AFTER},
    503: {"Retry-After": _RETRY_AFTER},
}
EMPTY_MEANS_ABSENT = "An empty value (`?name=`) is the same as leaving the parameter out."


def problem(status: int, description: str | None = None) -> dict[str, Any]:
    """One problem answer as an OpenAPI response object."""
    response: dict[str, Any] = {
        "description": description or DESCRIPTIONS.get(status, "An error."),
        "content": {PROBLEM_JSON: {"schema": {"$ref": PROBLEM_REF}}},
    }
    if status in HEADERS:
        response["headers"] = dict(HEADERS[status])
    return response


def _page_answers(route: APIRoute) -> frozenset[int]:
    """The statuses ``route``'s class answers as HTML pages rather than problems (a route class says so itself)."""
    answered: frozenset[int] = getattr(type(route), "page_answers", frozenset())
    return answered


def link(path: str, method: str, **parameters: str) -> dict[str, Any]:
    """An OpenAPI link to the operation at ``path``/``method``, its parameters taken from this answer
    (``alert_id="$response.body#/id"``): how a client, or a stateful fuzzer, goes on from a created object."""
    pointer = path.replace("~", "~0").replace("/", "~1")
    return {"operationRef": f"#/paths/{pointer}/{method.lower()}", "parameters": parameters}


def problems(*declared: Declared) -> dict[int | str, dict[str, Any]]:
    """``responses=`` for the problems a handler raises itself: ``problems((404, "No alert with that id."), 409)``."""
    out: dict[int | str, dict[str, Any]] = {}
    for item in declared:
        status, description = item if isinstance(item, tuple) else (item, None)
        out[status] = problem(status, description)
    return out


def _walk(dependant: Dependant) -> list[Dependant]:
    nodes, pending = [], [dependant]
    while pending:
        node = pending.pop()
        nodes.append(node)
        pending.extend(node.dependencies)
    return nodes


def _can_fail(field: Any, location: str) -> bool:
    """Whether validating this parameter can fail: it can be missing, or its value can be refused."""
    info = field.field_info
    if location != "path" and info.is_required():
        return True
    if info.metadata:  # max_length, pattern, ge ...
        return True
    return info.annotation not in (str, str | None)


def derived_answers(route: APIRoute, dependant: Dependant) -> dict[int, list[str]]:
    """The problem statuses an operation can answer because of what it depends on, each with its reasons."""
    found: dict[int, list[str]] = {}

    def add(status: int, description: str | None = None) -> None:
        reasons = found.setdefault(status, [])
        text = description or DESCRIPTIONS[status]
        if text not in reasons:
            reasons.append(text)

    for node in _walk(dependant):
        for item in declared_by(node.call):
            if isinstance(item, tuple):
                add(*item)
            else:
                add(item)
        located = (
            ("path", node.path_params),
            ("query", node.query_params),
            ("header", node.header_params),
            ("cookie", node.cookie_params),
        )
        if any(_can_fail(field, location) for location, fields in located for field in fields):
            add(422)
        if isinstance(route, ApiRoute) and node.query_params:
            add(422)  # a one-value parameter given twice
    if route.body_field is not None:
        add(400)  # FastAPI: a form it cannot parse, or a JSON body that is not UTF-8
        add(422)
        if isinstance(route, ApiRoute) and reads_json_body(route):
            add(415)
    return found


def _merge_content(response: dict[str, Any], media_type: str, schema: dict[str, Any]) -> None:
    response.setdefault("content", {}).setdefault(media_type, {"schema": schema})


def _is_fastapi_422(response: dict[str, Any]) -> bool:
    schema = response.get("content", {}).get("application/json", {}).get("schema", {})
    return bool(schema.get("$ref", "").endswith("/HTTPValidationError"))


def _complete_operation(operation: dict[str, Any], route: APIRoute, dependant: Dependant, path: str) -> None:
    responses: dict[str, Any] = operation.setdefault("responses", {})
    if "422" in responses and _is_fastapi_422(responses["422"]):
        del responses["422"]
    pages = _page_answers(route)
    for status, reasons in derived_answers(route, dependant).items():
        response = responses.setdefault(str(status), {"description": " ".join(reasons)})
        if status in pages:
            _merge_content(response, "text/html", {"type": "string"})
        else:
            _merge_content(response, PROBLEM_JSON, {"$ref": PROBLEM_REF})
    if "requestBody" in operation:  # alertsvc.http.body_limit refuses a body over its path's limit, before the route
        response = responses.setdefault("413", {"description": DESCRIPTIONS[413]})
        if answers_as_problem(path):
            _merge_content(response, PROBLEM_JSON, {"$ref": PROBLEM_REF})
        else:
            _merge_content(response, "text/html", {"type": "string"})
    for key, response in responses.items():
        status = int(key) if key.isdigit() else 0
        if status >= 400 and not response.get("content"):
            _merge_content(response, PROBLEM_JSON, {"$ref": PROBLEM_REF})
        ours = PROBLEM_JSON in response.get("content", {}) or status in pages
        if status in HEADERS and ours:
            response.setdefault("headers", {}).update(HEADERS[status])
    operation["responses"] = dict(sorted(responses.items()))
    if isinstance(route, ApiRoute):
        optional = optional_query_names(dependant)
        for parameter in operation.get("parameters", []):
            if parameter.get("in") == "query" and parameter.get("name") in optional:
                parameter["allowEmptyValue"] = True
                description = parameter.get("description")
                parameter["description"] = f"{description} {EMPTY_MEANS_ABSENT}" if description else EMPTY_MEANS_ABSENT


def _references(document: Any, target: str) -> bool:
    if isinstance(document, dict):
        return document.get("$ref") == target or any(_references(value, target) for value in document.values())
    if isinstance(document, list):
        return any(_references(value, target) for value in document)
    return False


def complete(document: dict[str, Any], routes: Sequence[BaseRoute]) -> dict[str, Any]:
    """Add every derived answer to ``document`` (as made by FastAPI's ``get_openapi`` from ``routes``)."""
    schemas = document.setdefault("components", {}).setdefault("schemas", {})
    problem_schema = ProblemDocument.model_json_schema(ref_template="#/components/schemas/{model}")
    for name, definition in problem_schema.pop("$defs", {}).items():
        schemas[name] = definition
    schemas["Problem"] = problem_schema
    paths: dict[str, Any] = document.get("paths", {})
    for context in iter_route_contexts(routes):
        route = context.original_route
        if not isinstance(route, APIRoute) or not context.include_in_schema:
            continue
        for method in sorted(context.methods or ()):
            operation = paths.get(context.path_format or "", {}).get(method.lower())
            if operation is not None:
                _complete_operation(operation, route, context.dependant, context.path_format or "")
    for name in ("HTTPValidationError", "ValidationError"):
        rest = {key: value for key, value in document.items() if key != "components"}
        others = {key: value for key, value in schemas.items() if key != name}
        if name in schemas and not _references([rest, others], f"#/components/schemas/{name}"):
            del schemas[name]
    return document
