"""One owner per table: only the module (or package) that owns a table writes it, read from the code itself.

A write is ``insert(Model)``, ``update(Model)``, ``delete(Model)`` (or of ``Model.__table__`` through a module-level
alias), or ``session.add(Model(...))``. A new table must be given an owner here, so the map cannot fall behind the
schema (the meta-test style of STYLE.md 14).
"""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

import pytest

from alertsvc.store import models

PACKAGE = Path(__file__).resolve().parents[2] / "alertsvc"

OWNERS: dict[str, tuple[str, ...]] = {
    "Alert": ("alertsvc.alerts.",),
    "User": ("alertsvc.security.users",),
    "ApiKey": ("alertsvc.security.api_keys",),
    "AuditEvent": ("alertsvc.security.audit",),
    "Resident": ("alertsvc.residents.",),
    "Contact": ("alertsvc.residents.",),
    "ConsentEvent": ("alertsvc.residents.",),
    "CommunityConsent": ("alertsvc.residents.message_classes",),
    "Delivery": ("alertsvc.tracking.machine",),
    "EarlyCallback": ("alertsvc.tracking.machine",),
    "InboundMessage": ("alertsvc.residents.inbound",),
    "Acknowledgement": ("alertsvc.tracking.",),
    "Reply": ("alertsvc.tracking.",),
    "HelpHandled": ("alertsvc.tracking.help_requests",),
    "Webhook": ("alertsvc.webhooks.",),
    "WebhookEvent": ("alertsvc.webhooks.",),
    "Meeting": ("alertsvc.community.",),
    "CommunitySend": ("alertsvc.community.",),
    "Priority": ("alertsvc.community.",),
    "PrioritySupport": ("alertsvc.community.",),
    "Tip": ("alertsvc.community.tips",),
    "TipMessage": ("alertsvc.community.tips",),
    "TipBlock": ("alertsvc.community.tips",),
    "Address": ("alertsvc.residents.addresses",),
    "ReachGeneration": ("alertsvc.store.migrations",),  # written only by migration 0016's triggers
}
WRITES = {"insert", "update", "delete", "pg_insert", "sqlite_insert"}


def _tables() -> set[str]:
    return {
        name
        for name, value in vars(models).items()
        if isinstance(value, type)
        and issubclass(value, models.Base)
        and value is not models.Base
        and hasattr(value, "__tablename__")
    }


def _model_of(node: ast.expr, aliases: dict[str, str]) -> str | None:
    if isinstance(node, ast.Name):
        return aliases.get(node.id, node.id)
    if isinstance(node, ast.Attribute) and node.attr == "__table__" and isinstance(node.value, ast.Name):
        return node.value.id
    return None


def _writes() -> dict[str, set[str]]:
    """Model name -> the modules that write it."""
    found: dict[str, set[str]] = defaultdict(set)
    for path in PACKAGE.rglob("*.py"):
        if "migrations" in path.parts:
            continue
        module = ".".join(path.relative_to(PACKAGE.parent).with_suffix("").parts)
        tree = ast.parse(path.read_text(encoding="utf-8"))
        aliases: dict[str, str] = {}
        for statement in tree.body:  # NAME = cast(Table, Model.__table__) or NAME = Model.__table__
            if isinstance(statement, ast.Assign) and len(statement.targets) == 1:
                target = statement.targets[0]
                value = statement.value
                if isinstance(value, ast.Call) and value.args:
                    value = value.args[-1]
                model = _model_of(value, {})
                if isinstance(target, ast.Name) and model:
                    aliases[target.id] = model
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call) or not node.args:
                continue
            func = node.func
            name = func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else ""
            if name in WRITES:
                model = _model_of(node.args[0], aliases)
                if model:
                    found[model].add(module)
            elif name in {"add", "add_all"} and isinstance(node.args[0], ast.Call):
                model = _model_of(node.args[0].func, aliases)
                if model:
                    found[model].add(module)
    return found


def test_every_table_has_an_owner() -> None:
    assert _tables() == set(OWNERS), "give each table one owner in OWNERS (and remove tables that are gone)"


@pytest.mark.parametrize("model", sorted(OWNERS))
def test_only_the_owner_writes_the_table(model: str) -> None:
    writers = _writes().get(model, set())
    strangers = sorted(m for m in writers if not m.startswith(OWNERS[model]) and m + "." not in OWNERS[model])
    assert not strangers, f"{model} is written outside its owner {OWNERS[model]}: {strangers}"


def test_the_reader_sees_writes() -> None:
    """The scan itself works: the delivery state machine's writes are found (a blind scan would pass everything)."""
    writes = _writes()
    assert "alertsvc.tracking.machine" in writes["Delivery"]
    assert "alertsvc.security.users" in writes["User"]
    assert "alertsvc.alerts.states" in writes["Alert"]
