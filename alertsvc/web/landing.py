"""``GET /``: the landing page, sending each visitor where they belong: residents to sign up, dispatchers to the
console, other systems to the API documentation.

Someone who opens the bare address (from a poster, a council web page, or the line ``alertsvc serve`` prints)
should find those three doors at once, with plain link text, on a page that works without script and reads well
with a screen reader (WCAG 2.1 AA). It is not part of the API, so it stays out of the OpenAPI document.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

from alertsvc.http.deps import RuntimeDep
from alertsvc.resources import templates_dir

router = APIRouter(include_in_schema=False)
templates = Jinja2Templates(directory=str(templates_dir()))


@router.get("/", response_class=HTMLResponse)
async def landing(request: Request, runtime: RuntimeDep) -> HTMLResponse:
    """The page; links carry the proxy's root path, so they work behind a path prefix too."""
    root = str(request.scope.get("root_path", "")).rstrip("/")
    context = {"lang": "en", "service_name": runtime.settings.service_name, "root": root}
    return templates.TemplateResponse(request, "pages/landing.html", context)
