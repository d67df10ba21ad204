"""The maps' basemap in a real browser, with no internet: the console's compose map and the residents' sign-up map
fetch their tiles from the configured tile server (a loopback one here), the tile under the map's centre among
them, with this site's origin as Referer (OpenStreetMap refuses requests without one); the attribution is shown
with its link; no request leaves 127.0.0.1. On a closed network the tiles come from the service's own
``/tiles/`` out of an MBTiles file. Screenshots: ``compose-map.png``, ``subscribe-map.png``,
``subscribe-map-mbtiles.png`` in ``test-output/screenshots/``."""

from __future__ import annotations

import math
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from playwright.async_api import Browser, BrowserContext, Locator, Page, Request, Response, async_playwright, expect

from tests.browser.test_console_flow import CHROMIUM, LiveServer, _sign_in, pytestmark, snap  # noqa: F401
from tests.web.tile_images import TileServer, make_mbtiles

CITY = (-73.6, 45.47, -73.54, 45.52)
"""The example city's zones (config/zones): west, south, east, north."""
MBTILES_ZOOMS = range(9, 15)
LOOPBACK = "127.0.0.1"
MBTILES_CREDIT = 'Tiles &copy; <a href="https://gis.city.example/">Example City GIS</a>'


def tile_of(lon: float, lat: float, z: int) -> tuple[int, int]:
    """The XYZ column and row holding a point (the slippy-map formula, independent of Leaflet)."""
    n = 1 << z
    x = int((lon + 180) / 360 * n)
    y = int((1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * n)
    return x, y


async def _launch(playwright: object) -> Browser:
    return await playwright.chromium.launch(  # type: ignore[attr-defined, no-any-return]
        executable_path=str(CHROMIUM),
        args=["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"],
    )


async def _recording_context(browser: Browser, seen: list[str]) -> BrowserContext:
    context = await browser.new_context(viewport={"width": 1366, "height": 900})

    def record(request: Request) -> None:
        seen.append(request.url)

    context.on("request", record)
    return context


async def _tiles_loaded(page: Page, holder: str) -> None:
    """Wait until the map in ``holder`` shows tiles and none is still loading."""
    await expect(page.locator(f"{holder} img.leaflet-tile-loaded").first).to_be_visible()
    await expect(page.locator(f"{holder} img.leaflet-tile:not(.leaflet-tile-loaded)")).to_have_count(0)


async def _centre_tile(page: Page, map_expression: str) -> str:
    zoom, lat, lon = await page.evaluate(
        f"(() => {{ const m = {map_expression}; const c = m.getCenter(); return [m.getZoom(), c.lat, c.lng]; }})()"
    )
    x, y = tile_of(lon, lat, zoom)
    return f"/{zoom}/{x}/{y}.png"


async def _links_open_in_a_new_tab(credit: Locator) -> None:
    """A click on a credit must not take a half-written alert off the screen."""
    links = await credit.locator("a").all()
    assert len(links) >= 2  # Leaflet's and the tile provider's
    for link in links:
        await expect(link).to_have_attribute("target", "_blank")


def _left_loopback(seen: list[str]) -> list[str]:
    """Each request to a host other than 127.0.0.1 (``data:`` and ``blob:`` URLs are no requests on the network)."""
    return [url for url in seen if urlsplit(url).scheme not in ("data", "blob") and urlsplit(url).hostname != LOOPBACK]


async def test_the_maps_show_the_configured_tiles_and_nothing_leaves_loopback(
    live_server: LiveServer, loopback_tiles: TileServer
) -> None:
    base = live_server.url
    seen: list[str] = []
    async with async_playwright() as playwright:
        browser = await _launch(playwright)
        try:
            page = await (await _recording_context(browser, seen)).new_page()
            await _sign_in(page, base, live_server.dispatcher)
            await page.goto(f"{base}/console/alerts/new")
            await expect(page.locator("#map")).to_have_attribute("data-ready", "1")
            await page.locator("#map").scroll_into_view_if_needed()
            await _tiles_loaded(page, "#map")
            assert await _centre_tile(page, "window.consoleMap.map") in loopback_tiles.tiles
            credit = page.locator("#map .leaflet-control-attribution")
            await expect(credit).to_be_visible()
            await expect(credit).to_contain_text("© OpenStreetMap contributors")
            await expect(credit.locator('a[href="https://www.openstreetmap.org/copyright"]')).to_be_visible()
            await _links_open_in_a_new_tab(credit)
            await snap(page, "compose-map.png", full_page=False)
            compose_tiles = len(loopback_tiles.tiles)

            await page.goto(f"{base}/r/subscribe")
            picker = page.locator("#pick-map")
            await picker.scroll_into_view_if_needed()
            await _tiles_loaded(page, "#pick-map")
            assert len(loopback_tiles.tiles) > compose_tiles, "the sign-up map asked the tile server for nothing"
            credit = page.locator("#pick-map .leaflet-control-attribution")
            await expect(credit).to_contain_text("© OpenStreetMap contributors")
            await _links_open_in_a_new_tab(credit)
            await snap(page, "subscribe-map.png", full_page=False)
        finally:
            await browser.close()
    referers = {referer for path, referer in loopback_tiles.requests if path.endswith(".png")}
    assert referers == {f"{base}/"}, "tiles must send the site's origin as Referer, and never a page's path"
    assert _left_loopback(seen) == []


@pytest.fixture
def city_mbtiles(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """An MBTiles file of the example city at zooms 9 to 14 as ``ALERTSVC_TILES_FILE`` (before the live server)."""
    west, south, east, north = CITY
    tiles = []
    for z in MBTILES_ZOOMS:
        (x0, y0), (x1, y1) = tile_of(west, north, z), tile_of(east, south, z)
        tiles += [(z, x, y) for x in range(x0 - 1, x1 + 2) for y in range(y0 - 1, y1 + 2)]
    path = make_mbtiles(tmp_path / "city.mbtiles", tiles, attribution=MBTILES_CREDIT)
    monkeypatch.setenv("ALERTSVC_TILES_FILE", str(path))
    yield path


async def test_on_a_closed_network_the_maps_use_the_services_own_tiles(
    city_mbtiles: Path, live_server: LiveServer, loopback_tiles: TileServer
) -> None:
    base = live_server.url
    seen: list[str] = []
    answers: list[tuple[str, int]] = []
    async with async_playwright() as playwright:
        browser = await _launch(playwright)
        try:
            page = await (await _recording_context(browser, seen)).new_page()

            def record(response: Response) -> None:
                answers.append((urlsplit(response.url).path, response.status))

            page.on("response", record)
            await page.goto(f"{base}/r/subscribe")
            await page.locator("#pick-map").scroll_into_view_if_needed()
            await _tiles_loaded(page, "#pick-map")
            centre = await _centre_tile(page, "window.residentMap")
            credit = page.locator("#pick-map .leaflet-control-attribution")
            await expect(credit).to_contain_text("Tiles © Example City GIS")
            await expect(credit.locator('a[href="https://gis.city.example/"]')).to_have_attribute("target", "_blank")
            await snap(page, "subscribe-map-mbtiles.png", full_page=False)
        finally:
            await browser.close()
    served = [(path, status) for path, status in answers if path.startswith("/tiles/")]
    assert (f"/tiles{centre}", 200) in served, served
    assert loopback_tiles.requests == [], "TILES_FILE set, yet the maps asked ALERTSVC_TILE_URL"
    assert _left_loopback(seen) == []
