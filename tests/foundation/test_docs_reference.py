"""The reference in ``docs/`` keeps up with the code: every setting, every command and option, every API route.

Operators and integrators read ``docs/``, not the source; a setting or an endpoint added without a line there is
one they cannot find. These tests read the lists from the code itself (the Settings model, the argparse parser,
the app's routes and its OpenAPI document), so nothing here needs updating by hand when the code grows; only the
docs do. The links between the pages are checked too, anchors included.
"""

from __future__ import annotations

import argparse
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from pydantic import AliasChoices
from starlette.routing import Mount

from alertsvc.app import create_app
from alertsvc.cli import build_parser
from alertsvc.settings import Settings

DOCS = Path(__file__).resolve().parents[2] / "docs"
PAGES = ("README.md", "cli.md", "settings.md", "api.md", "delivery-states.md", "targeting.md", "architecture.md")


def _read(name: str) -> str:
    return (DOCS / name).read_text(encoding="utf-8")


def _env_names(name: str, validation_alias: object) -> list[str]:
    """The variables a setting is read from: its aliases when it has them, else ``ALERTSVC_<NAME>``."""
    if isinstance(validation_alias, AliasChoices):
        return [str(choice) for choice in validation_alias.choices]
    if isinstance(validation_alias, str):
        return [validation_alias]
    return [f"{Settings.model_config.get('env_prefix', '')}{name}".upper()]


def test_every_setting_is_in_settings_md() -> None:
    text = _read("settings.md")
    primary = [_env_names(name, field.validation_alias)[0] for name, field in Settings.model_fields.items()]
    assert len(primary) >= 30, primary  # the model was read, not an empty list
    missing = [env for env in primary if f"`{env}`" not in text]
    assert missing == [], f"settings missing from docs/settings.md: {missing}"


def _commands(
    parser: argparse.ArgumentParser, path: tuple[str, ...] = ()
) -> Iterator[tuple[str, argparse.ArgumentParser]]:
    """Every runnable command (``db upgrade``, ``users create``, ...) with its own parser."""
    subcommands = [action for action in parser._actions if isinstance(action, argparse._SubParsersAction)]
    if not subcommands:
        yield " ".join(path), parser
        return
    for action in subcommands:
        for name, child in action.choices.items():
            yield from _commands(child, (*path, name))


def _section(text: str, command: str) -> str:
    """The part of cli.md under ``## `alertsvc <command>```, up to the next section."""
    match = re.search(rf"^## `alertsvc {re.escape(command)}`\n(.*?)(?=^## |\Z)", text, re.MULTILINE | re.DOTALL)
    assert match is not None, f"docs/cli.md has no section '## `alertsvc {command}`'"
    return match.group(1)


def test_every_command_and_its_options_are_in_cli_md() -> None:
    text = _read("cli.md")
    commands = dict(_commands(build_parser()))
    assert {"serve", "worker", "db upgrade", "users create", "keys create", "residents import", "demo"} <= set(commands)
    problems = []
    for command, parser in commands.items():
        section = _section(text, command)
        for action in parser._actions:
            if isinstance(action, argparse._HelpAction):
                continue
            names = action.option_strings or [(action.metavar or action.dest).upper()]
            problems.extend(f"alertsvc {command}: {name}" for name in names if f"`{name}" not in section)
    assert problems == [], f"arguments missing from their section of docs/cli.md: {problems}"


def _route_paths(routes: list[object]) -> Iterator[tuple[str, str]]:
    """(method, path) of every route, whichever way this FastAPI keeps included routers."""
    for route in routes:
        if isinstance(route, Mount):
            continue
        contexts = getattr(route, "effective_route_contexts", None)
        if contexts is not None:  # FastAPI 0.16x: included routers are resolved lazily
            for context in contexts():
                for method in getattr(context.original_route, "methods", None) or ():
                    yield method, context.path
            continue
        path = getattr(route, "path", None)
        assert path is not None, f"cannot read the path of {route!r}: update this walk for the FastAPI in use"
        for method in getattr(route, "methods", None) or ():
            yield method, path


def _documented_form(path: str) -> str:
    """``/api/v1/residents/{ref:path}`` is documented as ``/api/v1/residents/{ref}``."""
    return re.sub(r"\{(\w+):\w+\}", r"{\1}", path)


def test_every_api_route_is_in_api_md() -> None:
    app = create_app()
    wanted = {(m, _documented_form(p)) for m, p in _route_paths(app.routes) if p.startswith("/api/v1") and m != "HEAD"}
    for path, operations in app.openapi()["paths"].items():
        wanted |= {(method.upper(), _documented_form(path)) for method in operations}
    assert ("POST", "/api/v1/alerts") in wanted and ("DELETE", "/api/v1/residents/{ref}") in wanted
    assert ("POST", "/hooks/twilio/inbound") in wanted  # the schema's routes beyond /api/v1 count too
    text = _read("api.md")
    missing = sorted(f"{method} {path}" for method, path in wanted if f"{method} {path}" not in text)
    assert missing == [], f"routes missing from docs/api.md: {missing}"


def _anchor(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces as hyphens."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


@pytest.mark.parametrize("page", PAGES)
def test_links_between_the_pages_resolve(page: str) -> None:
    anchors = {name: {_anchor(h) for h in re.findall(r"^#+ (.+)$", _read(name), re.MULTILINE)} for name in PAGES}
    broken = []
    for target in re.findall(r"\]\(([^)\s]+)\)", _read(page)):
        if "://" in target:
            continue
        name, _, fragment = target.partition("#")
        name = name or page
        if name not in anchors or (fragment and fragment not in anchors[name]):
            broken.append(target)
    assert broken == [], f"broken links in docs/{page}: {broken}"
