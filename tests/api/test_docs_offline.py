"""``/docs`` works on a closed network: the page and everything it loads come from this server, with no inline
script (a Content-Security-Policy without ``'unsafe-inline'`` must not break it), and neither page is in the API's
own schema."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from html.parser import HTMLParser
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI

from alertsvc.app import create_app
from tests.conftest import make_settings

PUBLIC_URL = "https://alerts.city.example"
ASSET_TYPES = {".js": "javascript", ".css": "text/css", ".png": "image/png", ".json": "application/json"}


class _Page(HTMLParser):
    """Every address a page refers to, its scripts, and any inline code it carries."""

    def __init__(self) -> None:
        super().__init__()
        self.addresses: list[str] = []
        self.scripts: list[str] = []
        self.inline: list[str] = []
        self.openapi: str | None = None
        self._in_script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        for name in ("src", "href"):
            if values.get(name) is not None:
                self.addresses.append(str(values[name]))
        if values.get("data-openapi-url"):
            self.openapi = values["data-openapi-url"]
        self.inline.extend(f"{tag} {name}" for name, _ in attrs if name.startswith("on") or name == "style")
        if tag == "script":
            self._in_script = True
            if values.get("src") is None:
                self.inline.append("script without src")
            else:
                self.scripts.append(str(values["src"]))

    def handle_endtag(self, tag: str) -> None:
        if tag == "script":
            self._in_script = False

    def handle_data(self, data: str) -> None:
        if self._in_script and data.strip():
            self.inline.append(f"script body {data.strip()[:40]!r}")


def _app(tmp_path: Path) -> FastAPI:
    """The app as ``serve`` builds it; these routes need neither database nor Redis, so no runtime is opened."""
    settings = make_settings(
        tmp_path, f"sqlite+aiosqlite:///{tmp_path / 'unused.sqlite3'}", "redis://unused.invalid", public_url=PUBLIC_URL
    )
    return create_app(settings)


@pytest.fixture
async def http(tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=_app(tmp_path))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        yield client


def _parse(html: str) -> _Page:
    page = _Page()
    page.feed(html)
    page.close()
    return page


async def test_docs_page_and_every_asset_it_names_are_served_here(http: httpx.AsyncClient) -> None:
    response = await http.get("/docs")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    page = _parse(response.text)
    assert page.openapi == "/openapi.json"
    assert len(page.addresses) >= 4, page.addresses  # the stylesheet, the icon, the bundle, the start-up script
    for address in [*page.addresses, page.openapi]:
        assert address.startswith("/") and not address.startswith("//"), f"not a path on this server: {address}"
        asset = await http.get(address)
        assert asset.status_code == 200, address
        suffix = Path(address).suffix
        assert ASSET_TYPES[suffix] in asset.headers["content-type"], (address, asset.headers["content-type"])
        assert asset.content, address
    bundle, init = page.scripts
    assert "SwaggerUIBundle" in (await http.get(bundle)).text
    assert "SwaggerUIBundle(" in (await http.get(init)).text


async def test_docs_page_names_no_other_host_and_has_no_inline_code(http: httpx.AsyncClient) -> None:
    html = (await http.get("/docs")).text
    page = _parse(html)
    assert page.inline == [], "inline code would need 'unsafe-inline' in a Content-Security-Policy"
    outside = html.replace(PUBLIC_URL, "")
    for needle in ("cdn", "http://", "https://", "//"):
        assert needle not in outside.lower(), f"{needle!r} in the docs page"


async def test_swagger_ui_is_told_not_to_fetch_the_validator_badge(http: httpx.AsyncClient) -> None:
    """Swagger UI's default shows a badge from validator.swagger.io, a request to the internet on every visit."""
    init = _parse((await http.get("/docs")).text).scripts[-1]
    script = (await http.get(init)).text
    assert re.search(r"validatorUrl:\s*null", script), script


async def test_docs_follow_the_root_path_behind_a_proxy(tmp_path: Path) -> None:
    transport = httpx.ASGITransport(app=_app(tmp_path), root_path="/alerting")
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        page = _parse((await client.get("/alerting/docs")).text)
        assert page.openapi == "/alerting/openapi.json"
        for address in page.addresses:
            assert address.startswith("/alerting/static/"), address
            assert (await client.get(address)).status_code == 200, address


async def test_docs_are_not_in_the_schema_and_redoc_is_off(http: httpx.AsyncClient) -> None:
    paths = (await http.get("/openapi.json")).json()["paths"]
    assert not [path for path in paths if path.startswith(("/docs", "/redoc", "/static"))]
    assert "/api/v1/alerts" in paths
    for gone in ("/redoc", "/docs/oauth2-redirect"):
        response = await http.get(gone)
        assert response.status_code == 404, gone
        assert response.headers["content-type"] == "application/problem+json"
