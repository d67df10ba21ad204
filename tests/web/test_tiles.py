"""``GET /tiles/{z}/{x}/{y}.png``: the tiles of ``ALERTSVC_TILES_FILE``, byte for byte, rows flipped from TMS; a
missing tile is a 404, an address outside its zoom level a 422 naming the coordinate, never a 500; ETag and
Cache-Control let browsers keep tiles; the file is read in a worker thread, off the event loop."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

import alertsvc.web.tiles as tiles_module
from alertsvc.app import create_app
from alertsvc.runtime import open_runtime
from tests.conftest import make_settings
from tests.web.tile_images import make_mbtiles, tile_png

TILES = [(0, 0, 0), (1, 0, 0), (1, 1, 0), (1, 0, 1), (2, 1, 2), (2, 3, 0)]
"""XYZ addresses in the test file: every tile of zoom 1, two of zoom 2 (rows chosen so a flip would miss)."""
MISSING = [(1, 1, 1), (2, 0, 0), (2, 1, 1), (3, 0, 0)]

ClientFor = Callable[..., Any]


@pytest.fixture
async def client_for(tmp_path: Path, clean_redis: str) -> AsyncIterator[ClientFor]:
    """``await client_for(tiles_file=...)``: a client of an app with those settings (a real runtime on SQLite)."""
    opened: list[Any] = []

    async def make(**overrides: object) -> httpx.AsyncClient:
        settings = make_settings(
            tmp_path, f"sqlite+aiosqlite:///{tmp_path / f'tiles{len(opened)}.sqlite3'}", clean_redis, **overrides
        )
        runtime = await open_runtime(settings)
        client = httpx.AsyncClient(transport=httpx.ASGITransport(app=create_app(runtime=runtime)), base_url="http://t")
        opened.append((runtime, client))
        return client

    yield make
    for runtime, client in opened:
        await client.aclose()
        await runtime.close()


@pytest.fixture
def mbtiles(tmp_path: Path) -> Path:
    return make_mbtiles(tmp_path / "city.mbtiles", TILES, attribution="Test City survey")


async def test_each_tile_is_the_files_tile_with_its_row_flipped(client_for: ClientFor, mbtiles: Path) -> None:
    client = await client_for(tiles_file=mbtiles)
    for z, x, y in TILES:
        response = await client.get(f"/tiles/{z}/{x}/{y}.png")
        assert response.status_code == 200, (z, x, y, response.text)
        assert response.content == tile_png(z, x, y), f"tile {z}/{x}/{y} is another tile's picture"
        assert response.headers["content-type"] == "image/png"
        assert response.headers["cache-control"] == "public, max-age=86400"
        assert response.headers["etag"].startswith('"') and len(response.headers["etag"]) > 10


async def test_a_tile_the_file_lacks_is_a_404(client_for: ClientFor, mbtiles: Path) -> None:
    client = await client_for(tiles_file=mbtiles)
    for z, x, y in MISSING:
        response = await client.get(f"/tiles/{z}/{x}/{y}.png")
        assert response.status_code == 404, (z, x, y)
        assert response.headers["content-type"] == "application/problem+json"
        assert "etag" not in response.headers


@pytest.mark.parametrize(
    ("path", "field"),
    [
        ("/tiles/31/0/0.png", "z"),
        ("/tiles/-1/0/0.png", "z"),
        ("/tiles/1/2/0.png", "x"),
        ("/tiles/1/0/2.png", "y"),
        ("/tiles/2/4/0.png", "x"),
        ("/tiles/2/0/4.png", "y"),
        ("/tiles/0/-1/0.png", "x"),
        ("/tiles/0/0/-1.png", "y"),
        ("/tiles/a/0/0.png", "z"),
        ("/tiles/0/0/0x1.png", "y"),
        ("/tiles/0/99999999999999999999999999/0.png", "x"),
        ("/tiles/30/1073741824/0.png", "x"),
        ("/tiles/99999999999999999999999999/0/0.png", "z"),
    ],
)
async def test_an_address_outside_the_zoom_level_is_a_422_naming_it(
    client_for: ClientFor, mbtiles: Path, path: str, field: str
) -> None:
    client = await client_for(tiles_file=mbtiles)
    response = await client.get(path)
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert ["path", field] in [error["loc"] for error in response.json()["errors"]]


async def test_the_deepest_tile_of_the_deepest_zoom_is_looked_up(client_for: ClientFor, mbtiles: Path) -> None:
    """The last column and row of zoom 30 are in range: a 404 (no such tile), not a 422."""
    client = await client_for(tiles_file=mbtiles)
    last = (1 << 30) - 1
    assert (await client.get(f"/tiles/30/{last}/{last}.png")).status_code == 404


async def test_an_unchanged_tile_is_a_304(client_for: ClientFor, mbtiles: Path) -> None:
    client = await client_for(tiles_file=mbtiles)
    first = await client.get("/tiles/1/1/0.png")
    etag = first.headers["etag"]
    assert etag != (await client.get("/tiles/1/0/0.png")).headers["etag"], "two pictures, one ETag"
    for header in (etag, f"W/{etag}", f'"other", {etag}', "*"):
        again = await client.get("/tiles/1/1/0.png", headers={"If-None-Match": header})
        assert again.status_code == 304, header
        assert again.content == b""
        assert again.headers["etag"] == etag
        assert again.headers["cache-control"] == "public, max-age=86400"
    changed = await client.get("/tiles/1/1/0.png", headers={"If-None-Match": '"stale"'})
    assert changed.status_code == 200 and changed.content == first.content


@pytest.mark.parametrize(
    ("fmt", "data", "media_type"),
    [
        ("jpg", b"\xff\xd8\xff\xe0 a jpeg", "image/jpeg"),
        ("jpeg", b"\xff\xd8\xff\xe0 a jpeg", "image/jpeg"),
        ("webp", b"RIFF\x00\x00\x00\x00WEBPVP8 ", "image/webp"),
        ("PNG", tile_png(0, 0, 0), "image/png"),
        (None, b"RIFF\x00\x00\x00\x00WEBPVP8 ", "image/webp"),  # no format in the metadata: the bytes tell
    ],
)
async def test_the_content_type_is_the_files_format(
    client_for: ClientFor, tmp_path: Path, fmt: str | None, data: bytes, media_type: str
) -> None:
    path = make_mbtiles(tmp_path / "formats.mbtiles", [(0, 0, 0)], fmt=fmt, data={(0, 0, 0): data})
    client = await client_for(tiles_file=path)
    response = await client.get("/tiles/0/0/0.png")
    assert response.status_code == 200
    assert response.headers["content-type"] == media_type
    assert response.content == data


async def test_without_a_tiles_file_there_are_no_tiles(client_for: ClientFor) -> None:
    client = await client_for()
    response = await client.get("/tiles/0/0/0.png")
    assert response.status_code == 404
    assert "ALERTSVC_TILES_FILE" in response.json()["detail"]


async def test_a_file_gone_after_start_is_a_503_not_a_500(client_for: ClientFor, mbtiles: Path) -> None:
    client = await client_for(tiles_file=mbtiles)
    await asyncio.to_thread(mbtiles.unlink)
    response = await client.get("/tiles/0/0/0.png")
    assert response.status_code == 503
    assert response.headers["retry-after"] == "60"


async def test_the_file_is_read_in_a_worker_thread(
    client_for: ClientFor, mbtiles: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """SQLite blocks; read on the event loop, one slow disk would hold every request the process serves."""
    loop_thread = threading.current_thread()
    readers: list[threading.Thread] = []
    real = tiles_module.read_tile

    def recording(*args: Any) -> bytes | None:
        readers.append(threading.current_thread())
        return real(*args)

    monkeypatch.setattr(tiles_module, "read_tile", recording)
    client = await client_for(tiles_file=mbtiles)
    assert (await client.get("/tiles/0/0/0.png")).status_code == 200
    assert readers and all(thread is not loop_thread for thread in readers)
