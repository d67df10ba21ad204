"""A resident's manage link for tests, as the service makes it (alertsvc.residents.manage_links)."""

from __future__ import annotations

from datetime import datetime

from alertsvc.clock import utcnow
from alertsvc.runtime import Runtime
from alertsvc.security.manage_links import ManageLinkSigner


def manage_token(runtime: Runtime, resident_id: int, epoch: int = 0, made: datetime | None = None) -> str:
    """The token of a manage link for ``resident_id`` made at ``made`` (now) in link epoch ``epoch``."""
    return ManageLinkSigner(runtime.settings.signing_key()).sign(resident_id, epoch, made or utcnow())
