"""The console's community pages: residents' priorities to moderate (``/console/priorities``) and neighbourhood
meetings to hold (``/console/meetings``).

Thin routes over :mod:`alertsvc.community.priorities` and :mod:`alertsvc.community.meetings`, which own the tables
and write each change's audit row in the same transaction; here the forms are read, checked field by field (each
error shown next to its field, the page answered 422 with what was typed) and handed over.

Who may do what, and why:

- Every console role reads both pages: what residents ask for, and which meetings are held, is context for anyone
  who writes to residents.
- Moderating a priority (its status, the public response, hiding it) is for approvers and admins. A response is the
  office speaking publicly, in writing, and it is messaged to every supporter; hiding a proposal takes a resident's
  voice off the public page. Both are the kind of decision the console already gives to a second, senior person
  (approving an alert), and keeping them there means one person on shift cannot quietly bury a complaint.
- Holding, changing and cancelling a meeting is for every role, dispatchers included: it is routine scheduling that
  officers on the ground ask for, it carries no warning, its messages are non-urgent (quiet hours, weekly cap, opt-in
  only), and it can be changed until it starts; the audit log says who did it. A cancelled meeting stays listed,
  marked cancelled, and can no longer be changed.

Meeting times are typed as local wall-clock times (``datetime-local``) in a named time zone (IANA: the form fills in
the browser's with a small script, UTC without it); a time that does not exist or occurs twice in that zone (the
clocks change) is refused rather than guessed. Pages show times in UTC, and in the reader's zone with JavaScript.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Annotated, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from alertsvc.community.meetings import (
    MeetingError,
    MeetingView,
    UnknownZone,
    cancel_meeting,
    create_meeting,
    get_meeting,
    past_meetings,
    upcoming_meetings,
    update_meeting,
)
from alertsvc.community.priorities import RESPONSE_MAX, PriorityStatus, moderate, staff_priorities
from alertsvc.http.deps import RuntimeDep
from alertsvc.i18n import N_
from alertsvc.web.console.deps import Approver, CsrfChecked, CurrentUser
from alertsvc.web.console.pages import render
from alertsvc.web.console.route import ConsoleRoute

__all__ = ["router"]

router = APIRouter(route_class=ConsoleRoute)
RowId = Annotated[int, Path(ge=1, le=2**63 - 1)]
ZoneFilter = Annotated[str | None, Query(max_length=100)]
FORM_LIMIT = 20_000
"""The longest value any field of these forms is read at: past the fields' own limits, so a long text is refused
next to its field (not by a bare 422 page)."""
TITLE_MAX, PLACE_MAX, DESCRIPTION_MAX = 200, 300, 5000
"""As the API's ``MeetingIn`` and the ``meetings`` columns."""

STATUS_WORDS: dict[str, str] = {
    PriorityStatus.OPEN.value: N_("Open"),
    PriorityStatus.IN_PROGRESS.value: N_("In progress"),
    PriorityStatus.DONE.value: N_("Done"),
}
"""Each priority status as a person reads it (the zone page says the same)."""
TEXTS = (
    N_("no meeting with that id"),
    N_("a meeting that has started can no longer be changed or cancelled"),
    N_("no priority with that id"),
    N_("no zone by this name"),
    N_("the meeting must start in the future"),
    N_("the meeting must end after it starts"),
    N_("a meeting lasts at most two days"),
)
"""The domain's refusals, for the console's catalogue: the error page and the field errors show them translated."""

CHOOSE_STATUS = N_("Choose a status.")
RESPONSE_TOO_LONG = N_("A response has at most 5,000 characters.")
CHOOSE_ZONE = N_("Choose a neighbourhood.")
WRITE_TITLE = N_("Write a title of at most 200 characters.")
WRITE_PLACE = N_("Write where it is held, in at most 300 characters.")
DESCRIPTION_TOO_LONG = N_("A description has at most 5,000 characters.")
NOT_A_TIME = N_("Enter a date and a time.")
NOT_A_ZONE = N_("Not a time zone: use a name such as America/Toronto or UTC.")
NO_SUCH_TIME = N_("This time does not exist in this time zone (the clocks move forward then).")
TWICE = N_("This time occurs twice in this time zone (the clocks go back then): choose another.")


def _text(value: Any) -> str:
    return value if isinstance(value, str) else ""


def _back(path: str, zone: str, anchor: str) -> Response:
    query = f"?zone={zone}" if zone else ""
    return RedirectResponse(f"{path}{query}#{anchor}", status_code=303)


def _zone_or_none(zone: str | None) -> str | None:
    return (zone or "").strip() or None


# Priorities ---------------------------------------------------------------------------------------------------------


async def _priorities_page(
    request: Request, runtime: RuntimeDep, user: CurrentUser, zone: str | None, status_code: int = 200, **extra: Any
) -> Response:
    priorities = await staff_priorities(runtime, zone)
    context = {
        "priorities": priorities, "zones": runtime.zones.names(), "zone": zone or "", "status_words": STATUS_WORDS,
        "can_moderate": user.can_approve, "response_max": RESPONSE_MAX, "errors": {}, "typed": {}, **extra,
    }  # fmt: skip
    return render(request, "priorities.html", context, status_code)


@router.get("/priorities", response_class=HTMLResponse)
async def priorities_page(
    request: Request, runtime: RuntimeDep, user: CurrentUser, zone: ZoneFilter = None
) -> Response:
    """Every priority (hidden ones too) of one neighbourhood or all, with its support, status and response."""
    return await _priorities_page(request, runtime, user, _zone_or_none(zone))


@router.post("/priorities/{priority_id}", response_class=HTMLResponse)
async def answer_priority(
    request: Request, priority_id: RowId, runtime: RuntimeDep, user: Approver, _csrf: CsrfChecked
) -> Response:
    """Set a priority's status and its public response (an empty response withdraws it)."""
    form = await request.form(max_part_size=FORM_LIMIT)
    status, response = _text(form.get("status")), _text(form.get("response"))
    back = _zone_or_none(_text(form.get("zone"))[:100])
    errors = {}
    if status not in STATUS_WORDS:
        errors[f"p{priority_id}-status"] = CHOOSE_STATUS
    if len(response.strip()) > RESPONSE_MAX:
        errors[f"p{priority_id}-response"] = RESPONSE_TOO_LONG
    if errors:
        typed = {priority_id: {"status": status, "response": response}}
        return await _priorities_page(request, runtime, user, back, 422, errors=errors, typed=typed)
    await moderate(runtime, priority_id, actor=user.principal.name, status=PriorityStatus(status), response=response)
    return _back("/console/priorities", back or "", f"priority-{priority_id}")


@router.post("/priorities/{priority_id}/hidden")
async def hide_priority(
    request: Request, priority_id: RowId, runtime: RuntimeDep, user: Approver, _csrf: CsrfChecked
) -> Response:
    """Hide a priority from the public (``hidden=yes``) or show it again (``hidden=no``)."""
    form = await request.form(max_part_size=FORM_LIMIT)
    back = _zone_or_none(_text(form.get("zone"))[:100])
    await moderate(runtime, priority_id, actor=user.principal.name, hidden=_text(form.get("hidden")) == "yes")
    return _back("/console/priorities", back or "", f"priority-{priority_id}")


# Meetings -----------------------------------------------------------------------------------------------------------


@dataclass
class MeetingForm:
    """A meeting form as typed, and what is wrong with it (field name -> message id)."""

    zone: str = ""
    title: str = ""
    starts: str = ""
    ends: str = ""
    timezone: str = "UTC"
    place: str = ""
    description: str = ""
    errors: dict[str, str] = field(default_factory=dict)
    starts_at: datetime | None = None
    ends_at: datetime | None = None

    @classmethod
    def of(cls, meeting: MeetingView) -> MeetingForm:
        """A meeting's form to edit it, its times in UTC."""
        return cls(
            zone=meeting.zone, title=meeting.title, starts=_local(meeting.starts_at), ends=_local(meeting.ends_at),
            timezone="UTC", place=meeting.place, description=meeting.description,
        )  # fmt: skip


def _local(moment: datetime) -> str:
    return moment.astimezone(ZoneInfo("UTC")).strftime("%Y-%m-%dT%H:%M")


def _zone_info(name: str) -> ZoneInfo | None:
    if name not in available_timezones() and name != "UTC":
        return None
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return None


def local_moment(text: str, zone: ZoneInfo) -> tuple[datetime | None, str | None]:
    """A ``datetime-local`` value read in ``zone``: the moment, or the reason it is refused (a message id).

    A wall-clock time skipped when the clocks move forward, or seen twice when they go back, is refused: guessing
    would put a meeting an hour away from where its organiser meant it."""
    try:
        naive = datetime.fromisoformat(text.strip())
    except ValueError:
        return None, NOT_A_TIME
    if naive.tzinfo is not None:
        return naive, None
    first, second = naive.replace(tzinfo=zone, fold=0), naive.replace(tzinfo=zone, fold=1)
    if first.utcoffset() != second.utcoffset():
        back = first.astimezone(ZoneInfo("UTC")).astimezone(zone).replace(tzinfo=None)
        return None, (NO_SUCH_TIME if back != naive else TWICE)
    return first, None


def read_meeting_form(data: Any, zones: list[str], *, editing: bool) -> MeetingForm:
    """The posted form, checked field by field (the domain checks the times' order and future once more)."""
    form = MeetingForm(
        zone=_text(data.get("zone")).strip(), title=" ".join(_text(data.get("title")).split()),
        starts=_text(data.get("starts")).strip(), ends=_text(data.get("ends")).strip(),
        timezone=_text(data.get("timezone")).strip() or "UTC", place=" ".join(_text(data.get("place")).split()),
        description=_text(data.get("description")).strip(),
    )  # fmt: skip
    errors = form.errors
    if not editing and form.zone not in zones:
        errors["zone"] = CHOOSE_ZONE
    if not form.title or len(form.title) > TITLE_MAX:
        errors["title"] = WRITE_TITLE
    if not form.place or len(form.place) > PLACE_MAX:
        errors["place"] = WRITE_PLACE
    if len(form.description) > DESCRIPTION_MAX:
        errors["description"] = DESCRIPTION_TOO_LONG
    zone = _zone_info(form.timezone)
    if zone is None:
        errors["timezone"] = NOT_A_ZONE
        return form
    form.starts_at, problem = local_moment(form.starts, zone)
    if problem:
        errors["starts"] = problem
    form.ends_at, problem = local_moment(form.ends, zone)
    if problem:
        errors["ends"] = problem
    return form


async def _meetings_page(
    request: Request,
    runtime: RuntimeDep,
    zone: str | None,
    form: MeetingForm | None = None,
    status_code: int = 200,
) -> Response:
    context = {
        "upcoming": await upcoming_meetings(runtime, zone, limit=200),
        "past": await past_meetings(runtime, zone, limit=50),
        "zones": runtime.zones.names(), "zone": zone or "", "form": form or MeetingForm(zone=zone or ""),
        "fresh": form is None, "editing": None, "limits": _limits(),
    }  # fmt: skip
    return render(request, "meetings.html", context, status_code)


def _limits() -> dict[str, int]:
    return {"title": TITLE_MAX, "place": PLACE_MAX, "description": DESCRIPTION_MAX}


@router.get("/meetings", response_class=HTMLResponse)
async def meetings_page(request: Request, runtime: RuntimeDep, _user: CurrentUser, zone: ZoneFilter = None) -> Response:
    """Upcoming and past meetings (of one neighbourhood or all), and the form to hold a new one."""
    return await _meetings_page(request, runtime, _zone_or_none(zone))


@router.post("/meetings", response_class=HTMLResponse)
async def hold_meeting(request: Request, runtime: RuntimeDep, user: CurrentUser, _csrf: CsrfChecked) -> Response:
    """Hold a meeting: its residents who chose community messages are invited (and reminded the day before)."""
    data = await request.form(max_part_size=FORM_LIMIT)
    form = read_meeting_form(data, runtime.zones.names(), editing=False)
    if not form.errors and form.starts_at and form.ends_at:
        try:
            meeting, _planned = await create_meeting(
                runtime, zone=form.zone, title=form.title, starts_at=form.starts_at, ends_at=form.ends_at,
                place=form.place, description=form.description, created_by=user.principal.name,
            )  # fmt: skip
        except MeetingError as exc:
            form.errors[_FIELD.get(exc.field, exc.field)] = str(exc)
        except UnknownZone:
            form.errors["zone"] = CHOOSE_ZONE
        else:
            return _back("/console/meetings", "", f"meeting-{meeting.id}")
    return await _meetings_page(request, runtime, None, form, 422)


_FIELD = {"starts_at": "starts", "ends_at": "ends"}
"""The domain's field names as the form's."""


async def _edit_page(request: Request, meeting: MeetingView, form: MeetingForm, status_code: int = 200) -> Response:
    context = {"editing": meeting, "form": form, "fresh": False, "limits": _limits(), "zones": [],
               "upcoming": [], "past": [], "zone": meeting.zone}  # fmt: skip
    return render(request, "meetings.html", context, status_code)


@router.get("/meetings/{meeting_id}", response_class=HTMLResponse)
async def edit_meeting_page(request: Request, meeting_id: RowId, runtime: RuntimeDep, _user: CurrentUser) -> Response:
    """A meeting's form to change it, and the button to cancel it."""
    meeting = await get_meeting(runtime, meeting_id)
    return await _edit_page(request, meeting, MeetingForm.of(meeting))


@router.post("/meetings/{meeting_id}", response_class=HTMLResponse)
async def change_meeting(
    request: Request, meeting_id: RowId, runtime: RuntimeDep, user: CurrentUser, _csrf: CsrfChecked
) -> Response:
    """Change a meeting that has not started (its neighbourhood stays)."""
    meeting = await get_meeting(runtime, meeting_id)
    form = read_meeting_form(await request.form(max_part_size=FORM_LIMIT), [], editing=True)
    form.zone = meeting.zone
    if not form.errors and form.starts_at and form.ends_at:
        try:
            await update_meeting(
                runtime, meeting_id, title=form.title, starts_at=form.starts_at, ends_at=form.ends_at,
                place=form.place, description=form.description, actor=user.principal.name,
            )  # fmt: skip
        except MeetingError as exc:
            form.errors[_FIELD.get(exc.field, exc.field)] = str(exc)
        else:
            return _back("/console/meetings", "", f"meeting-{meeting_id}")
    return await _edit_page(request, meeting, form, 422)


@router.post("/meetings/{meeting_id}/cancel")
async def cancel(meeting_id: RowId, runtime: RuntimeDep, user: CurrentUser, _csrf: CsrfChecked) -> Response:
    """Cancel a meeting that has not started: it stays on the zone page and in the calendar feed, marked cancelled."""
    await cancel_meeting(runtime, meeting_id, actor=user.principal.name)
    return RedirectResponse("/console/meetings", status_code=303)
