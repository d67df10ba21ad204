"""Which package may import which, read from the source with ``ast``: a back-arrow (a lower package importing one
that calls it) fails here before it can close a cycle. Every import counts, also one inside a function or under
``TYPE_CHECKING``, because each is a dependency all the same."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import alertsvc

SOURCE_ROOT = Path(alertsvc.__file__).parent.parent
"""The directory holding the ``alertsvc`` package."""


def imports_in(source: str, module: str, is_package: bool = False) -> Iterator[tuple[int, str]]:
    """``(line, module)`` for every import in ``source``, the code of ``module``, relative ones resolved;
    ``from a import b`` yields ``a.b`` as well as ``a``, since ``b`` may be a module."""
    package = module if is_package else module.rpartition(".")[0]
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                parts = package.split(".")
                base = parts[: len(parts) - (node.level - 1)]
                origin = ".".join([*base, node.module] if node.module else base)
            else:
                origin = node.module or ""
            yield node.lineno, origin
            for alias in node.names:
                yield node.lineno, f"{origin}.{alias.name}"


def forbidden_imports(package: str, forbidden: tuple[str, ...], root: Path = SOURCE_ROOT) -> list[str]:
    """``file:line imports module`` for each import, anywhere in ``package``, of a module in ``forbidden``."""
    found = []
    for path in sorted((root / package.replace(".", "/")).rglob("*.py")):
        parts = path.relative_to(root).with_suffix("").parts
        is_package = parts[-1] == "__init__"
        module = ".".join(parts[:-1] if is_package else parts)
        for line, name in imports_in(path.read_text(encoding="utf-8"), module, is_package):
            if any(name == banned or name.startswith(banned + ".") for banned in forbidden):
                found.append(f"{path.relative_to(root)}:{line} imports {name}")
    return found


def test_the_import_reader_sees_every_form(tmp_path: Path) -> None:
    """Absolute, from, relative, nested and TYPE_CHECKING imports are all found: else the checks below prove nothing."""
    package = tmp_path / "alertsvc" / "webhooks"
    (package / "sub").mkdir(parents=True)
    (package / "__init__.py").write_text("from . import sender\n")
    (package / "sender.py").write_text(
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from alertsvc.dispatch.context import X\n"
    )
    (package / "sub" / "deep.py").write_text(
        "from ...dispatch import retry\ndef f() -> None:\n    import alertsvc.api\n"
    )
    (package / "clean.py").write_text("import alertsvc.apiary\nfrom alertsvc import webhooks\n")
    assert forbidden_imports("alertsvc.webhooks", ("alertsvc.dispatch", "alertsvc.api"), root=tmp_path) == [
        "alertsvc/webhooks/sender.py:3 imports alertsvc.dispatch.context",
        "alertsvc/webhooks/sender.py:3 imports alertsvc.dispatch.context.X",
        "alertsvc/webhooks/sub/deep.py:1 imports alertsvc.dispatch",
        "alertsvc/webhooks/sub/deep.py:1 imports alertsvc.dispatch.retry",
        "alertsvc/webhooks/sub/deep.py:3 imports alertsvc.api",
    ]
    assert list(imports_in("from . import sender\n", "alertsvc.webhooks", is_package=True)) == [
        (1, "alertsvc.webhooks"),
        (1, "alertsvc.webhooks.sender"),
    ]


def test_webhooks_imports_none_of_the_packages_that_call_it() -> None:
    """dispatch runs the webhook job, tracking and alerts emit events, api and web register webhooks, the entry
    modules start them all: webhooks imports none of them (dispatch <-> webhooks was a cycle; the backoff both use
    lives in ``alertsvc.backoff``)."""
    callers = ("dispatch", "tracking", "alerts", "api", "web", "app", "cli", "demo")
    banned = tuple(f"alertsvc.{name}" for name in callers)
    assert forbidden_imports("alertsvc.webhooks", banned) == []


def test_the_web_layer_imports_neither_sqlalchemy_nor_the_store() -> None:
    """The console and the resident pages call the domain packages, which own the tables and their transactions
    (the convention is in ``alertsvc/runtime.py``): no module under ``alertsvc/web`` reads or writes a row itself.
    A quick guard until import-linter's contracts run in CI."""
    assert len(list((SOURCE_ROOT / "alertsvc" / "web").rglob("*.py"))) >= 15, "the web layer is where it was"
    assert forbidden_imports("alertsvc.web", ("sqlalchemy", "alertsvc.store")) == []
