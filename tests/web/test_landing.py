"""``GET /``: the landing page links the console, the residents' sign-up and the API docs, names the service, meets
the WCAG 2.1 AA points a test can see in the markup (language, headings, link purpose, colour contrast), and is
not part of the API's OpenAPI document."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from itertools import pairwise
from pathlib import Path

import httpx
import pytest

from alertsvc.app import create_app
from alertsvc.runtime import Runtime
from alertsvc.settings import Settings
from tests.conftest import make_settings

SERVICE_NAME = "Northvale Alerts"
GENERIC_LINK_TEXT = {"click here", "here", "more", "read more", "link", "this page"}

sqlite_only = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)  # a page: one backend is enough


@pytest.fixture
def settings(tmp_path: Path, database_url: str, clean_redis: str) -> Settings:
    return make_settings(tmp_path, database_url, clean_redis, service_name=SERVICE_NAME)


class Page(HTMLParser):
    """What the checks need from the markup: languages, headings in order, links with their text and language."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.html_lang: str | None = None
        self.title = ""
        self.headings: list[tuple[int, str]] = []
        self.links: list[tuple[str, str, str | None]] = []
        """``(href, text, lang)``; ``lang`` is the nearest ``lang`` attribute around the link."""
        self.style = ""
        self.stylesheets: list[str] = []
        """The ``href`` of each stylesheet link (the pages' styles are files: a CSP with no inline style)."""
        self._open: list[tuple[str, str | None]] = []
        self._text: list[str] | None = None
        self._in: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        if tag == "html":
            self.html_lang = attributes.get("lang")
        if tag == "link" and attributes.get("rel") == "stylesheet":
            self.stylesheets.append(attributes.get("href") or "")
        if tag in ("meta", "link", "br", "img", "input"):
            return
        lang = attributes.get("lang") or (self._open[-1][1] if self._open else None)
        self._open.append((tag, lang))
        if tag in ("title", "style", "h1", "h2", "h3", "h4", "h5", "h6") or tag == "a":
            self._in, self._text = tag, []
            if tag == "a":
                self._href = attributes.get("href") or ""

    def handle_endtag(self, tag: str) -> None:
        lang = self._open[-1][1] if self._open else None
        if self._open and self._open[-1][0] == tag:
            self._open.pop()
        if self._text is None or tag != self._in:
            return
        text = " ".join("".join(self._text).split())
        if tag == "title":
            self.title = text
        elif tag == "style":
            self.style += text
        elif tag == "a":
            self.links.append((self._href, text, lang))
        else:
            self.headings.append((int(tag[1]), text))
        self._in, self._text = None, None

    def handle_data(self, data: str) -> None:
        if self._text is not None:
            self._text.append(data)


async def _page(client: httpx.AsyncClient, path: str = "/") -> Page:
    response = await client.get(path)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    page = Page()
    page.feed(response.text)
    return page


@sqlite_only
async def test_landing_page_names_the_service_and_links_console_sign_up_and_docs(client: httpx.AsyncClient) -> None:
    page = await _page(client)
    assert SERVICE_NAME in page.title
    assert page.headings[0] == (1, SERVICE_NAME)
    hrefs = {href for href, _, _ in page.links}
    assert {"/console/", "/r/subscribe", "/docs"} <= hrefs
    for href in hrefs:  # every door opens: no dead link (the console sends a stranger to its sign-in page)
        assert (await client.get(href, follow_redirects=True)).status_code == 200, href


@sqlite_only
async def test_landing_page_is_accessible_in_its_markup(client: httpx.AsyncClient) -> None:
    page = await _page(client)
    assert page.html_lang == "en"  # WCAG 3.1.1
    levels = [level for level, _ in page.headings]
    assert levels.count(1) == 1 and all(b - a <= 1 for a, b in pairwise(levels))  # 1.3.1
    assert all(text for _, text in page.headings)
    texts: dict[str, str] = {}
    for href, text, lang in page.links:  # 2.4.4: each link says where it goes; one text, one destination
        assert text and text.lower().strip(" .:") not in GENERIC_LINK_TEXT, href
        assert texts.setdefault(text, href) == href, f"{text!r} names two destinations"
        if "lang=" in href:  # 3.1.2: a link in another language is marked as such
            assert lang == href.rsplit("lang=", 1)[1], href


@sqlite_only
async def test_landing_page_colours_meet_aa_contrast(client: httpx.AsyncClient) -> None:
    """WCAG 1.4.3: every text colour the page's style sheet sets, on its background (white where none is set),
    has a contrast ratio of at least 4.5:1. Links keep the browser's colours (#0000EE: 9.4:1 on white)."""
    page = await _page(client)
    sheets = [(await client.get(href)).text for href in page.stylesheets]
    style = re.sub(r"/\*.*?\*/", "", " ".join([page.style, *sheets]), flags=re.S)
    rules = re.findall(r"([^{}]+)\{([^}]*)\}", style)
    checked = 0
    for selector, body in rules:
        declarations = dict(
            (name.strip(), value.strip()) for name, _, value in (d.partition(":") for d in body.split(";")) if value
        )
        if "color" not in declarations:
            continue
        background = declarations.get("background") or declarations.get("background-color") or "#fff"
        ratio = contrast(declarations["color"], background)
        assert ratio >= 4.5, f"{selector.strip()}: {declarations['color']} on {background} is {ratio:.2f}:1"
        checked += 1
    assert checked >= 1


@sqlite_only
async def test_landing_page_is_not_in_the_openapi_document(client: httpx.AsyncClient) -> None:
    paths = (await client.get("/openapi.json")).json()["paths"]
    assert "/" not in paths


@sqlite_only
async def test_links_follow_a_proxy_path_prefix(runtime: Runtime) -> None:
    transport = httpx.ASGITransport(app=create_app(runtime=runtime), root_path="/alerts")
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as behind_proxy:
        page = await _page(behind_proxy, "/alerts/")
    assert {"/alerts/console/", "/alerts/r/subscribe", "/alerts/docs"} <= {href for href, _, _ in page.links}


def _luminance(colour: str) -> float:
    hex_digits = colour.strip().lstrip("#")
    if len(hex_digits) == 3:
        hex_digits = "".join(digit * 2 for digit in hex_digits)
    assert re.fullmatch(r"[0-9a-fA-F]{6}", hex_digits), f"not a #rgb colour: {colour}"
    channels = [int(hex_digits[i : i + 2], 16) / 255 for i in (0, 2, 4)]
    r, g, b = (c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in channels)
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast(foreground: str, background: str) -> float:
    """The WCAG 2.1 contrast ratio of two ``#rgb``/``#rrggbb`` colours."""
    lighter, darker = sorted((_luminance(foreground), _luminance(background)), reverse=True)
    return (lighter + 0.05) / (darker + 0.05)


def test_contrast_formula_matches_known_values() -> None:
    assert contrast("#000", "#fff") == pytest.approx(21.0)
    assert contrast("#767676", "#ffffff") == pytest.approx(4.54, abs=0.01)  # the lightest grey passing AA on white
    assert contrast("#777", "#fff") < 4.5
