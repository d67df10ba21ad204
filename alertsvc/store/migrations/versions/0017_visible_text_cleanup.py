"""visible text cleanup: stored alert texts cleaned of hidden characters refused since issue 17

Revision ID: 0017
Revises: 0016

Why: since issue 17 the texts residents read (``event``, ``headline``, ``description``, ``instruction``,
``senderName``, ``web``, ``contact``, ``audience``, ``areaDesc``) may not hold invisible characters that disguise
text (``alertsvc/cap/visible.py``: bidirectional overrides, zero-width spaces, soft hyphens, ...). Alerts stored
before may hold them, and every code path parses the stored document again (the fan-out, each deliver batch, a
Cancel or Update built from it, the CAP export): such an alert could no longer be sent, cancelled or updated.

What a safety office needs, and so what this revision does, by the alert's state:

* **Not sent yet** (``draft``, ``pending_approval``, ``approved``) and **in force** (``dispatching``, or ``sent``
  and not past its ``expires``): the refused characters are removed from those texts (and from the ``headline``
  column). An alert waiting to go out must be able to go out; one in force must stay cancellable and updatable,
  above all. The visible text does not change: only characters that show nothing (or that reorder what the
  reader sees, which is the reason they are refused) are taken out, and the texts the validator already allows
  (joiners, direction marks, emoji tags) are kept.
* **Over** (``cancelled``, ``expired``, ``rejected``, or ``sent`` and past its ``expires``): never rewritten. The
  record stays exactly what residents received (or what was refused); nothing needs to be sent from it again.
  Such an alert is only reported.

Nothing is changed silently: each alert found gets an append-only audit row (actor ``system``, shown in the
alert's history on the console): ``alert.text_cleaned`` with, per changed field, its original text exactly and
the characters removed, so the record of what was sent survives in ``audit_events``; or
``alert.hidden_characters_kept`` naming the fields and characters of an alert left as it was. Each is also
logged as a warning for the operator running ``alertsvc db upgrade``.

The rule is frozen here as ``cap/visible.py`` stated it at this revision, so that a later change to the rule does
not change what this revision did. ``downgrade`` restores nothing: the cleaned texts are valid for the older code
too, and the originals stay in the audit rows (which are append-only).
"""

from __future__ import annotations

import logging
import unicodedata
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None

log = logging.getLogger("alembic.runtime.migration")

ALLOWED_FORMAT = frozenset(
    "\u200c\u200d\u200e\u200f\u061c\u0600\u0601\u0602\u0603\u0604\u0605\u06dd\u070f\u0890\u0891\u08e2"
)
ALLOWED_CONTROL = frozenset("\t\n\r")
BLACK_FLAG = "\U0001f3f4"
TAGS = range(0xE0020, 0xE0080)
INFO_FIELDS = ("event", "headline", "description", "instruction", "senderName", "web", "contact", "audience")
CLEANED_STATES = frozenset({"draft", "pending_approval", "approved", "dispatching"})
"""Cleaned whatever their expiry; ``sent`` too while in force."""
ACTOR = "system"

ALERTS = sa.table(
    "alerts",
    sa.column("id", sa.String),
    sa.column("state", sa.String),
    sa.column("headline", sa.String),
    sa.column("expires_at", sa.DateTime(timezone=True)),
    sa.column("cap", sa.JSON),
    sa.column("updated_at", sa.DateTime(timezone=True)),
)
AUDIT = sa.table(
    "audit_events",
    sa.column("at", sa.DateTime(timezone=True)),
    sa.column("actor", sa.String),
    sa.column("action", sa.String),
    sa.column("subject_type", sa.String),
    sa.column("subject_id", sa.String),
    sa.column("detail", sa.JSON),
)


def _refused(text: str, index: int) -> bool:
    ch = text[index]
    category = unicodedata.category(ch)
    if category == "Cc":
        return ch not in ALLOWED_CONTROL
    if category != "Cf" or ch in ALLOWED_FORMAT:
        return False
    before = text[index - 1] if index > 0 else ""
    in_tag_sequence = ord(ch) in TAGS and (before == BLACK_FLAG or (before != "" and ord(before) in TAGS))
    return not in_tag_sequence


def _named(ch: str) -> str:
    return f"U+{ord(ch):04X} {unicodedata.name(ch, 'control character')}"


def clean(text: str) -> tuple[str, list[str]]:
    """``text`` without the characters refused at this revision, and those characters' names (once each)."""
    if text.isprintable():
        return text, []
    kept: list[str] = []
    removed: list[str] = []
    for index, ch in enumerate(text):
        if _refused(text, index):
            if _named(ch) not in removed:
                removed.append(_named(ch))
        else:
            kept.append(ch)
    return "".join(kept), removed


def _texts(document: dict[str, Any]) -> list[tuple[str, dict[str, Any], str]]:
    """(path, holder, key) of every text residents read in a CAP document (JSON form)."""
    found: list[tuple[str, dict[str, Any], str]] = []
    for i, info in enumerate(document.get("info") or []):
        if not isinstance(info, dict):
            continue
        found += [(f"info[{i}].{key}", info, key) for key in INFO_FIELDS if isinstance(info.get(key), str)]
        for j, area in enumerate(info.get("area") or []):
            if isinstance(area, dict) and isinstance(area.get("areaDesc"), str):
                found.append((f"info[{i}].area[{j}].areaDesc", area, "areaDesc"))
    return found


def _in_force(state: str, expires_at: datetime | None, now: datetime) -> bool:
    if state in CLEANED_STATES:
        return True
    if state != "sent":
        return False
    return expires_at is None or (expires_at if expires_at.tzinfo else expires_at.replace(tzinfo=UTC)) > now


def _alerts(connection: sa.Connection, page: int = 200) -> Any:
    """Every alert's id, state, headline, expiry and document, a page at a time (documents may be large)."""
    columns = (ALERTS.c.id, ALERTS.c.state, ALERTS.c.headline, ALERTS.c.expires_at, ALERTS.c.cap)
    last = ""
    while True:
        rows = connection.execute(sa.select(*columns).where(ALERTS.c.id > last).order_by(ALERTS.c.id).limit(page)).all()
        yield from rows
        if len(rows) < page:
            return
        last = rows[-1][0]


def upgrade() -> None:
    """Clean the texts of alerts not sent yet or in force; report the others (see the module docstring)."""
    connection = op.get_bind()
    now = datetime.now(UTC)
    stamp = now.replace(tzinfo=None) if connection.dialect.name == "sqlite" else now  # as store/types.UTCDateTime
    for alert_id, state, headline, expires_at, document in _alerts(connection):
        if not isinstance(document, dict):
            continue
        originals: dict[str, str] = {}
        characters: list[str] = []
        for path, holder, key in _texts(document):
            cleaned, removed = clean(holder[key])
            if removed:
                originals[path] = holder[key]
                characters += [name for name in removed if name not in characters]
                holder[key] = cleaned
        cleaned_headline, removed = clean(headline) if isinstance(headline, str) else (headline, [])
        if removed:
            originals["headline (column)"] = headline
            characters += [name for name in removed if name not in characters]
        if not originals:
            continue
        if _in_force(state, expires_at, now):
            connection.execute(
                sa.update(ALERTS)
                .where(ALERTS.c.id == alert_id)
                .values(cap=document, headline=cleaned_headline, updated_at=stamp)
            )
            action, detail = "alert.text_cleaned", {"originals": originals, "characters": characters, "state": state}
            log.warning(
                "alert %s (%s): removed %s from %s", alert_id, state, ", ".join(characters), ", ".join(originals)
            )
        else:
            action, detail = "alert.hidden_characters_kept", {"fields": list(originals), "characters": characters,
                                                              "state": state}  # fmt: skip
            log.warning(
                "alert %s (%s) holds %s in %s: left as sent (its record is what residents received)",
                alert_id, state, ", ".join(characters), ", ".join(originals),
            )  # fmt: skip
        connection.execute(
            sa.insert(AUDIT).values(
                at=stamp, actor=ACTOR, action=action, subject_type="alert", subject_id=alert_id,
                detail=detail,
            )
        )  # fmt: skip


def downgrade() -> None:
    """Nothing to undo: the cleaned texts are valid for the older code, the originals are in ``audit_events``."""
