"""Security headers on every answer (alertsvc.web.headers): a Content-Security-Policy with no inline script or style
and images from exactly the tile origins, no framing, no MIME sniffing, a referrer policy; and pages that need no
exception to it: no inline ``<script>``, ``<style>``, ``style=`` or ``on...=`` in any template or rendered page."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path
from types import SimpleNamespace

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from alertsvc.resources import templates_dir
from alertsvc.runtime import Runtime
from alertsvc.settings import Settings
from alertsvc.web.headers import SecurityHeaders
from tests.console.helpers import compose, signed_in

STATIC = Path(__file__).resolve().parents[2] / "alertsvc" / "web" / "static"
PATHS = [
    "/",
    "/console/login",
    "/r/subscribe",
    "/r/confirm",
    "/r/manage/not-a-token",
    "/a/not-a-token",
    "/u/not-a-token",
    "/docs",
    "/healthz",
    "/openapi.json",
    "/static/console/console.css",
    "/static/pages.css",
    "/no-such-page",
    "/api/v1/alerts",
]
"""Pages, the residents' token pages, JSON, static files, a 404 and a 401: every kind of answer."""


def policy(header: str) -> dict[str, list[str]]:
    directives = [part.strip().split() for part in header.split(";") if part.strip()]
    return {words[0]: words[1:] for words in directives}


@pytest.mark.parametrize("path", PATHS)
async def test_every_answer_carries_the_headers(client: httpx.AsyncClient, path: str) -> None:
    response = await client.get(path)
    assert response.headers["x-content-type-options"] == "nosniff", path
    assert response.headers["referrer-policy"] == "strict-origin-when-cross-origin", path
    assert response.headers["x-frame-options"] == "DENY", path
    csp = policy(response.headers["content-security-policy"])
    assert csp["frame-ancestors"] == ["'none'"], path


async def test_the_policy_allows_no_inline_code_and_the_default_tiles_only(client: httpx.AsyncClient) -> None:
    header = (await client.get("/console/login")).headers["content-security-policy"]
    csp = policy(header)
    assert csp["default-src"] == ["'self'"]
    assert csp["script-src"] == ["'self'"] and csp["style-src"] == ["'self'"]
    assert csp["object-src"] == ["'none'"] and csp["base-uri"] == ["'none'"]
    assert csp["form-action"] == ["'self'"] and csp["frame-ancestors"] == ["'none'"]
    assert sorted(csp["img-src"]) == sorted(["'self'", "data:", "https://tile.openstreetmap.org"])
    assert "unsafe" not in header and "*" not in header


def _app(settings: Settings | None) -> httpx.AsyncClient:
    async def plain(_request: Request) -> PlainTextResponse:
        return PlainTextResponse("x")

    async def own(_request: Request) -> PlainTextResponse:
        return PlainTextResponse("x", headers={"Referrer-Policy": "no-referrer"})

    app = Starlette(routes=[Route("/", plain), Route("/own", own)])
    app.state.runtime = SimpleNamespace(settings=settings)
    app.add_middleware(SecurityHeaders)
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver")


@pytest.mark.parametrize(
    ("tile_url", "origins"),
    [
        ("https://{s}.tiles.city.example:8443/{z}/{x}/{y}.png", ["https://a.tiles.city.example:8443",
                                                                  "https://b.tiles.city.example:8443",
                                                                  "https://c.tiles.city.example:8443"]),
        ("http://gis.city.example:80/t/{z}/{x}/{y}.png", ["http://gis.city.example"]),
        ("/tiles/{z}/{x}/{y}.png", []),
        ("", []),
    ],
)
async def test_images_come_from_exactly_the_configured_tile_origins(
    tmp_path: Path, tile_url: str, origins: list[str]
) -> None:
    settings = Settings(_env_file=None, data_dir=tmp_path, tile_url=tile_url)  # type: ignore[call-arg]
    async with _app(settings) as client:
        csp = policy((await client.get("/")).headers["content-security-policy"])
    assert sorted(csp["img-src"]) == sorted(["'self'", "data:", *origins])


async def test_a_header_the_route_set_is_kept_and_no_settings_means_no_tile_origin() -> None:
    async with _app(None) as client:
        own = await client.get("/own")
        plain = await client.get("/")
    assert own.headers["referrer-policy"] == "no-referrer" and own.headers["x-frame-options"] == "DENY"
    assert policy(plain.headers["content-security-policy"])["img-src"] == ["'self'", "data:"]


class _Inline(HTMLParser):
    """Collects what a policy without 'unsafe-inline' would block: inline script bodies, <style> elements,
    style attributes, event-handler attributes and javascript: URLs."""

    def __init__(self) -> None:
        super().__init__()
        self.found: list[str] = []
        self._script_without_src = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        names = dict(attrs)
        if tag == "style":
            self.found.append("<style>")
        if tag == "script":
            self._script_without_src = "src" not in names
        for name, value in attrs:
            if name == "style" or name.startswith("on"):
                self.found.append(f"<{tag} {name}=...>")
            if name in ("href", "src", "action", "formaction") and (value or "").strip().lower().startswith(
                "javascript:"
            ):
                self.found.append(f"<{tag} {name}=javascript:...>")

    def handle_endtag(self, tag: str) -> None:
        if tag == "script":
            self._script_without_src = False

    def handle_data(self, data: str) -> None:
        if self._script_without_src and data.strip():
            self.found.append(f"inline script: {data.strip()[:40]}")


def inline_code(html: str) -> list[str]:
    parser = _Inline()
    parser.feed(html)
    parser.close()
    return parser.found


def test_the_checker_finds_each_kind_of_inline_code() -> None:
    page = (
        '<script>go()</script><style>p{}</style><p style="x">a</p><a onclick="x()" href="javascript:y()">b</a>'
        '<script src="/static/ok.js"></script>'
    )
    assert len(inline_code(page)) == 5


TEMPLATE_PATTERNS = {
    "inline <script>": re.compile(r"<script(?![^>]*\bsrc=)[^>]*>\s*\S", re.IGNORECASE),
    "<style>": re.compile(r"<style\b", re.IGNORECASE),
    "style attribute": re.compile(r"\sstyle\s*=", re.IGNORECASE),
    "event handler": re.compile(r"\son[a-z]+\s*=", re.IGNORECASE),
    "javascript: URL": re.compile(r"javascript:", re.IGNORECASE),
}


@pytest.mark.parametrize("folder", ["console", "pages"])
def test_no_template_of_a_page_carries_inline_code(folder: str) -> None:
    """Templates of every page, error pages and partials included (e-mail templates are not pages: mail readers
    need inline styles, and no policy applies there)."""
    found = []
    for template in sorted((templates_dir() / folder).rglob("*.html")):
        text = template.read_text(encoding="utf-8")
        found += [f"{template.name}: {kind}" for kind, pattern in TEMPLATE_PATTERNS.items() if pattern.search(text)]
    assert found == []


def test_the_services_own_scripts_write_no_inline_code_into_pages() -> None:
    """Markup the scripts build (innerHTML, insertAdjacentHTML) with a style or a handler would be refused."""
    pattern = re.compile(r"""["'][^"'\n]*(\sstyle=|\son[a-z]+=|javascript:)""", re.IGNORECASE)
    scripts = [path for path in STATIC.rglob("*.js") if "vendor" not in path.parts]
    assert scripts
    found = [f"{path.name}: {m.group(0)}" for path in scripts for m in pattern.finditer(path.read_text())]
    assert found == []


async def test_rendered_pages_carry_no_inline_code(runtime: Runtime, client: httpx.AsyncClient) -> None:
    admin, _ = await signed_in(runtime, "admin")
    try:
        alert = (await compose(admin)).headers["location"]
        console = ["/console/alerts", "/console/alerts/new", alert, f"{alert}/cancel", "/console/users",
                   "/console/keys", "/console/audit", "/console/outbox", "/console/password",
                   "/console/audit?before=0"]  # fmt: skip
        pages = {path: (await admin.get(path)).text for path in console}
    finally:
        await admin.aclose()
    for path in ("/", "/console/login", "/r/subscribe", "/r/confirm", "/a/x", "/u/x", "/r/manage/x", "/docs"):
        pages[path] = (await client.get(path)).text
    found = {path: inline_code(html) for path, html in pages.items() if inline_code(html)}
    assert found == {}
