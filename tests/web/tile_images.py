"""Test basemaps with no internet: a PNG for any tile (a street grid and its own z/x/y written on it), a small
MBTiles file, and a tile server on loopback that records who asked for what.

The PNG is written with zlib and struct (no imaging library in the project): 256 x 256, a land colour, white
streets with grey edges, a yellow main road, a dark border, and the tile's address in a 3 x 5 pixel font, so a
screenshot shows where each tile went and a wrong tile (a row flipped, say) is another picture.
"""

from __future__ import annotations

import sqlite3
import struct
import threading
import zlib
from collections.abc import Iterable, Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass, field
from functools import lru_cache
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

SIZE = 256
LAND = (242, 239, 233)
STREET = (255, 255, 255)
KERB = (190, 186, 180)
MAIN_ROAD = (247, 220, 140)
BORDER = (90, 90, 90)
INK = (40, 40, 40)
GLYPHS = {
    "0": ("111", "101", "101", "101", "111"),
    "1": ("010", "110", "010", "010", "111"),
    "2": ("111", "001", "111", "100", "111"),
    "3": ("111", "001", "111", "001", "111"),
    "4": ("101", "101", "111", "001", "001"),
    "5": ("111", "100", "111", "001", "111"),
    "6": ("111", "100", "111", "101", "111"),
    "7": ("111", "001", "010", "010", "010"),
    "8": ("111", "101", "111", "101", "111"),
    "9": ("111", "101", "111", "001", "111"),
    "/": ("001", "001", "010", "100", "100"),
}


def _png(pixels: list[bytearray]) -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", SIZE, SIZE, 8, 2, 0, 0, 0)  # 8-bit RGB, no interlace
    raw = b"".join(b"\x00" + bytes(row) for row in pixels)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw, 6)) + chunk(b"IEND", b"")


def _fill(pixels: list[bytearray], x0: int, y0: int, x1: int, y1: int, colour: tuple[int, int, int]) -> None:
    for y in range(max(0, y0), min(SIZE, y1)):
        for x in range(max(0, x0), min(SIZE, x1)):
            pixels[y][3 * x : 3 * x + 3] = bytes(colour)


@lru_cache(maxsize=512)
def tile_png(z: int, x: int, y: int) -> bytes:
    """The test tile for XYZ address ``z/x/y``: the same address always gives the same bytes, another another."""
    pixels = [bytearray(bytes(LAND) * SIZE) for _ in range(SIZE)]
    for at in (64, 192):  # side streets, both ways, with kerbs
        _fill(pixels, 0, at - 5, SIZE, at + 5, KERB)
        _fill(pixels, at - 5, 0, at + 5, SIZE, KERB)
    for at in (64, 192):
        _fill(pixels, 0, at - 4, SIZE, at + 4, STREET)
        _fill(pixels, at - 4, 0, at + 4, SIZE, STREET)
    _fill(pixels, 122, 0, 134, SIZE, KERB)
    _fill(pixels, 123, 0, 133, SIZE, MAIN_ROAD)
    for edge in ((0, 0, SIZE, 2), (0, SIZE - 2, SIZE, SIZE), (0, 0, 2, SIZE), (SIZE - 2, 0, SIZE, SIZE)):
        _fill(pixels, *edge, BORDER)
    label = f"{z}/{x}/{y}"
    scale = max(2, min(6, 200 // (4 * len(label))))
    left, top = 12, 12
    _fill(pixels, left - 4, top - 4, left + 4 * scale * len(label) + 2, top + 5 * scale + 4, STREET)
    for n, char in enumerate(label):
        for row, bits in enumerate(GLYPHS[char]):
            for col, bit in enumerate(bits):
                if bit == "1":
                    px, py = left + (4 * n + col) * scale, top + row * scale
                    _fill(pixels, px, py, px + scale, py + scale, INK)
    return _png(pixels)


def make_mbtiles(
    path: Path,
    tiles: Iterable[tuple[int, int, int]],
    *,
    fmt: str | None = "png",
    attribution: str | None = None,
    data: dict[tuple[int, int, int], bytes] | None = None,
) -> Path:
    """An MBTiles 1.3 file holding each XYZ ``z/x/y`` of ``tiles`` (stored TMS, row flipped) as :func:`tile_png`,
    or as ``data[(z, x, y)]`` when given; ``fmt`` None leaves the format out of the metadata."""
    with closing(sqlite3.connect(path)) as db, db:
        db.execute("CREATE TABLE metadata (name TEXT, value TEXT)")
        db.execute("CREATE TABLE tiles (zoom_level INTEGER, tile_column INTEGER, tile_row INTEGER, tile_data BLOB)")
        db.execute("CREATE UNIQUE INDEX tile_index ON tiles (zoom_level, tile_column, tile_row)")
        metadata = {"name": "test city", "type": "baselayer", "version": "1"}
        if fmt is not None:
            metadata["format"] = fmt
        if attribution is not None:
            metadata["attribution"] = attribution
        db.executemany("INSERT INTO metadata VALUES (?, ?)", metadata.items())
        db.executemany(
            "INSERT INTO tiles VALUES (?, ?, ?, ?)",
            [(z, x, (1 << z) - 1 - y, (data or {}).get((z, x, y)) or tile_png(z, x, y)) for z, x, y in tiles],
        )
    return path


@dataclass
class TileServer:
    """A tile server on 127.0.0.1 answering any ``/{z}/{x}/{y}.png`` with :func:`tile_png`."""

    port: int
    requests: list[tuple[str, str | None]] = field(default_factory=list)
    """``(path, Referer)`` of each request, in order."""

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/{{z}}/{{x}}/{{y}}.png"

    @property
    def tiles(self) -> list[str]:
        return [path for path, _ in self.requests if path.endswith(".png")]


@contextmanager
def tile_server() -> Iterator[TileServer]:
    """Run a :class:`TileServer` in a thread for the duration of the block."""
    record = TileServer(port=0)

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            record.requests.append((self.path, self.headers.get("Referer")))
            parts = self.path.split("?")[0].removesuffix(".png").strip("/").split("/")
            if len(parts) != 3 or not all(part.isdigit() for part in parts) or not self.path.endswith(".png"):
                self.send_error(404)
                return
            body = tile_png(*(int(part) for part in parts))
            self.send_response(200)
            self.send_header("Content-Type", "image/png")
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Access-Control-Allow-Origin", "*")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    record.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, name="tile-server", daemon=True)
    thread.start()
    try:
        yield record
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)
