"""Read-only access to an MBTiles file (SQLite, MBTiles 1.3): the basemap of a network without internet access.

Two uses: :func:`describe` checks the file when the settings are read (so a wrong ``ALERTSVC_TILES_FILE`` stops
the service at start with one line, not every map later) and says what it holds; :func:`read_tile` finds one tile.
Both open the file read-only (``mode=ro``), so the service can never change an operator's tile set, and neither is
async: :mod:`alertsvc.web.tiles` calls :func:`read_tile` in a worker thread, off the event loop.

A tile lookup opens its own connection: 0.5 ms a tile on the 2-core test machine (0.03 ms on a kept connection;
a map view asks for about twenty), and in exchange no connection to share between threads or to close at shutdown,
and a file replaced on disk is read anew at once.
MBTiles rows count from the south (TMS); web maps (XYZ) count from the north: row = 2^z - 1 - y.
"""

from __future__ import annotations

import sqlite3
from contextlib import closing
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from alertsvc.errors import StartupRefused

__all__ = ["MEDIA_TYPES", "MBTilesError", "TileSet", "describe", "read_tile", "tms_row"]

MEDIA_TYPES = {"png": "image/png", "jpg": "image/jpeg", "jpeg": "image/jpeg", "webp": "image/webp"}
"""The raster formats a browser map shows, by the MBTiles ``format`` metadata value."""

_MAGIC: tuple[tuple[bytes, int, str], ...] = (
    (b"\x89PNG\r\n\x1a\n", 0, "png"),
    (b"\xff\xd8\xff", 0, "jpg"),
    (b"WEBP", 8, "webp"),
)
"""Signatures (bytes, offset, format) for a file whose metadata leaves ``format`` out (MBTiles before 1.1)."""


class MBTilesError(StartupRefused, ValueError):
    """The file is missing, unreadable, not MBTiles, or holds tiles a browser map cannot show.

    Refused at start (the settings check it); a ``ValueError`` too, so the settings' validator reports it as the
    value of ``ALERTSVC_TILES_FILE``.
    """


@dataclass(frozen=True)
class TileSet:
    """What an MBTiles file holds, as read at start."""

    path: Path
    format: str
    """``png``, ``jpg`` or ``webp``."""
    attribution: str | None
    """The ``attribution`` metadata (HTML, as the spec has it), or None when the file has none."""
    max_zoom: int | None
    """The deepest zoom level with tiles; the maps enlarge its tiles beyond it instead of showing nothing."""

    @property
    def media_type(self) -> str:
        return MEDIA_TYPES[self.format]


def tms_row(z: int, y: int) -> int:
    """The MBTiles ``tile_row`` of the XYZ tile row ``y`` at zoom ``z`` (rows counted from the south)."""
    return (1 << z) - 1 - y


def _connect(path: Path) -> sqlite3.Connection:
    """A read-only connection; ``as_uri`` percent-encodes the path, so no file name can add URI parameters."""
    return sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, check_same_thread=False)


def _sniff(data: bytes) -> str | None:
    for magic, offset, name in _MAGIC:
        if data[offset : offset + len(magic)] == magic:
            return name
    return None


@lru_cache(maxsize=8)
def describe(path: Path) -> TileSet:
    """Check that ``path`` is an MBTiles file of raster tiles and say what it holds.

    Cached per path: the settings check reads the file once at start, and every page that draws a map then asks
    again for the format and attribution without touching the disk. Raises :class:`MBTilesError` (one line).
    """
    if not path.exists():
        raise MBTilesError(f"{path} does not exist")
    if not path.is_file():
        raise MBTilesError(f"{path} is not a file")
    try:
        with closing(_connect(path)) as db:
            metadata = {str(name): value for name, value in db.execute("SELECT name, value FROM metadata")}
            db.execute("SELECT zoom_level, tile_column, tile_row, tile_data FROM tiles LIMIT 0").fetchall()
            declared = str(metadata.get("format") or "").strip().lower()
            if not declared:
                sample = db.execute("SELECT tile_data FROM tiles LIMIT 1").fetchone()
                if sample is not None and sample[0] is not None:
                    declared = _sniff(bytes(sample[0])) or ""
            max_zoom = _int(metadata.get("maxzoom"))
            if max_zoom is None:  # the spec's SHOULD; else the tiles say (the index answers MAX at once)
                max_zoom = _int(db.execute("SELECT MAX(zoom_level) FROM tiles").fetchone()[0])
    except sqlite3.Error as exc:
        raise MBTilesError(f"{path} is not an MBTiles file ({exc})") from exc
    if not declared:
        raise MBTilesError(f"{path} has no format in its metadata and no tile to tell it from")
    if declared not in MEDIA_TYPES:
        raise MBTilesError(f"{path} holds {declared} tiles; the maps show png, jpg or webp tiles only")
    attribution = str(metadata.get("attribution") or "").strip()
    return TileSet(
        path=path,
        format="jpg" if declared == "jpeg" else declared,
        attribution=attribution or None,
        max_zoom=max_zoom,
    )


def _int(value: object) -> int | None:
    """A zoom level from metadata text or a query, None when absent or not a number."""
    try:
        return int(str(value)) if value is not None else None
    except ValueError:
        return None


def read_tile(path: Path, z: int, x: int, y: int) -> bytes | None:
    """The bytes of tile ``z/x/y`` (XYZ numbering, as in the URL), or None when the file has no such tile.

    Blocking: call it in a thread. The caller has checked that x and y lie within zoom level z.
    """
    with closing(_connect(path)) as db:
        row = db.execute(
            "SELECT tile_data FROM tiles WHERE zoom_level = ? AND tile_column = ? AND tile_row = ?",
            (z, x, tms_row(z, y)),
        ).fetchone()
    return bytes(row[0]) if row is not None and row[0] is not None else None
