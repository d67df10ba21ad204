"""Why a delivery was suppressed, in words a dispatcher reads (translated on the page).

The fan-out (:mod:`alertsvc.dispatch.audience`) and the state machine (:mod:`alertsvc.tracking.machine`) store a
short English reason on each suppressed delivery; the alert's page and its report list them apart from progress,
with their counts. A reason not listed here (a newer one) is shown as stored: never hidden.
"""

from __future__ import annotations

from typing import Final

from alertsvc.i18n import N_

__all__ = ["SUPPRESSION_WORDS"]

SUPPRESSION_WORDS: Final[dict[str, str]] = {
    "opted out": N_("opted out"),
    "preferences": N_("the resident's preferences (category or minimum severity)"),
    "quiet hours until the alert expired": N_("quiet hours lasting past the alert's expiry"),
    "alert cancelled": N_("the alert was cancelled before it was sent"),
    "alert expired": N_("the alert expired before it was sent"),
    "alert rejected": N_("the alert was rejected before it was sent"),
    "the alert expired before delivery": N_("the alert expired before delivery"),
    "unknown": N_("no reason recorded"),
}
