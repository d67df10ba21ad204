"""API key scopes and console roles: the names other systems put in their configuration."""

from __future__ import annotations

from enum import StrEnum


class Scope(StrEnum):
    ALERTS_READ = "alerts:read"
    ALERTS_WRITE = "alerts:write"
    ALERTS_SEND = "alerts:send"
    RESIDENTS_READ = "residents:read"
    RESIDENTS_WRITE = "residents:write"
    COMMUNITY_WRITE = "community:write"
    """Meetings (and, later, priorities' moderation): community work, never a warning."""
    TIPS_READ = "tips:read"
    """Anonymous tips and their threads (aliases, never the tipster's number or address)."""
    TIPS_WRITE = "tips:write"
    """Replies relayed to a tipster, and blocking a tipster (by tip, without seeing the contact)."""
    METRICS_READ = "metrics:read"
    """``GET /metrics`` only: what a Prometheus scraper is given, and nothing else."""
    ADMIN = "admin"


class Role(StrEnum):
    DISPATCHER = "dispatcher"
    APPROVER = "approver"
    ADMIN = "admin"


ROLE_SCOPES: dict[Role, frozenset[Scope]] = {
    Role.DISPATCHER: frozenset(
        {Scope.ALERTS_READ, Scope.ALERTS_WRITE, Scope.RESIDENTS_READ, Scope.TIPS_READ, Scope.TIPS_WRITE}
    ),
    Role.APPROVER: frozenset(
        {
            Scope.ALERTS_READ,
            Scope.ALERTS_WRITE,
            Scope.ALERTS_SEND,
            Scope.RESIDENTS_READ,
            Scope.TIPS_READ,
            Scope.TIPS_WRITE,
        }
    ),
    Role.ADMIN: frozenset(Scope),
}
"""What each console role may do, in API-scope terms, so one check serves keys and people."""


def parse_scopes(text: str) -> frozenset[Scope]:
    """Read a comma-separated scope list, refusing unknown names (a typo must not silently grant nothing)."""
    names = [part.strip() for part in text.split(",") if part.strip()]
    if not names:
        raise ValueError("at least one scope is required")
    unknown = sorted({name for name in names if name not in Scope._value2member_map_})
    if unknown:
        allowed = ", ".join(scope.value for scope in Scope)
        raise ValueError(f"unknown scope(s): {', '.join(unknown)} (allowed: {allowed})")
    return frozenset(Scope(name) for name in names)


def has_scope(granted: frozenset[Scope], needed: Scope) -> bool:
    """``admin`` implies every other scope; ``alerts:send`` implies ``alerts:write``."""
    if Scope.ADMIN in granted or needed in granted:
        return True
    return needed is Scope.ALERTS_WRITE and Scope.ALERTS_SEND in granted
