"""Binding a list of ids to a statement as one parameter, the same way on PostgreSQL and SQLite."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any, cast

from sqlalchemy import BigInteger, ColumnElement, any_, bindparam, func, literal_column, select
from sqlalchemy.dialects import postgresql
from sqlalchemy.ext.asyncio import AsyncSession

from alertsvc.store.db import is_postgresql


def ids_in(session: AsyncSession, column: Any, ids: Sequence[int]) -> ColumnElement[bool]:
    """``column`` is one of ``ids``, with the ids bound as *one* parameter (an array, or a JSON list on SQLite).

    Why: an ``IN`` list renders one placeholder per id at every execution (SQLAlchemy's "expanding" parameters),
    so a batch of 500 costs a fresh SQL string, and on asyncpg a fresh prepared statement for every batch size.
    ``= ANY($1::BIGINT[])`` and ``IN (SELECT value FROM json_each(?))`` are the same statement every time and
    still use the primary key.
    """
    values = [int(i) for i in ids]
    if is_postgresql(session):
        return cast(ColumnElement[bool], column == any_(bindparam(None, values, type_=postgresql.ARRAY(BigInteger))))
    listed: Any = select(literal_column("value")).select_from(func.json_each(bindparam(None, json.dumps(values))))
    return cast(ColumnElement[bool], column.in_(listed))
