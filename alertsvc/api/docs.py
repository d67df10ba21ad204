"""``GET /docs``: the interactive API reference (Swagger UI), served entirely by this service.

FastAPI's own page loads Swagger UI from a CDN and starts it with an inline ``<script>``. A city's closed network has
no CDN, and a Content-Security-Policy without ``'unsafe-inline'`` scripts refuses inline code; so, as FastAPI
documents for self-hosting ("Custom Docs UI Static Assets"), the app is built with ``docs_url=None`` and this module
serves a small page of its own: the vendored Swagger UI files (``static/vendor/swagger-ui``, see its README) and the
start-up script ``static/api-docs.js``, which reads the OpenAPI address from a ``data-`` attribute.

There is no ``/docs/oauth2-redirect``: the API's only security scheme is an HTTP bearer key, and Swagger UI opens
that page only for OAuth2 flows. ReDoc (``/redoc``) is switched off (``redoc_url=None``): Swagger UI already shows
the whole schema, and ReDoc would add a second large bundle to vendor and keep up to date, a start-up
script, styles injected at run time and a ``blob:`` worker that a strict Content-Security-Policy would have to allow.
"""

from __future__ import annotations

from html import escape

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

DOCS_URL = "/docs"
SWAGGER_UI = "vendor/swagger-ui"
"""The vendored swagger-ui-dist files under the ``static`` mount."""

router = APIRouter(include_in_schema=False)

_PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<link rel="stylesheet" href="{css}">
<link rel="icon" type="image/png" href="{icon}">
</head>
<body>
<div id="swagger-ui" data-openapi-url="{openapi}"></div>
<script src="{bundle}"></script>
<script src="{init}"></script>
</body>
</html>
"""


@router.get(DOCS_URL, response_class=HTMLResponse)
async def swagger_ui(request: Request) -> HTMLResponse:
    """The Swagger UI page; every address in it is a path on this server (behind a proxy, under its root path)."""
    app = request.app
    root = str(request.scope.get("root_path", "")).rstrip("/")

    def static(path: str) -> str:
        return escape(root + str(app.url_path_for("static", path=path)))

    page = _PAGE.format(
        title=escape(f"{app.title} API reference"),
        css=static(f"{SWAGGER_UI}/swagger-ui.css"),
        icon=static(f"{SWAGGER_UI}/favicon-32x32.png"),
        bundle=static(f"{SWAGGER_UI}/swagger-ui-bundle.js"),
        init=static("api-docs.js"),
        openapi=escape(root + app.openapi_url),
    )
    return HTMLResponse(page)
