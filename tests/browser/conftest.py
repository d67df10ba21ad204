"""The live server fixture of the console flow, shared by every browser test, and the tile server every browser
test's maps use: OpenStreetMap is the default basemap, so without it Chromium would fetch tiles from the internet."""

from collections.abc import Iterator

import pytest

from tests.browser.test_console_flow import live_server  # noqa: F401 - registers the fixture
from tests.web.tile_images import TileServer, tile_server


@pytest.fixture(autouse=True)
def loopback_tiles(monkeypatch: pytest.MonkeyPatch) -> Iterator[TileServer]:
    """A tile server on 127.0.0.1 as ``ALERTSVC_TILE_URL`` for the settings every browser test builds (autouse
    fixtures come first, so the live server's settings read it); it records each request it gets."""
    with tile_server() as server:
        monkeypatch.setenv("ALERTSVC_TILE_URL", server.url)
        yield server
