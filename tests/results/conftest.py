"""The console's signed-in clients (one per role) for the results pages."""

from tests.console.conftest import admin, approver, dispatcher, settings

__all__ = ["admin", "approver", "dispatcher", "settings"]
