"""The route class of every API router: an empty optional query parameter is an absent one, a parameter that takes
one value is given at most once, and a JSON body must come as JSON (415 otherwise).

Why here, once, and not in each handler:

* Clients (and the contract's own examples: ``/deliveries?cursor=&state=&channel=``) write every parameter and
  leave the unused ones empty. ``?state=`` must mean "no filter", not "the state named ''" (a 422 on the enum),
  and a handler can no longer tell the two apart once FastAPI has validated the value. So the route drops empty
  values of the parameters it declares as optional before validation. It does this per route rather than as an
  ASGI middleware for the whole app because only the route knows which parameters are optional: a *required*
  parameter sent empty keeps its own validation message, and pages that read raw query strings are not touched.
* FastAPI reads ``?state=sent&state=failed`` as ``failed`` and drops the rest without a word; a client that meant
  both filters would get neither. A parameter that takes one value and is given twice is a 422 naming it.
* FastAPI validates a body of any media type against the JSON model and answers 422 "Input should be a valid
  dictionary"; a client that sent the wrong Content-Type is better told so, with 415.

The OpenAPI document says both (``allowEmptyValue`` on those parameters, a 415 answer): ``alertsvc.api.openapi``
reads :func:`optional_query_names` and :func:`reads_json_body` from here, so the document and the behaviour cannot
drift apart.
"""

from __future__ import annotations

import types
import typing
from collections import Counter
from collections.abc import Callable, Coroutine, Sequence
from typing import Any
from urllib.parse import unquote_plus

from fastapi import Request, Response
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute

from alertsvc.api.problems import Problem

JSON_MEDIA_HINT = "application/json"


def _query_fields(dependant: Dependant) -> list[Any]:
    fields, pending = [], [dependant]
    while pending:
        node = pending.pop()
        fields.extend(node.query_params)
        pending.extend(node.dependencies)
    return fields


def optional_query_names(dependant: Dependant) -> frozenset[str]:
    """The names (aliases) of every optional query parameter of ``dependant`` and its sub-dependencies."""
    return frozenset(field.alias for field in _query_fields(dependant) if not field.field_info.is_required())


def _takes_many(annotation: Any) -> bool:
    """Whether a parameter's type is a list (``?tag=a&tag=b``), alone or in a union with ``None``."""
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        return any(_takes_many(arg) for arg in typing.get_args(annotation))
    return isinstance(origin, type) and issubclass(origin, Sequence) and origin is not str


def single_query_names(dependant: Dependant) -> frozenset[str]:
    """The names of the query parameters that take one value."""
    return frozenset(field.alias for field in _query_fields(dependant) if not _takes_many(field.field_info.annotation))


def repeated(query_string: bytes, names: frozenset[str]) -> list[str]:
    """Which of ``names`` ``query_string`` gives more than once, in order."""
    counts = Counter(unquote_plus(pair.partition(b"=")[0].decode("latin-1")) for pair in query_string.split(b"&"))
    return sorted(name for name, count in counts.items() if count > 1 and name in names)


def reads_json_body(route: APIRoute) -> bool:
    """Whether FastAPI parses this route's body as JSON (a model or ``Body()`` parameter, not a form)."""
    from fastapi import params

    field = route.body_field
    return field is not None and not isinstance(field.field_info, params.Form)


def drop_empty(query_string: bytes, names: frozenset[str]) -> bytes:
    """``query_string`` without the pairs that give one of ``names`` an empty value; every other byte kept as sent."""
    kept = []
    for pair in query_string.split(b"&"):
        name, _, value = pair.partition(b"=")
        if not value and unquote_plus(name.decode("latin-1")) in names:
            continue
        kept.append(pair)
    return b"&".join(kept)


def is_json(content_type: str) -> bool:
    """``application/json`` or any ``application/*+json``: what FastAPI itself parses as JSON."""
    media = content_type.split(";", 1)[0].strip().lower()
    maintype, _, subtype = media.partition("/")
    return maintype == "application" and (subtype == "json" or subtype.endswith("+json"))


class ApiRoute(APIRoute):
    """An ``APIRoute`` that drops empty optional query parameters, refuses one given twice, and refuses non-JSON
    bodies (see above)."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()
        optional = optional_query_names(self.dependant)
        single = single_query_names(self.dependant)
        json_body = reads_json_body(self)

        async def route_handler(request: Request) -> Response:
            query_string: bytes = request.scope.get("query_string", b"")
            if optional and query_string:
                # Before anything reads request.query_params, which Starlette parses once and keeps.
                query_string = request.scope["query_string"] = drop_empty(query_string, optional)
            twice = repeated(query_string, single) if single and query_string else []
            if twice:
                errors = [{"loc": ["query", name], "msg": "given more than once; give one value"} for name in twice]
                raise Problem(422, f"'{twice[0]}' is given more than once", errors)
            content_type = request.headers.get("content-type")
            if json_body and content_type is not None and not is_json(content_type):
                raise Problem(415, f"send the body as {JSON_MEDIA_HINT}")
            return await handler(request)

        return route_handler
