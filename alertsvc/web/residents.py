"""Resident self-service pages under ``/r/``: sign up (double opt-in), confirm, manage preferences and the choice
of community messages.

Server-rendered and usable without JavaScript, in English, French and Spanish. Every form carries a CSRF token
(double-submit cookie, :mod:`alertsvc.security.form_tokens`); the public endpoints are rate limited; answers do
not reveal whether an address is already subscribed.

The checks every handler used to repeat are dependencies: :data:`ValidLink` (the manage link opens a resident, or
the request is answered with the page saying the link is not ours, 404, or no longer good, 410) and
:data:`CheckedForm` (the posted form, or the "form expired" page, 403). A dependency that answers raises
:class:`PageAnswer`, which this router's route class turns into the page it carries.

Community messages (meeting invitations, news of supported priorities) are a class of their own, off until the
resident chooses them (:mod:`alertsvc.residents.message_classes`): the manage page offers the choice as two radio
buttons, and the sign-up form an unticked box; each choice goes to the consent ledger.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates

from alertsvc.dispatch.jobs import SEND_CONFIRMATION
from alertsvc.http.deps import RuntimeDep
from alertsvc.http.ratelimit import link_rate_limit, rate_limit
from alertsvc.lanes import Lane, enqueue_in_lane
from alertsvc.residents import manage_links, selfservice
from alertsvc.residents.importer import validation_options
from alertsvc.residents.manage_links import LinkState, ManageAccess
from alertsvc.residents.message_classes import community_choice, set_community
from alertsvc.residents.subscribe import Signup, validate_signup
from alertsvc.residents.validation import CATEGORIES, SEVERITIES, validate_row
from alertsvc.resources import templates_dir
from alertsvc.runtime import Runtime
from alertsvc.security.form_tokens import COOKIE, FormTokens
from alertsvc.security.links import LinkSigner
from alertsvc.web.console.areas import zones_geojson
from alertsvc.web.i18n import gettext_for, pick_language
from alertsvc.web.pages import PageRoute
from alertsvc.web.tiles import basemap


class PageAnswer(Exception):
    """A dependency's check ended the request with a page of its own (a link that is not ours or no longer good, a
    form whose CSRF token does not match); :class:`ResidentPageRoute` answers with it."""

    def __init__(self, response: Response) -> None:
        super().__init__(response.status_code)
        self.response = response


class ResidentPageRoute(PageRoute):
    """:class:`~alertsvc.web.pages.PageRoute`, whose dependencies may answer with a page (:class:`PageAnswer`)."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def answering_handler(request: Request) -> Response:
            try:
                return await handler(request)
            except PageAnswer as answer:
                return answer.response

        return answering_handler


router = APIRouter(
    prefix="/r",
    tags=["resident pages"],
    include_in_schema=False,  # pages for people (forms with CSRF tokens), not an API
    route_class=ResidentPageRoute,
)
templates = Jinja2Templates(directory=str(templates_dir()))
PROFILE_FIELDS = ("language", "min_severity", "quiet_start", "quiet_end", "timezone")
CHANNEL_LABELS = {"sms": "SMS", "email": "E-mail", "push": "Push"}
PAGE_LIMIT = Depends(rate_limit("resident-pages", "60/minute"))
"""The budget per address of the pages reached without a link (sign-up, confirmation)."""
MANAGE_LIMIT = Depends(link_rate_limit("manage"))
"""The manage link's: per link (one resident) and a generous per-address ceiling, as the links in messages, since
residents behind one carrier NAT open their manage links from the same alert at once."""


def _tokens(runtime: Runtime) -> FormTokens:
    return FormTokens(runtime.settings.signing_key())


def _language(request: Request, stored: str | None = None) -> str:
    """The resident's ``stored`` language when the page knows the resident, then ``?lang=``, then the browser's."""
    return pick_language(request.query_params.get("lang"), request.headers.get("accept-language"), stored)


def _render(
    request: Request, runtime: Runtime, name: str, status: int = 200, *, stored: str | None = None, **context: Any
) -> HTMLResponse:
    """A page in the reader's language (``stored``: the resident's, when the page knows who it is), with its
    translations and a fresh CSRF token (and its cookie)."""
    lang = _language(request, stored)
    cookie = request.cookies.get(COOKIE) or FormTokens.new_cookie_value()
    translate = gettext_for(lang)
    context.update(lang=lang, _=translate, ngettext=translate.ngettext, csrf=_tokens(runtime).field_for(cookie))
    response = templates.TemplateResponse(request, name, context, status_code=status)
    secure = runtime.settings.public_url.startswith("https://")
    response.set_cookie(COOKIE, cookie, httponly=True, samesite="strict", secure=secure, max_age=3600, path="/r")
    return response


async def _form(request: Request, runtime: Runtime) -> dict[str, Any] | None:
    """The posted form, or None when its CSRF token does not match the cookie."""
    form = await request.form()
    if not _tokens(runtime).check(request.cookies.get(COOKIE), str(form.get("csrf") or "")):
        return None
    values: dict[str, Any] = {key: str(value).strip() for key, value in form.items() if key != "categories"}
    values["categories"] = [str(value) for value in form.getlist("categories")]
    return values


def _forbidden(request: Request, runtime: Runtime) -> HTMLResponse:
    message = gettext_for(_language(request))("This form has expired. Please try again.")
    return _render(request, runtime, "pages/message.html", 403, title="403", text=message)


def _not_ours(request: Request, runtime: Runtime) -> HTMLResponse:
    message = gettext_for(_language(request))("This link is not valid.")
    return _render(request, runtime, "pages/message.html", 404, title="404", text=message)


async def checked_form(request: Request, runtime: RuntimeDep) -> dict[str, Any]:
    """The posted form; a form whose CSRF token does not match its cookie is answered "expired" (403)."""
    form = await _form(request, runtime)
    if form is None:
        raise PageAnswer(_forbidden(request, runtime))
    return form


CheckedForm = Annotated[dict[str, Any], Depends(checked_form)]


@router.get("", include_in_schema=False, dependencies=[PAGE_LIMIT])
async def root() -> Response:
    return RedirectResponse("/r/subscribe", status_code=303)


def _subscribe_page(request: Request, runtime: Runtime, status: int = 200, **context: Any) -> HTMLResponse:
    context.setdefault("form", {"categories": []})
    return _render(
        request, runtime, "pages/subscribe.html", status,
        zones=runtime.zones.names(), categories=CATEGORIES, severities=SEVERITIES, basemap=basemap(runtime.settings),
        **context,
    )  # fmt: skip


@router.get(
    "/zones.geojson", summary="The named zones residents can subscribe to, as GeoJSON", dependencies=[PAGE_LIMIT]
)
async def zones(runtime: RuntimeDep) -> Response:
    return JSONResponse(zones_geojson(runtime.zones), media_type="application/geo+json")


@router.get("/subscribe", response_class=HTMLResponse, summary="Sign-up form", dependencies=[PAGE_LIMIT])
async def subscribe_form(request: Request, runtime: RuntimeDep) -> HTMLResponse:
    return _subscribe_page(request, runtime)


@router.post(
    "/subscribe",
    response_class=HTMLResponse,
    summary="Sign up; each contact gets a confirmation",
    dependencies=[PAGE_LIMIT, Depends(rate_limit("resident-signup", "10/hour"))],
)
async def subscribe_submit(request: Request, runtime: RuntimeDep, form: CheckedForm) -> HTMLResponse:
    row = {key: form.get(key) for key in ("lat", "lon", "sms", "email", "push", *PROFILE_FIELDS)}
    row["categories"] = ",".join(form["categories"])
    zone = form.get("zone") or None
    if not zone and not (row["lat"] and row["lon"]):
        errors = [("lat", gettext_for(_language(request))("choose a neighbourhood or give coordinates"))]
        return _subscribe_page(request, runtime, 422, errors=errors, form=form)
    options = validation_options(runtime.settings)
    resident, problems = validate_signup(Signup({k: v for k, v in row.items() if v}, zone), runtime.zones, options)
    if resident is None:
        return _subscribe_page(request, runtime, 422, errors=[(p.field, p.reason) for p in problems], form=form)
    community = form.get("community") == "yes"
    contact_ids = await selfservice.sign_up(runtime, resident, zone, "web form", community=community)
    for contact_id in contact_ids:
        await enqueue_in_lane(
            runtime.redis, SEND_CONFIRMATION, contact_id, _language(request), lane=Lane.BULK, job_id=None
        )
    return _render(request, runtime, "pages/subscribe_sent.html", address=resident.sms or "")


@router.get(
    "/confirm", response_class=HTMLResponse, summary="Enter an SMS confirmation code", dependencies=[PAGE_LIMIT]
)
async def confirm_form(request: Request, runtime: RuntimeDep) -> HTMLResponse:
    return _render(request, runtime, "pages/confirm.html")


@router.post(
    "/confirm",
    response_class=HTMLResponse,
    summary="Confirm a phone number with its code",
    dependencies=[PAGE_LIMIT, Depends(rate_limit("resident-confirm", "20/hour"))],
)
async def confirm_code(request: Request, runtime: RuntimeDep, form: CheckedForm) -> HTMLResponse:
    _ = gettext_for(_language(request))
    checked = validate_row({"ref": "x", "lat": 0, "lon": 0, "sms": form.get("address", "")},
                           validation_options(runtime.settings))  # fmt: skip
    done = False
    if not isinstance(checked, list) and checked.sms:
        done = await selfservice.confirm_by_code(runtime, checked.sms, form.get("code", ""))
    message = _("Confirmed: you will now receive alerts.") if done else _("The code is not valid or has expired.")
    return _render(request, runtime, "pages/confirm.html", 200 if done else 422, message=message, done=done)


def _split_link(token: str) -> tuple[int, str] | None:
    ident, _, secret = token.partition("-")
    return (int(ident), secret) if ident.isdigit() and len(ident) <= 18 and secret else None


@router.get(
    "/confirm/{token}",
    response_class=HTMLResponse,
    summary="Confirmation link page (records nothing)",
    dependencies=[PAGE_LIMIT],
)
async def confirm_link_page(request: Request, token: str, runtime: RuntimeDep) -> HTMLResponse:
    return _render(request, runtime, "pages/confirm.html", link_form=_split_link(token) is not None)


@router.post(
    "/confirm/{token}",
    response_class=HTMLResponse,
    summary="Confirm an e-mail or push contact",
    dependencies=[PAGE_LIMIT],
)
async def confirm_link(request: Request, token: str, runtime: RuntimeDep, _form: CheckedForm) -> HTMLResponse:
    _ = gettext_for(_language(request))
    parts = _split_link(token)
    done = False
    if parts is not None:
        done = await selfservice.confirm_by_link(runtime, *parts)
    message = _("Confirmed: you will now receive alerts.") if done else _("This link is not valid or has expired.")
    return _render(request, runtime, "pages/confirm.html", 200 if done else 422, message=message, done=True)


async def valid_manage_link(request: Request, token: str, runtime: RuntimeDep) -> ManageAccess:
    """The resident a good manage link opens; a link that is not ours is answered 404, one no longer good 410
    (expired or revoked, in the resident's language, offering a fresh link by one of their contacts)."""
    access = await any_manage_link(request, token, runtime)
    if access.state is not LinkState.VALID:
        raise PageAnswer(await _link_ended(request, runtime, token, access))
    return access


async def any_manage_link(request: Request, token: str, runtime: RuntimeDep) -> ManageAccess:
    """The resident of a manage link of ours, good or not (the renewal asks for a fresh one); else 404."""
    access = await manage_links.open_manage_link(runtime, token)
    if access is None:
        raise PageAnswer(_not_ours(request, runtime))
    return access


ValidLink = Annotated[ManageAccess, Depends(valid_manage_link)]
AnyLink = Annotated[ManageAccess, Depends(any_manage_link)]


async def _link_ended(
    request: Request, runtime: Runtime, token: str, access: ManageAccess, status: int = 410, **context: Any
) -> HTMLResponse:
    contacts = await selfservice.renewal_contacts(runtime, access.resident_id)
    choices = [{"id": c.id, "label": f"{CHANNEL_LABELS.get(c.channel, c.channel)} …{c.address[-4:]}"} for c in contacts]
    return _render(
        request, runtime, "pages/manage_ended.html", status, stored=access.language, token=token,
        revoked=access.state is LinkState.REVOKED, choices=choices, **context,
    )  # fmt: skip


async def _manage_page(
    request: Request, runtime: Runtime, token: str, resident_id: int, status: int = 200, **context: Any
) -> HTMLResponse:
    unsubscribe = LinkSigner(runtime.settings.signing_key(), "unsubscribe")
    found = await selfservice.preferences(runtime, resident_id)
    if found is None:
        return _not_ours(request, runtime)
    resident = found.resident
    _ = gettext_for(_language(request, resident.language))
    views = [
        {
            "label": f"{CHANNEL_LABELS.get(c.channel, c.channel)} …{c.address[-4:]}",
            "state": _("unsubscribed") if c.opted_out_at else (_("active") if c.confirmed_at else _("unconfirmed")),
            "unsubscribe": None if c.opted_out_at else f"/u/{unsubscribe.sign(c.id)}",
        }
        for c in found.contacts
    ]
    chosen = (resident.categories or "").split(",")
    return _render(
        request, runtime, "pages/manage.html", status, stored=resident.language, resident=resident, contacts=views,
        chosen=chosen, categories=CATEGORIES, severities=SEVERITIES, token=token,
        link_days=runtime.settings.manage_link_days, community=await community_choice(runtime, resident_id), **context,
    )  # fmt: skip


@router.get(
    "/manage/{token}",
    response_class=HTMLResponse,
    summary="Manage preferences (signed link)",
    dependencies=[MANAGE_LIMIT],
)
async def manage_page(request: Request, token: str, runtime: RuntimeDep, access: ValidLink) -> HTMLResponse:
    return await _manage_page(request, runtime, token, access.resident_id)


@router.post("/manage/{token}", response_class=HTMLResponse, summary="Save preferences", dependencies=[MANAGE_LIMIT])
async def manage_save(
    request: Request, token: str, runtime: RuntimeDep, access: ValidLink, form: CheckedForm
) -> HTMLResponse:
    resident_id = access.resident_id
    row: dict[str, Any] = {"ref": "x", "lat": 0, "lon": 0, "categories": ",".join(form["categories"])}
    row.update({key: form.get(key) for key in PROFILE_FIELDS if form.get(key)})
    checked = validate_row(row, validation_options(runtime.settings))
    if isinstance(checked, list):
        errors = [(p.field, p.reason) for p in checked]
        return await _manage_page(request, runtime, token, resident_id, 422, errors=errors)
    await selfservice.save_preferences(runtime, resident_id, checked)
    return await _manage_page(request, runtime, token, resident_id, saved=True)


@router.post(
    "/manage/{token}/community",
    response_class=HTMLResponse,
    summary="Choose community messages (meeting invitations, news of supported priorities) or not",
    dependencies=[MANAGE_LIMIT],
)
async def manage_community(
    request: Request, token: str, runtime: RuntimeDep, access: ValidLink, form: CheckedForm
) -> HTMLResponse:
    """The resident's choice, ``community`` = ``yes`` or ``no``, written to the consent ledger (one row per contact,
    only when it changes); anything else is answered 422 with the page and nothing changes."""
    choice = form.get("community")
    if choice not in {"yes", "no"}:
        _ = gettext_for(_language(request))
        errors = [("community", _("choose yes or no"))]
        return await _manage_page(request, runtime, token, access.resident_id, 422, community_errors=errors)
    await set_community(runtime, access.resident_id, choice == "yes", "manage_link", source="manage page")
    return await _manage_page(request, runtime, token, access.resident_id, community_saved=True)


@router.post(
    "/manage/{token}/sign-out",
    response_class=HTMLResponse,
    summary="Sign out of every manage link",
    dependencies=[MANAGE_LIMIT],
)
async def manage_sign_out(token: str, runtime: RuntimeDep, access: ValidLink, _form: CheckedForm) -> Response:
    """Void every manage link of the resident, this one included; the page then offers a fresh link by contact."""
    await manage_links.sign_out_everywhere(runtime, access.resident_id)
    return RedirectResponse(f"/r/manage/{token}", status_code=303)


@router.post(
    "/manage/{token}/renew",
    response_class=HTMLResponse,
    summary="Send a fresh manage link to one of the resident's contacts",
    dependencies=[MANAGE_LIMIT],
)
async def manage_renew(
    request: Request, token: str, runtime: RuntimeDep, access: AnyLink, form: CheckedForm
) -> HTMLResponse:
    """From an expired or revoked link's page: a new link goes to the contact chosen (one of the resident's own,
    confirmed and subscribed), never to this browser, through the "already subscribed" message of a sign-up."""
    chosen = form.get("contact", "")
    contact_id = int(chosen) if chosen.isdigit() and len(chosen) <= 18 else None
    language = _language(request, access.language)
    if contact_id is not None and await selfservice.may_send_manage_link(runtime, access.resident_id, contact_id):
        await enqueue_in_lane(runtime.redis, SEND_CONFIRMATION, contact_id, language, lane=Lane.BULK, job_id=None)
    return await _link_ended(request, runtime, token, access, 200, sent=True)
