"""Every action the code audits has words on the console's audit page: an action without them shows its bare code
("alert.text_cleaned") to an auditor who was never told what it means. Read from the source, so a new audited action
without words fails here, not in front of an auditor."""

from __future__ import annotations

import ast
from pathlib import Path

from alertsvc.web.console.audit_view import ACTION_WORDS

ROOT = Path(__file__).resolve().parents[2] / "alertsvc"
RECORDERS = {"record", "record_event"}


def _audited_actions() -> set[str]:
    """The literal ``action`` of every ``record``/``record_event`` call, and every ``"x.y"`` literal assigned to a
    name ``action`` (the migrations and the sweeper pick their action first, then record it)."""
    found: set[str] = set()
    for path in ROOT.rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Call):
                name = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", None)
                if name in RECORDERS and len(node.args) >= 3:
                    action = node.args[2]
                    if isinstance(action, ast.Constant) and isinstance(action.value, str):
                        found.add(action.value)
            elif isinstance(node, ast.Assign | ast.AnnAssign):
                value = node.value
                targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                names = [target for target in targets if isinstance(target, ast.Tuple)]
                for target in names:
                    for element, item in zip(target.elts, getattr(value, "elts", []), strict=False):
                        if isinstance(element, ast.Name) and element.id == "action" and isinstance(item, ast.Constant):
                            found.add(str(item.value))
    return found


def test_the_scan_finds_the_actions_it_must() -> None:
    actions = _audited_actions()
    assert {"alert.submit", "console.csrf_refused", "alert.text_cleaned", "alert.hidden_characters_kept"} <= actions


def test_every_audited_action_has_words_on_the_audit_page() -> None:
    missing = sorted(_audited_actions() - set(ACTION_WORDS))
    assert missing == []
