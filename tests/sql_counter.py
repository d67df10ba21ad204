"""Counting the SQL statements a piece of code sends, on every engine of the process (the SQLite writer thread's
own engine included), for tests that prove a statement is no longer sent once a request."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Engine


class Statements:
    """The statements sent while counting, in order; :meth:`matching` counts those a pattern finds."""

    def __init__(self) -> None:
        self.sent: list[str] = []

    def matching(self, pattern: str) -> int:
        """How many statements the case-insensitive regular expression ``pattern`` finds in."""
        found = re.compile(pattern, re.IGNORECASE)
        return sum(1 for statement in self.sent if found.search(statement))


@contextmanager
def counting_statements() -> Iterator[Statements]:
    """Every statement any engine sends inside the block (executemany counts once)."""
    statements = Statements()

    def seen(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        statements.sent.append(" ".join(statement.split()))

    event.listen(Engine, "before_cursor_execute", seen)
    try:
        yield statements
    finally:
        event.remove(Engine, "before_cursor_execute", seen)
