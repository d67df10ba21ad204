"""Who is asking: an API key or a signed-in console user, reduced to a name and a set of scopes."""

from __future__ import annotations

from dataclasses import dataclass

from alertsvc.security.scopes import Scope, has_scope


@dataclass(frozen=True, slots=True)
class Principal:
    """The caller of a request. ``name`` is what the audit log records (``key:NAME`` or ``user:ID``)."""

    name: str
    scopes: frozenset[Scope]

    def can(self, scope: Scope) -> bool:
        return has_scope(self.scopes, scope)


SYSTEM = Principal(name="system", scopes=frozenset(Scope))
"""Work the service does on its own behalf (expiry, sweeper)."""
