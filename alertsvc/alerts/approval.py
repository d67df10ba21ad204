"""When a console dispatcher's alert needs a second person (an approver) before it goes out.

By default every Actual alert does, and Exercise and Test alerts (which reach test recipients only) do not. A
deployment may waive approval for chosen categories (e.g. routine ``Met`` notices) or for alerts reaching at most
a given number of residents; both are off unless configured. API keys are not governed by this: their scope
decides (``alerts:send`` sends, ``alerts:write`` waits), as the contract says.
"""

from __future__ import annotations

from alertsvc.cap import Alert as CapAlert
from alertsvc.settings import Settings


def needs_second_person(cap: CapAlert, reach: int | None, settings: Settings) -> bool:
    """Whether a dispatcher may not send this alert alone. Unknown reach never waives anything."""
    if str(cap.status) not in settings.approval_required_statuses:
        return False
    categories = {str(category) for info in cap.info for category in info.category}
    exempt = set(settings.approval_exempt_categories)
    if exempt and categories and categories <= exempt:
        return False
    limit = settings.approval_exempt_max_residents
    return not (limit > 0 and reach is not None and reach <= limit)
