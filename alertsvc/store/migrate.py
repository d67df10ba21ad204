"""Schema migrations with Alembic, run from code (``alertsvc db upgrade`` and ``alertsvc serve``).

The Alembic environment receives an open connection through ``config.attributes`` so the same code path works
from the CLI, from the service's start-up and from tests, on SQLite and PostgreSQL alike.

Alembic (with Mako and Pygments, about 10 MiB resident) is imported only when there is something to migrate:
``serve`` calls :func:`upgrade` at every start, and on an up-to-date database (the usual case) a look at
``alembic_version`` and at the revision ids in ``migrations/versions`` is enough to know that it has nothing to do.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Connection, inspect, text
from sqlalchemy.ext.asyncio import AsyncEngine

from alertsvc.errors import StartupRefused

if TYPE_CHECKING:
    from alembic.config import Config

MIGRATIONS_DIR = Path(__file__).with_name("migrations")
VERSIONS_DIR = MIGRATIONS_DIR / "versions"
_VERSION_FILE = re.compile(r"(?!\.#|__init__)(.*\.py)$")
"""The file names Alembic reads as revision scripts (its ``_only_source_rev_file``)."""


def alembic_config(url: str | None = None) -> Config:
    """An Alembic config pointing at the packaged migrations (no alembic.ini needed)."""
    # Deferred: alembic is only needed while migrating, not resident in every API and worker process.
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    if url:
        config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def _literal_revisions(path: Path) -> tuple[str, tuple[str, ...]] | None:
    """``(revision, down_revisions)`` as a revision script assigns them, or None unless both are plain literals."""
    found: dict[str, object] = {}
    for node in ast.parse(path.read_text(encoding="utf-8")).body:
        target, value = None, None
        if isinstance(node, ast.Assign) and len(node.targets) == 1:
            target, value = node.targets[0], node.value
        elif isinstance(node, ast.AnnAssign):
            target, value = node.target, node.value
        if isinstance(target, ast.Name) and target.id in ("revision", "down_revision") and value is not None:
            try:
                found[target.id] = ast.literal_eval(value)
            except ValueError:
                return None
    revision, down = found.get("revision"), found.get("down_revision")
    if not isinstance(revision, str) or "down_revision" not in found:
        return None
    if down is None:
        return revision, ()
    if isinstance(down, str):
        return revision, (down,)
    if isinstance(down, tuple | list) and all(isinstance(item, str) for item in down):
        return revision, tuple(down)
    return None


def script_head() -> str | None:
    """The one head revision of the packaged migrations, read without importing Alembic; None when there is
    not exactly one, or when a script is not in the plain form this reader understands (Alembic then decides)."""
    revisions: set[str] = set()
    parents: set[str] = set()
    for path in sorted(VERSIONS_DIR.iterdir()):
        if not path.is_file() or not _VERSION_FILE.match(path.name):
            continue
        parsed = _literal_revisions(path)
        if parsed is None:
            return None
        revisions.add(parsed[0])
        parents.update(parsed[1])
    heads = revisions - parents
    return heads.pop() if len(heads) == 1 else None


def packaged_revisions() -> tuple[str, frozenset[str]]:
    """The head and every revision of the packaged migrations: without Alembic when the scripts are in the plain
    form :func:`script_head` reads, from Alembic's script directory otherwise."""
    head = script_head()
    if head is not None:
        revisions = set()
        for path in VERSIONS_DIR.iterdir():
            parsed = _literal_revisions(path) if path.is_file() and _VERSION_FILE.match(path.name) else None
            if parsed is not None:
                revisions.add(parsed[0])
        return head, frozenset(revisions)
    from alembic.script import ScriptDirectory  # deferred: see alembic_config

    script = ScriptDirectory.from_config(alembic_config())
    return str(script.get_current_head()), frozenset(rev.revision for rev in script.walk_revisions())


class SchemaMismatch(StartupRefused):
    """The database's schema is not the one this code was written for; ``str()`` says which way and what to do."""


def _current_revisions(connection: Connection) -> frozenset[str]:
    """The revisions the database is stamped with (none for a database never migrated)."""
    if not inspect(connection).has_table("alembic_version"):
        return frozenset()
    return frozenset(str(v) for v in connection.execute(text("SELECT version_num FROM alembic_version")).scalars())


def _refuse_newer(current: frozenset[str], head: str, known: frozenset[str]) -> None:
    if unknown := sorted(current - known):
        raise SchemaMismatch(
            f"the database schema (revision {', '.join(unknown)}) is newer than this alertsvc's ({head}): run the "
            "alertsvc version that migrated it (or a newer one); an older one must not write to it"
        )


async def check_schema(engine: AsyncEngine, *, migrates: bool) -> None:
    """Raise :class:`SchemaMismatch` unless the database behind ``engine`` has this code's schema: a newer one
    always, an older (or no) schema only when the caller does not migrate it before use (``alertsvc worker``).

    A worker on an older schema would fail job after job on a missing column; code on a newer schema could write
    rows the newer code cannot read. Either way, one clear line at start instead.
    """
    async with engine.connect() as connection:
        current = await connection.run_sync(_current_revisions)
    head, known = packaged_revisions()
    _refuse_newer(current, head, known)
    if current != {head} and not migrates:
        found = f"at revision {', '.join(sorted(current))}" if current else "not created yet"
        raise SchemaMismatch(
            f"the database schema is {found}, older than this alertsvc's ({head}): run alertsvc db upgrade"
        )


def _at_head(connection: Connection) -> bool:
    """True when the database is already at the packaged migrations' single head."""
    head = script_head()
    if head is None or not inspect(connection).has_table("alembic_version"):
        return False
    current = set(connection.execute(text("SELECT version_num FROM alembic_version")).scalars())
    return current == {head}


def _upgrade(connection: Connection, revision: str) -> None:
    from alembic import command  # deferred: see alembic_config

    config = alembic_config()
    config.attributes["connection"] = connection
    command.upgrade(config, revision)


async def upgrade(engine: AsyncEngine, revision: str = "head") -> None:
    """Bring the database behind ``engine`` to ``revision`` (default: the newest)."""
    async with engine.begin() as connection:
        if revision == "head":
            _refuse_newer(await connection.run_sync(_current_revisions), *packaged_revisions())  # Alembic'd fail
        if revision == "head" and await connection.run_sync(_at_head):
            return  # nothing to do, and no need to load Alembic to find that out
        await connection.run_sync(_upgrade, revision)
