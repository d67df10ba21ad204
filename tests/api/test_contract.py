"""The API's shared behaviour behind an exact OpenAPI document, one rule a test:

* an empty optional query parameter is an absent one (``/deliveries?cursor=&state=&channel=`` is the first page),
  a one-value parameter given twice is a 422 naming it, a JSON body sent as something else is a 415;
* ``Allow`` on a 405 lists every method of the most specific path;
* a database or Redis that does not answer is a 503 with ``Retry-After``, not a 500;
* the document lists exactly the answers each operation's dependencies and handler can give, as problems.
"""

from __future__ import annotations

import dataclasses
import pathlib
from collections.abc import AsyncIterator
from typing import Annotated, Any

import httpx
import pytest
from fastapi import APIRouter, Depends, FastAPI, Path, Query
from fastapi.openapi.utils import get_openapi
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import async_sessionmaker, create_async_engine

from alertsvc.api import openapi, problems
from alertsvc.api.deps import require
from alertsvc.api.routing import ApiRoute, drop_empty, repeated
from alertsvc.app import create_app
from alertsvc.http.deps import RuntimeDep
from alertsvc.http.ratelimit import rate_limit
from alertsvc.runtime import Runtime
from alertsvc.security.scopes import Scope
from tests.conftest import KeyMaker, auth
from tests.factories import cap_alert


@pytest.fixture
def database_url(tmp_path: pathlib.Path) -> str:
    """Nothing here is about storage: SQLite only (the suite's fixture would run each test on PostgreSQL too)."""
    return f"sqlite+aiosqlite:///{tmp_path / 'alertsvc.sqlite3'}"


async def _sent_alert(client: httpx.AsyncClient, key: str) -> str:
    response = await client.post("/api/v1/alerts", json=cap_alert(), headers=auth(key))
    assert response.status_code == 201, response.text
    alert_id: str = response.json()["id"]
    return alert_id


async def test_empty_query_parameters_mean_absent(client: httpx.AsyncClient, make_key: KeyMaker) -> None:
    key = await make_key("alerts:read", "alerts:send", "admin")
    alert_id = await _sent_alert(client, key)
    first_page = await client.get(f"/api/v1/alerts/{alert_id}/deliveries", headers=auth(key))
    written = await client.get(
        f"/api/v1/alerts/{alert_id}/deliveries?cursor=&state=&channel=", headers=auth(key)
    )  # as the contract writes it
    assert written.status_code == 200, written.text
    assert written.json() == first_page.json()
    listed = await client.get("/api/v1/alerts?state=&cursor=&limit=", headers=auth(key))
    assert listed.status_code == 200 and [item["id"] for item in listed.json()["items"]] == [alert_id]
    assert (await client.get("/api/v1/sandbox/outbox?channel=&to=", headers=auth(key))).status_code == 200


async def test_a_bad_value_is_still_refused_naming_it(client: httpx.AsyncClient, make_key: KeyMaker) -> None:
    key = await make_key("alerts:read")
    response = await client.get("/api/v1/alerts?state=nonsense", headers=auth(key))
    assert response.status_code == 422
    assert response.json()["errors"][0]["loc"] == ["query", "state"]


async def test_a_one_value_parameter_given_twice_is_refused(client: httpx.AsyncClient, make_key: KeyMaker) -> None:
    key = await make_key("alerts:read")
    response = await client.get("/api/v1/alerts?state=sent&state=draft", headers=auth(key))
    assert response.status_code == 422
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["errors"] == [{"loc": ["query", "state"], "msg": "given more than once; give one value"}]
    # one of them empty: that one is absent, the other counts
    assert (await client.get("/api/v1/alerts?state=&state=sent", headers=auth(key))).status_code == 200


def test_query_string_helpers_keep_everything_else_as_sent() -> None:
    names = frozenset({"state", "cursor"})
    assert drop_empty(b"state=&cursor=&limit=5&q=", names) == b"limit=5&q="
    assert drop_empty(b"state&st%61te=&x=%20", names) == b"x=%20"  # no "=", and an encoded name, are empty too
    assert drop_empty(b"state=%20", names) == b"state=%20"  # a space is a value
    assert repeated(b"state=a&st%61te=b&cursor=1&other=1&other=2", names) == ["state"]


async def test_a_json_body_in_another_media_type_is_415(client: httpx.AsyncClient, make_key: KeyMaker) -> None:
    key = await make_key("alerts:read")
    response = await client.post(
        "/api/v1/webhooks",
        content=b'{"url": "https://hooks.example.org/x"}',
        headers={"Content-Type": "text/plain", **auth(key)},
    )
    assert response.status_code == 415
    assert response.headers["content-type"].startswith("application/problem+json")
    vendor_json = await client.post(
        "/api/v1/targeting/preview", content=b"{}", headers={"Content-Type": "application/geo+json", **auth(key)}
    )
    assert vendor_json.status_code == 422  # read as JSON (as FastAPI reads */*+json), then found wanting


@pytest.mark.parametrize(
    ("method", "path", "allow"),
    [
        ("PUT", "/a/some-token", "GET, POST"),
        ("OPTIONS", "/u/some-token", "GET, POST"),
        ("PATCH", "/api/v1/residents/someone", "DELETE, GET"),
        ("PUT", "/api/v1/residents/import", "POST"),  # the concrete path, not the {ref} template behind it
        ("DELETE", "/api/v1/alerts", "GET, POST"),
    ],
)
async def test_405_allows_every_method_of_the_path(
    client: httpx.AsyncClient, method: str, path: str, allow: str
) -> None:
    response = await client.request(method, path)
    assert response.status_code == 405
    assert response.headers["allow"] == allow
    assert response.headers["content-type"].startswith("application/problem+json")


@pytest.fixture
async def no_redis() -> AsyncIterator[Redis]:
    dead = Redis.from_url("redis://127.0.0.1:1", socket_connect_timeout=1)  # nothing listens on port 1
    yield dead
    await dead.aclose()


async def test_redis_not_answering_is_503_with_retry_after(
    runtime: Runtime, make_key: KeyMaker, no_redis: Redis
) -> None:
    key = await make_key("admin")
    app = create_app(runtime=dataclasses.replace(runtime, redis=no_redis))  # type: ignore[arg-type]
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as client:
        outbox = await client.get("/api/v1/sandbox/outbox", headers=auth(key))
        limited = await client.get("/a/any-token")  # the rate limit counts in Redis
    for response in (outbox, limited):
        assert response.status_code == 503, response.text
        assert response.headers["retry-after"] == str(problems.RETRY_UNAVAILABLE_SECONDS)
        assert response.headers["content-type"].startswith("application/problem+json")


async def test_database_not_answering_is_503(runtime: Runtime, tmp_path: pathlib.Path) -> None:
    engine = create_async_engine(f"sqlite+aiosqlite:///{tmp_path / 'missing' / 'dir' / 'db.sqlite3'}")
    broken = dataclasses.replace(runtime, engine=engine, sessions=async_sessionmaker(engine))
    app = create_app(runtime=broken)
    try:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as client:
            response = await client.get("/api/v1/alerts", headers=auth("as_any-key"))  # the key lookup fails
    finally:
        await engine.dispose()
    assert response.status_code == 503
    assert response.json()["detail"] == "the database or Redis is not answering; try again shortly"


async def test_an_empty_import_is_refused(client: httpx.AsyncClient, make_key: KeyMaker) -> None:
    key = await make_key("residents:write")
    for headers in ({"Content-Type": "application/x-ndjson"}, {"Content-Type": "text/csv"}, {}):
        response = await client.post("/api/v1/residents/import", content=b"", headers={**headers, **auth(key)})
        assert response.status_code == 422, (headers, response.text)
    blank_line = await client.post(
        "/api/v1/residents/import", content=b"\n", headers={"Content-Type": "application/x-ndjson", **auth(key)}
    )
    assert blank_line.status_code == 200 and blank_line.json()["created"] == 0


# The document, derived from dependencies: a small app of its own, so each rule is seen alone.


def _document(app: FastAPI) -> dict[str, Any]:
    return openapi.complete(get_openapi(title="t", version="1", routes=app.routes), app.routes)


def _answers(document: dict[str, Any], path: str, method: str = "get") -> dict[str, Any]:
    responses: dict[str, Any] = document["paths"][path][method]["responses"]
    return responses


def test_answers_follow_what_an_operation_depends_on() -> None:
    router = APIRouter(route_class=ApiRoute)

    @router.get("/open")
    async def open_route() -> dict[str, str]:
        return {}

    @router.get("/text/{name}")
    async def text_path(name: str, runtime: RuntimeDep) -> dict[str, str]:
        return {}

    @router.get("/keyed/{number}", dependencies=[Depends(require(Scope.ALERTS_READ))])
    async def keyed(number: Annotated[int, Path(ge=1)], q: Annotated[str | None, Query()] = None) -> dict[str, str]:
        return {}

    @router.post("/limited", dependencies=[Depends(rate_limit("t", "1/second"))], responses=openapi.problems(409))
    async def limited(body: dict[str, int]) -> dict[str, str]:
        return {}

    app = FastAPI()
    app.include_router(router)
    document = _document(app)
    assert set(_answers(document, "/open")) == {"200"}
    assert set(_answers(document, "/text/{name}")) == {"200", "503"}  # a plain text path cannot fail validation
    keyed_answers = _answers(document, "/keyed/{number}")
    assert set(keyed_answers) == {"200", "401", "403", "422", "503"}
    assert keyed_answers["401"]["headers"]["WWW-Authenticate"]["required"] is True
    limited_answers = _answers(document, "/limited", "post")
    # 413: any body (body_limit); 503: a rate limit with no Redis to count in fails safe
    assert set(limited_answers) == {"200", "400", "409", "413", "415", "422", "429", "503"}
    assert set(limited_answers["429"]["headers"]) == {"Retry-After"}
    # The body limit answers before any route: a page outside /api/ and /hooks/, where this test's routes are.
    assert limited_answers["413"]["content"] == {"text/html": {"schema": {"type": "string"}}}
    for answers in (keyed_answers, limited_answers):
        for status, answer in answers.items():
            if status not in ("200", "413"):
                assert answer["content"] == {"application/problem+json": {"schema": {"$ref": openapi.PROBLEM_REF}}}
    keyed_q = next(p for p in document["paths"]["/keyed/{number}"]["get"]["parameters"] if p["name"] == "q")
    assert keyed_q["allowEmptyValue"] is True
    assert "HTTPValidationError" not in document["components"]["schemas"]
    assert set(document["components"]["schemas"]["Problem"]["required"]) == {
        "type",
        "title",
        "status",
        "detail",
        "errors",
    }


def test_the_service_document_is_complete() -> None:
    """Every operation behind a key says 401 (with WWW-Authenticate), 403 and 503; every error answer has content;
    the pages for people stay out."""
    document = create_app().openapi()
    operations = [
        (path, method, operation) for path, item in document["paths"].items() for method, operation in item.items()
    ]
    keyed = [op for _, _, op in operations if op.get("security") == [{"HTTPBearer": []}]]
    assert len(keyed) >= 20
    for operation in keyed:
        assert {"401", "403", "503"} <= set(operation["responses"]), operation["operationId"]
        assert "WWW-Authenticate" in operation["responses"]["401"]["headers"]
    for path, method, operation in operations:
        for status, answer in operation["responses"].items():
            if int(status) >= 400:
                assert answer.get("content"), (method, path, status)
    assert not any(path.startswith(("/r/", "/console")) for path in document["paths"])
    for path in ("/healthz", "/readyz", "/metrics", "/hooks/twilio/status", "/hooks/twilio/inbound", "/api/v1/alerts"):
        assert path in document["paths"]
    assert document["paths"]["/api/v1/alerts/{alert_id}/deliveries"]["get"]["responses"]["404"]


@pytest.mark.parametrize("url", ["http://hooks.example.org:99999/x", "http://[::1/x", "https://hooks.example.org:-1/"])
async def test_a_webhook_url_that_cannot_be_read_is_422_not_500(
    client: httpx.AsyncClient, make_key: KeyMaker, url: str
) -> None:
    """Found by hand beside the fuzzer: urlsplit refuses these (port out of range, unclosed IPv6 bracket)."""
    key = await make_key("alerts:read")
    response = await client.post("/api/v1/webhooks", json={"url": url}, headers=auth(key))
    assert response.status_code == 422, response.text
    assert response.json()["errors"][0]["loc"] == ["body", "url"]


def test_every_api_route_is_documented_and_normalised() -> None:
    """A meta-test: a router added under /api/v1, /hooks or beside the probes must use ApiRoute (empty parameters,
    repeated ones, JSON media types) and be in the document; a page for people may stay out."""
    from fastapi.routing import APIRoute, iter_route_contexts

    api_prefixes = ("/api/", "/hooks/", "/healthz", "/readyz", "/metrics")
    seen = []
    for context in iter_route_contexts(create_app().routes):
        route = context.original_route
        if isinstance(route, APIRoute) and str(context.path_format).startswith(api_prefixes):
            seen.append(context.path_format)
            assert isinstance(route, ApiRoute), f"{context.path_format} is not an ApiRoute"
            assert context.include_in_schema, f"{context.path_format} is left out of the document"
    assert len(seen) >= 25


def _signed(runtime: Runtime, path: str, form: dict[str, str]) -> dict[str, str]:
    from twilio.request_validator import RequestValidator

    validator = RequestValidator(runtime.settings.twilio_auth_token.get_secret_value())
    signature = validator.compute_signature(runtime.settings.public_url + path, form)
    return {"X-Twilio-Signature": signature}


async def test_twilio_hooks_read_only_signed_forms_within_their_limit(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    form = {"MessageSid": "SM1", "MessageStatus": "failed", "ErrorCode": "²"}  # "²".isdigit(), but int() refuses it
    signed = _signed(runtime, "/hooks/twilio/status", form)
    assert (await client.post("/hooks/twilio/status", data=form, headers=signed)).status_code == 204
    as_json = await client.post("/hooks/twilio/status", json=form, headers=signed)
    assert as_json.status_code == 415
    assert (await client.post("/hooks/twilio/status", data=form)).status_code == 403

    async def chunks() -> AsyncIterator[bytes]:  # no Content-Length: the limit is counted as the body arrives
        yield b"MessageSid=SM1&Body="
        for _ in range(70):
            yield b"x" * 1024

    form_type = {"Content-Type": "application/x-www-form-urlencoded"}
    too_large = await client.post("/hooks/twilio/inbound", content=chunks(), headers={**form_type, **signed})
    assert too_large.status_code == 413
    many = "&".join(f"f{i}=" for i in range(1001))
    too_many = await client.post("/hooks/twilio/inbound", content=many, headers={**form_type, **signed})
    assert too_many.status_code == 400


async def test_resident_pages_read_an_empty_lang_as_absent(client: httpx.AsyncClient) -> None:
    """The public pages read their one query parameter themselves; ``?lang=`` falls back to Accept-Language."""
    page = await client.get("/r/subscribe?lang=", headers={"Accept-Language": "fr-CA,fr;q=0.9"})
    assert page.status_code == 200
    assert '<html lang="fr"' in page.text


def test_a_route_class_that_answers_with_pages_is_documented_so() -> None:
    from fastapi.routing import APIRoute

    class Pages(APIRoute):
        page_answers = frozenset({429})

    router = APIRouter(route_class=Pages, dependencies=[Depends(rate_limit("t", "1/second"))])

    @router.get("/page")
    async def page() -> dict[str, str]:
        return {}

    app = FastAPI()
    app.include_router(router)
    limited = _answers(_document(app), "/page")["429"]
    assert limited["content"] == {"text/html": {"schema": {"type": "string"}}}
    assert "Retry-After" in limited["headers"]


async def test_alert_pages_follow_their_cursor_and_any_cursor_of_its_shape_is_a_place(
    client: httpx.AsyncClient, make_key: KeyMaker
) -> None:
    key = await make_key("alerts:read", "alerts:send")
    made = [await _sent_alert(client, key) for _ in range(3)]
    seen: list[str] = []
    cursor = ""
    while True:
        page = (await client.get(f"/api/v1/alerts?limit=2&cursor={cursor}", headers=auth(key))).json()
        seen.extend(item["id"] for item in page["items"])
        if page["next_cursor"] is None:
            break
        cursor = page["next_cursor"]
    assert seen == list(reversed(made))  # newest first, each once
    made_up = "99999999999999999.00000000-0000-0000-0000-000000000000"  # after everything: the whole list
    assert len((await client.get(f"/api/v1/alerts?cursor={made_up}", headers=auth(key))).json()["items"]) == 3
    refused = await client.get("/api/v1/alerts?cursor=not-a-cursor", headers=auth(key))
    assert refused.status_code == 422 and refused.json()["errors"][0]["loc"] == ["query", "cursor"]
