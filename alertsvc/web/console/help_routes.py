"""The residents who asked for help, as a list a dispatcher works through: the page, its CSV, and "handled" marks.

Thin routes over :mod:`alertsvc.tracking.help_requests`, which decides who sees contacts (staff roles that may
read residents) and writes the marks with their audit rows. The list also shows on the alert's own page
(``templates/console/_need_help.html``, included there); marking a row handled returns to where it was pressed.
The CSV is for a phone tree or a spreadsheet: every text cell is formula-safe
(:func:`alertsvc.alerts.report.safe_cell`), since references and replies are typed by people outside.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Form, Path, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from alertsvc.alerts import queries
from alertsvc.alerts.report import safe_cell
from alertsvc.http.deps import RuntimeDep
from alertsvc.i18n import N_
from alertsvc.tracking.help_requests import HelpRequest, help_requests, mark_handled, reopen
from alertsvc.web.console.deps import CsrfChecked, CurrentUser
from alertsvc.web.console.pages import render
from alertsvc.web.console.route import ConsoleRoute

router = APIRouter(route_class=ConsoleRoute)
TEXTS = (N_("No request for help from that resident to this alert."),)
"""The domain's refusal (:data:`~alertsvc.tracking.help_requests.NO_HELP_REQUEST`), for the console's catalogue:
the error page shows it translated."""
CSV_HEADER = (
    "resident_ref", "phone", "email", "language", "zone", "lat", "lon", "asked_at", "via", "replies", "status",
    "handled_by", "handled_at",
)  # fmt: skip
ResidentId = Annotated[int, Path(ge=1, le=2**63 - 1)]
RETURN_TO = {"alert": "/console/alerts/{alert_id}#need-help", "list": "/console/alerts/{alert_id}/help"}
"""Where a mark sends the dispatcher back to: the page the button was on."""


@router.get("/alerts/{alert_id}/help", response_class=HTMLResponse)
async def help_page(request: Request, alert_id: str, runtime: RuntimeDep, user: CurrentUser) -> Response:
    """Every request for help of one alert, on a page of its own (the alert's page shows the same list)."""
    alert = await queries.get_alert(runtime, alert_id)
    found = await help_requests(runtime, alert_id, user.principal)
    return render(request, "need_help.html", {"alert": alert, "help_requests": found, "help_return": "list"})


@router.get("/alerts/{alert_id}/help.csv")
async def help_csv(alert_id: str, runtime: RuntimeDep, user: CurrentUser) -> Response:
    await queries.get_alert(runtime, alert_id)
    found = await help_requests(runtime, alert_id, user.principal)
    return Response(
        write_csv(found),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="alert-{alert_id}-need-help.csv"'},
    )


MARKS = {"handled": mark_handled, "reopen": reopen}
"""What each mark button does: ``handled`` records who dealt with the request, ``reopen`` puts it back to wait."""


@router.post("/alerts/{alert_id}/help/{resident_id}/{mark}")
async def set_mark(
    alert_id: str,
    resident_id: ResidentId,
    mark: Literal["handled", "reopen"],
    runtime: RuntimeDep,
    user: CurrentUser,
    _csrf: CsrfChecked,
    back: Annotated[str, Form(max_length=10)] = "alert",
) -> Response:
    await MARKS[mark](runtime, alert_id, resident_id, user.principal)
    return _back(alert_id, back)


def _back(alert_id: str, back: str) -> Response:
    target = RETURN_TO.get(back, RETURN_TO["alert"]).format(alert_id=alert_id)
    return RedirectResponse(target, status_code=303)


def csv_rows(found: Iterable[HelpRequest]) -> Iterable[tuple[Any, ...]]:
    """One row a request, unescaped: contacts empty when the reader may not see them."""
    for item in found:
        contacts = item.contacts or ()
        phones = " ".join(address for channel, address in contacts if channel == "sms")
        emails = " ".join(address for channel, address in contacts if channel == "email")
        status = "asked_again" if item.asked_again else "handled" if item.handled else "waiting"
        yield (
            item.resident_ref, phones, emails, item.language, item.zone or "", item.lat, item.lon,
            item.asked_at.isoformat(), item.via, " | ".join(item.replies), status, item.handled_by or "",
            item.handled_at.isoformat() if item.handled_at else "",
        )  # fmt: skip


def write_csv(found: Iterable[HelpRequest]) -> str:
    """The list as CSV, every cell safe to open in a spreadsheet."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(CSV_HEADER)
    for row in csv_rows(found):
        writer.writerow([safe_cell(cell) for cell in row])
    return out.getvalue()
