"""The basemap settings: OpenStreetMap by default with its credit, empty for none, a tiles file checked at start
(one line naming the variable), the attribution reduced to text and links, and the tile origins a CSP allows."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from contextlib import closing
from html.parser import HTMLParser
from pathlib import Path

import httpx
import pytest
from pydantic import ValidationError

from alertsvc import cli
from alertsvc.settings import OSM_ATTRIBUTION, OSM_TILE_URL, Settings, configuration_error, get_settings
from alertsvc.web.tiles import TILES_URL, Basemap, basemap, safe_attribution, tile_origins
from tests.web.tile_images import make_mbtiles

OSM_CREDIT_HTML = (
    '© <a href="https://www.openstreetmap.org/copyright" target="_blank" rel="noopener noreferrer">'
    "OpenStreetMap</a> contributors"
)


def settings(**values: object) -> Settings:
    return Settings(_env_file=None, **values)  # type: ignore[arg-type]


@pytest.fixture
def mbtiles(tmp_path: Path) -> Path:
    return make_mbtiles(
        tmp_path / "city.mbtiles",
        [(0, 0, 0), (3, 1, 2)],
        attribution='<b>City</b> survey <img src=x onerror="alert(1)">',
    )


def test_the_default_basemap_is_openstreetmap_with_its_credit(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ALERTSVC_TILE_URL", raising=False)
    monkeypatch.delenv("ALERTSVC_TILE_ATTRIBUTION", raising=False)
    default = settings()
    assert default.tile_url == OSM_TILE_URL == "https://tile.openstreetmap.org/{z}/{x}/{y}.png"
    assert basemap(default) == Basemap(OSM_TILE_URL, OSM_CREDIT_HTML)
    assert tile_origins(default) == ["https://tile.openstreetmap.org"]


def test_an_empty_tile_url_is_no_basemap(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ALERTSVC_TILE_URL", "")
    monkeypatch.setenv("ALERTSVC_TILES_FILE", "")
    empty = settings()
    assert empty.tile_url is None and empty.tiles_file is None
    assert basemap(empty) == Basemap("", "")
    assert tile_origins(empty) == []


@pytest.mark.parametrize(
    "url",
    [
        "/tiles/{z}/{x}/{y}.png",
        "https://{s}.tile.example/{z}/{x}/{-y}.png",
        "http://127.0.0.1:8080/{z}/{x}/{y}{r}.png?key=public",
    ],
)
def test_a_leaflet_tile_url_is_accepted(url: str) -> None:
    assert settings(tile_url=f"  {url} ").tile_url == url


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("tile.openstreetmap.org/{z}/{x}/{y}.png", "must start with"),
        ("javascript:alert(1)//{z}/{x}/{y}", "must start with"),
        ("https:///{z}/{x}/{y}.png", "must start with"),
        ("https://tiles.example/{z}/{x}.png", "needs {z}, {x} and {y}"),
        ("https://tiles.example/{z}/{x}/{y}/{style}.png", "unknown placeholder {style}"),
        ("https://user:secret@tiles.example/{z}/{x}/{y}.png", "user name or password"),
    ],
)
def test_a_tile_url_leaflet_could_not_use_stops_the_start(url: str, reason: str) -> None:
    with pytest.raises(ValidationError) as caught:
        settings(tile_url=url)
    line = configuration_error(caught.value)
    assert line.startswith("ALERTSVC_TILE_URL: ") and reason in line and "\n" not in line
    assert "secret" not in line


def test_a_tiles_file_is_the_basemap_with_its_own_credit(mbtiles: Path) -> None:
    with_file = settings(tiles_file=mbtiles)
    assert basemap(with_file) == Basemap(TILES_URL, "City survey", max_native_zoom=3)
    assert tile_origins(with_file) == ["'self'"]


def test_an_attribution_the_operator_sets_wins_over_the_files(mbtiles: Path) -> None:
    assert basemap(settings(tiles_file=mbtiles, tile_attribution="Our survey")).attribution == "Our survey"


def test_a_file_without_attribution_is_credited_with_nothing(tmp_path: Path) -> None:
    """Not with OpenStreetMap's credit, the TILE_URL default: the file may hold anyone's tiles."""
    path = make_mbtiles(tmp_path / "plain.mbtiles", [(0, 0, 0)])
    assert basemap(settings(tiles_file=path)) == Basemap(TILES_URL, "", max_native_zoom=0)


def _missing(path: Path) -> Path:
    return path


def _directory(path: Path) -> Path:
    path.mkdir()
    return path


def _text(path: Path) -> Path:
    path.write_text("just text " * 200)
    return path


def _empty_sqlite(path: Path) -> Path:
    sqlite3.connect(path).close()
    return path


def _no_tiles_table(path: Path) -> Path:
    with closing(sqlite3.connect(path)) as db:
        db.execute("CREATE TABLE metadata (name TEXT, value TEXT)")
    return path


def _vector(path: Path) -> Path:
    return make_mbtiles(path, [(0, 0, 0)], fmt="pbf", data={(0, 0, 0): b"\x1f\x8b vector"})


def _no_format_no_tiles(path: Path) -> Path:
    return make_mbtiles(path, [], fmt=None)


@pytest.mark.parametrize(
    ("make", "reason"),
    [
        (_missing, "does not exist"),
        (_directory, "is not a file"),
        (_text, "is not an MBTiles file (file is not a database)"),
        (_empty_sqlite, "is not an MBTiles file (no such table: metadata)"),
        (_no_tiles_table, "is not an MBTiles file (no such table: tiles)"),
        (_vector, "holds pbf tiles; the maps show png, jpg or webp tiles only"),
        (_no_format_no_tiles, "has no format in its metadata and no tile to tell it from"),
    ],
)
def test_a_tiles_file_that_is_not_raster_mbtiles_stops_the_start(
    tmp_path: Path, make: Callable[[Path], Path], reason: str
) -> None:
    path = make(tmp_path / "tiles.mbtiles")
    with pytest.raises(ValidationError) as caught:
        settings(tiles_file=path)
    assert configuration_error(caught.value) == f"ALERTSVC_TILES_FILE: {path} {reason}"


def test_the_command_line_says_it_in_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)  # no .env here
    monkeypatch.setenv("ALERTSVC_TILES_FILE", str(tmp_path / "missing.mbtiles"))
    get_settings.cache_clear()
    try:
        assert cli.main(["serve"]) == 2
    finally:
        get_settings.cache_clear()
    err = capsys.readouterr().err
    assert err == f"alertsvc: configuration error: ALERTSVC_TILES_FILE: {tmp_path / 'missing.mbtiles'} does not exist\n"


@pytest.mark.parametrize(
    ("url", "origins"),
    [
        ("https://tile.openstreetmap.org/{z}/{x}/{y}.png", ["https://tile.openstreetmap.org"]),
        ("https://Tiles.City.Example:443/{z}/{x}/{y}.png", ["https://tiles.city.example"]),
        ("http://127.0.0.1:8080/{z}/{x}/{y}.png", ["http://127.0.0.1:8080"]),
        ("http://tiles.example:80/a/{z}/{x}/{y}.png?k=1", ["http://tiles.example"]),
        ("https://{s}.tile.example/{z}/{x}/{y}.png", [f"https://{s}.tile.example" for s in "abc"]),
        ("/maps/{z}/{x}/{y}.png", ["'self'"]),
    ],
)
def test_tile_origins_are_the_tile_servers_origins(url: str, origins: list[str]) -> None:
    assert tile_origins(settings(tile_url=url)) == origins


@pytest.mark.parametrize(
    ("given", "safe"),
    [
        (OSM_ATTRIBUTION, OSM_CREDIT_HTML),
        ("Tiles &amp; data: City &lt;GIS&gt;", "Tiles &amp; data: City &lt;GIS&gt;"),
        ("<script>alert(1)</script>City", "City"),
        ("<img src=x onerror=alert(1)>City", "City"),
        ('<a href="javascript:alert(1)">City</a>', "City"),
        ('<a href=" JavaScript:alert(1)">City</a>', "City"),
        ('<a href="data:text/html,x">City</a>', "City"),
        ('<a href="//evil.example">City</a>', "City"),
        (
            '<a href="https://city.example/?a=1&b=&quot;x" onclick="steal()" style="x">City</a>',
            '<a href="https://city.example/?a=1&amp;b=&quot;x" target="_blank" rel="noopener noreferrer">City</a>',
        ),
        (
            '<a href="https://a.example">unclosed',
            '<a href="https://a.example" target="_blank" rel="noopener noreferrer">unclosed</a>',
        ),
        (
            '<a href="https://a.example"><a href="https://b.example">x</a></a>',
            '<a href="https://a.example" target="_blank" rel="noopener noreferrer">x</a>',
        ),
        ('<svg><style>*{}</style><p onmouseover="x">City</p></svg>', "City"),
        ('"><script>alert(1)</script>', '"&gt;'),
        ("<!-- x --><![CDATA[y]]>City", "City"),
    ],
)
def test_the_attribution_keeps_only_text_and_web_links(given: str, safe: str) -> None:
    assert safe_attribution(given) == safe


class _MapAttributes(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.found: dict[str, str | None] = {}

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if values.get("id") == "pick-map":
            self.found = values


async def test_the_sign_up_map_gets_the_basemap_as_data_attributes(client: httpx.AsyncClient) -> None:
    """The page carries the URL and the reduced credit in data- attributes (no inline script); the settings of the
    test runtime are the defaults, so OpenStreetMap's."""
    page = await client.get("/r/subscribe")
    parser = _MapAttributes()
    parser.feed(page.text)
    assert parser.found["data-tile-url"] == OSM_TILE_URL
    assert parser.found["data-tile-attribution"] == OSM_CREDIT_HTML
    assert parser.found["data-tile-max-zoom"] == ""


async def test_a_hostile_credit_reaches_the_page_reduced(tmp_path: Path, clean_redis: str) -> None:
    from alertsvc.app import create_app
    from alertsvc.runtime import open_runtime
    from tests.conftest import make_settings

    hostile = '"><script>alert(1)</script><a href="https://ok.example" onclick="x">ok</a>'
    runtime = await open_runtime(
        make_settings(tmp_path, f"sqlite+aiosqlite:///{tmp_path / 'h.sqlite3'}", clean_redis, tile_attribution=hostile)
    )
    try:
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=create_app(runtime=runtime)), base_url="http://t"
        ) as c:
            page = (await c.get("/r/subscribe")).text
    finally:
        await runtime.close()
    parser = _MapAttributes()
    parser.feed(page)
    assert parser.found["data-tile-attribution"] == (
        '"&gt;<a href="https://ok.example" target="_blank" rel="noopener noreferrer">ok</a>'
    )
    assert "<script>alert(1)" not in page
