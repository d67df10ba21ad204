"""The maps' basemap: which tiles the console and sign-up maps show, and ``GET /tiles/{z}/{x}/{y}.png`` serving them
from an MBTiles file on a network without internet access.

Dispatchers draw an alert's area on these maps, so the streets have to be there; residents place their home on
one. Three cases, from the settings: ``ALERTSVC_TILES_FILE`` (this service serves the file's tiles, credited with
the file's own attribution); else ``ALERTSVC_TILE_URL`` (default OpenStreetMap's standard tiles, credited with
``ALERTSVC_TILE_ATTRIBUTION``); else, the URL set empty, no tiles at all (the plain background of before).

The attribution is HTML (OpenStreetMap's links to its copyright page) that Leaflet writes into the page as markup.
It comes from the operator or from a tiles file someone else made, so it is re-written here from an allow-list:
text, and links to http(s) addresses that open in a new tab (a dispatcher half-way through an alert must not lose
the form by clicking a credit). Everything else (scripts, event handlers, styles, other tags) is dropped.

:func:`tile_origins` says where tiles come from, for a Content-Security-Policy that allows exactly that origin.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import sqlite3
from dataclasses import dataclass
from html import escape
from html.parser import HTMLParser
from typing import Annotated

from fastapi import APIRouter, HTTPException, Path, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response

from alertsvc.mbtiles import describe, read_tile
from alertsvc.settings import Settings

__all__ = ["MAX_ZOOM", "TILES_URL", "Basemap", "basemap", "router", "safe_attribution", "tile_origins"]

TILES_URL = "/tiles/{z}/{x}/{y}.png"
"""Where this service serves the tiles of ``ALERTSVC_TILES_FILE`` (the contract's path; any format, despite .png)."""
MAX_ZOOM = 30
"""The deepest zoom a tile address may name (centimetres a pixel); beyond it no x or y fits in 32 bits."""
CACHE_CONTROL = "public, max-age=86400"
"""A day: tiles change when the operator replaces the file, rarely; the ETag lets a browser check cheaply after."""
DEFAULT_SUBDOMAINS = "abc"
"""Leaflet's default for ``{s}`` in a tile URL: the hosts the maps will fetch from."""

router = APIRouter(include_in_schema=False)
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Basemap:
    """What a page's map needs: the tile URL template ("" for none), the safe attribution HTML, and the deepest
    zoom the tiles have (None: unknown; deeper, Leaflet enlarges those tiles instead of showing nothing)."""

    url: str
    attribution: str
    max_native_zoom: int | None = None


def basemap(settings: Settings) -> Basemap:
    """The basemap the settings give. With a tiles file, an ``ALERTSVC_TILE_ATTRIBUTION`` the operator set wins
    over the file's metadata (to correct it); the OpenStreetMap default does not (the file may be anything)."""
    if settings.tiles_file is not None:
        tileset = describe(settings.tiles_file)  # cached: read once, when the settings were checked
        if "tile_attribution" in settings.model_fields_set:
            credit = settings.tile_attribution
        else:
            credit = tileset.attribution or ""
        return Basemap(TILES_URL, safe_attribution(credit), tileset.max_zoom)
    if settings.tile_url:
        return Basemap(settings.tile_url, safe_attribution(settings.tile_attribution))
    return Basemap("", "")


def tile_origins(settings: Settings) -> list[str]:
    """The origins the maps fetch tiles from, as a Content-Security-Policy ``img-src`` wants them: ``'self'`` for
    the tiles file or a path on this server, the scheme, host and port of a tile server otherwise (one per
    subdomain when the URL has ``{s}``), nothing when there is no basemap."""
    url = basemap(settings).url
    if not url:
        return []
    if url.startswith("/"):
        return ["'self'"]
    scheme, _, rest = url.partition("://")
    host = rest.split("/", 1)[0].split("?", 1)[0].lower()
    default_port = {"http": ":80", "https": ":443"}.get(scheme.lower(), "")
    if default_port and host.endswith(default_port):
        host = host.removesuffix(default_port)
    hosts = [host.replace("{s}", sub) for sub in DEFAULT_SUBDOMAINS] if "{s}" in host else [host]
    return [f"{scheme.lower()}://{name}" for name in hosts]


class _Credit(HTMLParser):
    """Re-writes attribution HTML from an allow-list: text (escaped) and ``<a href="http(s)://...">``."""

    DROPPED = frozenset({"script", "style", "template", "iframe", "object", "noscript", "textarea", "title"})
    """Elements whose content is not text to show."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.out: list[str] = []
        self.in_link = False
        self.dropping = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self.DROPPED:
            self.dropping += 1
        elif tag == "a" and not self.in_link and not self.dropping:
            href = (dict(attrs).get("href") or "").strip()
            scheme, _, rest = href.partition(":")
            if scheme.lower() in ("http", "https") and rest.startswith("//") and len(rest) > 2:
                self.out.append(f'<a href="{escape(href)}" target="_blank" rel="noopener noreferrer">')
                self.in_link = True

    def handle_endtag(self, tag: str) -> None:
        if tag in self.DROPPED:
            self.dropping = max(0, self.dropping - 1)
        elif tag == "a" and self.in_link:
            self.out.append("</a>")
            self.in_link = False

    def handle_data(self, data: str) -> None:
        if not self.dropping:
            self.out.append(escape(data, quote=False))

    def result(self) -> str:
        self.close()
        return ("".join(self.out) + ("</a>" if self.in_link else "")).strip()


def safe_attribution(text: str) -> str:
    """``text`` (HTML) with only its text and its http(s) links kept: safe to set as a page's markup."""
    parser = _Credit()
    parser.feed(text)
    return parser.result()


def _etag(data: bytes) -> str:
    return '"' + hashlib.blake2b(data, digest_size=16).hexdigest() + '"'


def _matches(if_none_match: str | None, etag: str) -> bool:
    """RFC 9110 13.1.2: weak comparison against each listed tag, or ``*``."""
    if not if_none_match:
        return False
    tags = [tag.strip() for tag in if_none_match.split(",")]
    return any(tag == "*" or tag.removeprefix("W/") == etag for tag in tags)


@router.get(TILES_URL)
async def tile(
    request: Request,
    z: Annotated[int, Path(ge=0, le=MAX_ZOOM)],
    x: Annotated[int, Path(ge=0)],
    y: Annotated[int, Path(ge=0)],
) -> Response:
    """One tile of ``ALERTSVC_TILES_FILE``, read in a thread; 404 when there is no file or no such tile, 422 when
    x or y lies outside zoom level z (the problem names which)."""
    settings: Settings = request.app.state.runtime.settings
    if settings.tiles_file is None:
        raise HTTPException(404, "no tiles file is configured (ALERTSVC_TILES_FILE); the maps use ALERTSVC_TILE_URL")
    side = 1 << z
    for name, value in (("x", x), ("y", y)):
        if value >= side:
            # As FastAPI's own refusal of a parameter, so the problem handler names the field the same way.
            error = {"type": "less_than", "loc": ("path", name), "msg": f"must be below {side} at zoom level {z}"}
            raise RequestValidationError([error])
    tileset = describe(settings.tiles_file)
    try:
        data = await asyncio.to_thread(read_tile, settings.tiles_file, z, x, y)
    except sqlite3.Error as exc:  # the file was moved or damaged after start: the operator's to fix, not a bug
        log.warning("tiles file %s cannot be read: %s", settings.tiles_file, exc)
        raise HTTPException(503, "the tiles file cannot be read", headers={"Retry-After": "60"}) from exc
    if data is None:
        raise HTTPException(404, f"the tiles file has no tile {z}/{x}/{y}")
    etag = _etag(data)
    headers = {"ETag": etag, "Cache-Control": CACHE_CONTROL}
    if _matches(request.headers.get("if-none-match"), etag):
        return Response(status_code=304, headers=headers)
    return Response(data, media_type=tileset.media_type, headers=headers)
