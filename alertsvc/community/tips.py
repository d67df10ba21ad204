"""Anonymous tips: opened by an SMS starting ``TIP`` or by the public form ``/r/tip``, read and answered by staff
through an alias ("Tip 7F3K"), never through the tipster's number or address.

The contact is kept only as a keyed hash and a sealed copy (:mod:`alertsvc.security.sealing`): the hash joins the
tipster's later SMS answers to their open thread and finds their block; the sealed copy is opened by the reply
relay alone (:func:`outgoing`, called by :mod:`alertsvc.dispatch.tip_relay` in the worker), so the API, the console,
logs, audit entries and webhooks have nothing to show. STOP ends a tipster's threads: nothing more is relayed.
A blocked tipster's tips and answers are dropped without a word, so blocking tells them nothing. Tips whose last
message is older than ``ALERTSVC_TIP_RETENTION_DAYS`` are deleted (:func:`purge_tips`: the sweeper and
``alertsvc tips purge``).

Owner of the ``tips``, ``tip_messages`` and ``tip_blocks`` tables; units of work as in :mod:`alertsvc.runtime`.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from sqlalchemy import delete, func, select, tuple_, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from alertsvc.clock import utcnow
from alertsvc.errors import Conflict, FieldError, InvalidInput, NotFound
from alertsvc.lanes import Lane, enqueue_in_lane
from alertsvc.residents.importer import validation_options
from alertsvc.residents.validation import validate_row
from alertsvc.security.audit import record
from alertsvc.security.sealing import Sealer
from alertsvc.store.db import transaction
from alertsvc.store.models import Tip, TipBlock, TipMessage

if TYPE_CHECKING:
    from alertsvc.runtime import Runtime
    from alertsvc.settings import Settings

__all__ = [
    "MAX_TEXT",
    "RELAY_JOB",
    "TIPS_PER_DAY",
    "Outgoing",
    "TipClosed",
    "TipError",
    "TipMessageView",
    "TipNotFound",
    "TipView",
    "block_tipster",
    "contact_of",
    "draft_from_tip",
    "end_threads",
    "join_answer",
    "list_tips",
    "mark_relayed",
    "open_tip",
    "outgoing",
    "purge_tips",
    "queue_reply",
    "relay_job_id",
    "sealer",
    "seen",
    "stalled_replies",
    "submit_web_tip",
]

MAX_TEXT = 2000
"""A tip or a reply: enough for a detailed account (an SMS tip is at most ten segments anyway)."""
TIPS_PER_DAY = 10
"""Tips one contact may open in 24 hours; more are dropped quietly (a flood, not a witness)."""
THREAD_OPEN_FOR = timedelta(days=14)
"""A tipster's free-text SMS joins their newest thread when it had a message within this long."""
RELAY_JOB = "relay_tip_reply"
ALIAS_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
"""Crockford's base 32: no I, L, O or U, so an alias read aloud or retyped is not mistaken."""
IN, OUT = "in", "out"
RECEIVED, QUEUED, SENT, FAILED = "received", "queued", "sent", "failed"


class TipNotFound(NotFound):
    """No tip of that id (it may have been purged)."""


class TipClosed(Conflict):
    """The tip cannot be answered or blocked: the tipster sent STOP, left no contact, or is blocked."""


class TipError(InvalidInput):
    """A tip that cannot be taken as given; ``field`` names the form field at fault."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message, errors=[FieldError(["body", field], message)])
        self.field = field


@dataclass(frozen=True, slots=True)
class TipMessageView:
    id: int
    direction: str
    """``in`` (the tipster's answer) or ``out`` (a staff reply)."""
    text: str
    at: datetime
    state: str


@dataclass(frozen=True, slots=True)
class TipView:
    """What staff may see of a tip: never the contact, its hash or its sealed copy."""

    id: int
    alias: str
    zone: str | None
    text: str
    channel: str
    received_at: datetime
    messages: list[TipMessageView]
    ended: bool
    can_reply: bool


@dataclass(frozen=True, slots=True)
class Outgoing:
    """A reply ready to relay: the only place the contact is in the clear, inside the worker."""

    channel: str
    to: str
    body: str
    subject: str


def sealer(settings: Settings) -> Sealer:
    return Sealer(settings.signing_key(), "tips")


def relay_job_id(message_id: int) -> str:
    """One relay job per reply, however often it is enqueued (the API, then the sweeper)."""
    return f"{RELAY_JOB}:{message_id}"


def contact_of(settings: Settings, text: str) -> tuple[str, str]:
    """A form's optional contact as (channel, normalised address): an e-mail address or an international number;
    :class:`TipError` naming ``contact`` otherwise."""
    text = text.strip()
    field = "email" if "@" in text else "sms"
    checked = validate_row({"ref": "x", "lat": 0, "lon": 0, field: text}, validation_options(settings))
    if isinstance(checked, list):
        raise TipError("contact", f"{checked[0].reason}")
    address = checked.email if field == "email" else checked.sms
    assert address is not None
    return field, address


def _alias() -> str:
    return "Tip " + "".join(secrets.choice(ALIAS_ALPHABET) for _ in range(4))


def _view(tip: Tip, messages: list[TipMessage]) -> TipView:
    return TipView(
        id=tip.id, alias=tip.alias, zone=tip.zone, text=tip.text, channel=tip.channel, received_at=tip.received_at,
        messages=[TipMessageView(m.id, m.direction, m.text, m.at, m.state) for m in messages],
        ended=tip.ended_at is not None, can_reply=tip.ended_at is None and tip.reply_channel is not None,
    )  # fmt: skip


async def _blocked(session: AsyncSession, key: str) -> bool:
    return await session.get(TipBlock, key) is not None


async def open_tip(
    session: AsyncSession,
    seal: Sealer,
    *,
    text: str,
    zone: str | None,
    channel: str,
    contact: tuple[str, str] | None,
    language: str,
    now: datetime,
    provider_id: str | None = None,
) -> str | None:
    """Store a tip in the caller's transaction; its alias, or None when it is dropped quietly (the contact is
    blocked, or opened :data:`TIPS_PER_DAY` tips today)."""
    key = seal.key_of(contact[1]) if contact else None
    if key is not None:
        if await _blocked(session, key):
            return None
        today = await session.scalar(
            select(func.count()).select_from(Tip).where(Tip.contact_key == key, Tip.received_at > now - timedelta(1))
        )
        if (today or 0) >= TIPS_PER_DAY:
            return None
    for _attempt in range(8):
        alias = _alias()
        if await session.scalar(select(Tip.id).where(Tip.alias == alias)) is None:
            break
    tip = Tip(
        alias=alias, zone=zone, text=text[:MAX_TEXT], channel=channel, language=language,
        reply_channel=contact[0] if contact else None, contact_key=key,
        contact_sealed=seal.seal(contact[1]) if contact else None, provider_id=provider_id,
    )  # fmt: skip
    tip.received_at = tip.last_activity_at = now
    session.add(tip)
    await session.flush()  # an alias drawn twice at the same moment is refused by its unique index, not kept twice
    return tip.alias


async def submit_web_tip(
    runtime: Runtime, *, text: str, zone: str | None, contact: str | None, language: str
) -> str | None:
    """A tip from the public form, checked: its alias, or None when dropped quietly (see :func:`open_tip`).
    :class:`TipError` names the field at fault (``text``, ``zone``, ``contact``)."""
    text = text.strip()
    if not text:
        raise TipError("text", "write your tip")
    if len(text) > MAX_TEXT:
        raise TipError("text", f"a tip has at most {MAX_TEXT} characters")
    found = runtime.zones.find(zone) if zone else None
    if zone and found is None:
        raise TipError("zone", "unknown neighbourhood")
    reach = contact_of(runtime.settings, contact) if contact and contact.strip() else None
    async with transaction(runtime.sessions) as session:
        return await open_tip(
            session, sealer(runtime.settings), text=text, zone=found.name if found else None, channel="web",
            contact=reach, language=language, now=utcnow(),
        )  # fmt: skip


async def seen(session: AsyncSession, provider_id: str) -> bool:
    """Whether the provider's message ``provider_id`` already opened a tip or joined a thread (a webhook retry)."""
    tip = await session.scalar(select(Tip.id).where(Tip.provider_id == provider_id))
    return (
        tip is not None
        or await session.scalar(select(TipMessage.id).where(TipMessage.provider_id == provider_id)) is not None
    )


async def join_answer(
    session: AsyncSession, seal: Sealer, number: str, body: str, now: datetime, provider_id: str | None = None
) -> bool | None:
    """A tipster's SMS answer, in the caller's transaction: True when it joined their newest open thread, False
    when dropped quietly (a blocked number), None when the number has no open thread (not a tipster's answer)."""
    key = seal.key_of(number)
    tip = await session.scalar(
        select(Tip)
        .where(Tip.contact_key == key, Tip.ended_at.is_(None), Tip.last_activity_at > now - THREAD_OPEN_FOR)
        .order_by(Tip.last_activity_at.desc(), Tip.id.desc())
        .limit(1)
    )
    if tip is None:
        return None
    if await _blocked(session, key):
        return False
    session.add(
        TipMessage(tip_id=tip.id, direction=IN, text=body[:MAX_TEXT], state=RECEIVED, at=now, provider_id=provider_id)
    )
    await session.execute(update(Tip).where(Tip.id == tip.id).values(last_activity_at=now))
    return True


async def end_threads(session: AsyncSession, seal: Sealer, number: str, now: datetime) -> int:
    """End every open thread of ``number`` (it sent STOP), in the caller's transaction: replies still queued are
    not sent. How many threads were ended."""
    key = seal.key_of(number)
    ended = await session.execute(
        update(Tip).where(Tip.contact_key == key, Tip.ended_at.is_(None)).values(ended_at=now)
    )
    return int(getattr(ended, "rowcount", 0) or 0)


async def _messages(session: AsyncSession, tip_ids: list[int]) -> dict[int, list[TipMessage]]:
    found: dict[int, list[TipMessage]] = {tip_id: [] for tip_id in tip_ids}
    if tip_ids:
        rows = await session.scalars(
            select(TipMessage).where(TipMessage.tip_id.in_(tip_ids)).order_by(TipMessage.tip_id, TipMessage.id)
        )
        for row in rows:
            found[row.tip_id].append(row)
    return found


async def list_tips(
    runtime: Runtime, *, zone: str | None = None, before: tuple[datetime, int] | None = None, limit: int = 50
) -> list[TipView]:
    """Tips newest first, each with its thread; ``before`` is where the page before ended (received_at, id)."""
    query = select(Tip).order_by(Tip.received_at.desc(), Tip.id.desc()).limit(limit)
    if zone is not None:
        found = runtime.zones.find(zone)
        query = query.where(Tip.zone == (found.name if found else zone))
    if before is not None:
        query = query.where(tuple_(Tip.received_at, Tip.id) < tuple_(before[0], before[1]))
    async with runtime.sessions() as session:
        tips = list(await session.scalars(query))
        threads = await _messages(session, [tip.id for tip in tips])
    return [_view(tip, threads[tip.id]) for tip in tips]


async def get_tip(runtime: Runtime, tip_id: int) -> TipView:
    async with runtime.sessions() as session:
        tip = await session.get(Tip, tip_id)
        if tip is None:
            raise TipNotFound("no tip with that id")
        return _view(tip, (await _messages(session, [tip.id]))[tip.id])


async def draft_from_tip(runtime: Runtime, tip_id: int, actor: str) -> TipView:
    """A dispatcher starts a draft alert from a tip: the tip (for its zone) and an audit row ``tip.draft`` saying who
    and from which tip. Nothing else is stored: the draft is a compose form the dispatcher fills and sends (a tip
    never becomes an alert by itself), and its text is not copied, as a tip may name its tipster and an alert is
    public. :class:`TipNotFound`."""
    async with transaction(runtime.sessions) as session:
        tip = await session.get(Tip, tip_id)
        if tip is None:
            raise TipNotFound("no tip with that id")
        await record(session, actor, "tip.draft", "tip", str(tip.id), {"alias": tip.alias, "zone": tip.zone})
        return _view(tip, (await _messages(session, [tip.id]))[tip.id])


async def queue_reply(runtime: Runtime, tip_id: int, text: str, actor: str) -> TipMessageView:
    """Keep a staff reply and enqueue its relay to the tipster. :class:`TipNotFound`; :class:`TipClosed` when the
    tipster sent STOP, left no contact, or is blocked; :class:`TipError` for an empty or overlong text."""
    text = text.strip()
    if not text or len(text) > MAX_TEXT:
        raise TipError("text", f"a reply has 1 to {MAX_TEXT} characters")
    now = utcnow()
    async with transaction(runtime.sessions) as session:
        tip = await session.get(Tip, tip_id, with_for_update=True)
        if tip is None:
            raise TipNotFound("no tip with that id")
        if tip.ended_at is not None:
            raise TipClosed("the tipster ended this conversation")
        if tip.reply_channel is None or tip.contact_key is None:
            raise TipClosed("the tipster left no way to answer")
        if await _blocked(session, tip.contact_key):
            raise TipClosed("this tipster is blocked")
        message = TipMessage(tip_id=tip.id, direction=OUT, text=text, state=QUEUED, at=now)
        session.add(message)
        tip.last_activity_at = now
        await session.flush()
        await record(session, actor, "tip.reply", "tip", str(tip.id), {"length": len(text)})
        view = TipMessageView(message.id, OUT, text, now, QUEUED)
    await enqueue_in_lane(runtime.redis, RELAY_JOB, view.id, lane=Lane.BULK, job_id=relay_job_id(view.id))
    return view


REPLY_WORDS: dict[str, dict[str, str]] = {
    "en": {
        "sms": "{service} ({alias}): {text} -- Reply to answer, STOP to end.",
        "email": "{text}\n\n-- {service}, about your tip {alias}. This address takes no answers; "
        "send a new tip at {public}/r/tip",
        "subject": "{service}: about your tip {alias}",
    },
    "fr": {
        "sms": "{service} ({alias}) : {text} -- Répondez pour continuer, STOP pour arrêter.",
        "email": "{text}\n\n-- {service}, au sujet de votre signalement {alias}. Cette adresse ne reçoit pas de "
        "réponse ; envoyez un nouveau signalement sur {public}/r/tip",
        "subject": "{service} : au sujet de votre signalement {alias}",
    },
    "es": {
        "sms": "{service} ({alias}): {text} -- Responda para contestar, STOP para terminar.",
        "email": "{text}\n\n-- {service}, sobre su aviso {alias}. Esta dirección no recibe respuestas; "
        "envíe un nuevo aviso en {public}/r/tip",
        "subject": "{service}: sobre su aviso {alias}",
    },
}


async def outgoing(runtime: Runtime, message_id: int) -> Outgoing | None:
    """The reply ``message_id`` ready to relay, or None when it must not go (already relayed, the thread ended,
    the tipster blocked, or the contact sealed with another key: then marked failed)."""
    async with transaction(runtime.sessions) as session:
        message = await session.get(TipMessage, message_id)
        if message is None or message.direction != OUT or message.state != QUEUED:
            return None
        tip = await session.get(Tip, message.tip_id)
        if tip is None or tip.ended_at is not None or tip.contact_sealed is None or tip.reply_channel is None:
            message.state = FAILED
            return None
        if tip.contact_key is not None and await _blocked(session, tip.contact_key):
            message.state = FAILED
            return None
        to = sealer(runtime.settings).open(tip.contact_sealed)
        if to is None:  # sealed under another secret key: it cannot be reached any more
            message.state = FAILED
            return None
        words = REPLY_WORDS.get(tip.language[:2].lower(), REPLY_WORDS["en"])
        values = {"service": runtime.settings.service_name, "alias": tip.alias, "text": message.text,
                  "public": runtime.settings.public_url.rstrip("/")}  # fmt: skip
        body = words["sms" if tip.reply_channel == "sms" else "email"].format(**values)
        return Outgoing(tip.reply_channel, to, body, words["subject"].format(**values))


async def mark_relayed(runtime: Runtime, message_id: int, sent: bool) -> None:
    """Record how the relay of a queued reply ended."""
    async with transaction(runtime.sessions) as session:
        await session.execute(
            update(TipMessage)
            .where(TipMessage.id == message_id, TipMessage.state == QUEUED)
            .values(state=SENT if sent else FAILED)
        )


async def stalled_replies(runtime: Runtime, written_before: datetime) -> list[int]:
    """Replies still queued that were written before ``written_before``: their job was lost (a restarted Redis)."""
    async with runtime.sessions() as session:
        rows = await session.scalars(
            select(TipMessage.id).where(TipMessage.state == QUEUED, TipMessage.at < written_before).limit(500)
        )
        return list(rows)


async def block_tipster(runtime: Runtime, tip_id: int, actor: str) -> tuple[str, bool]:
    """Block the tipster of ``tip_id`` (their contact's keyed hash, never the contact): their further tips and
    answers are dropped quietly. The tip's alias, and True when newly blocked (False: already). :class:`TipNotFound`;
    :class:`TipClosed` when the tip came with no contact (nothing to block)."""
    async with transaction(runtime.sessions) as session:
        tip = await session.get(Tip, tip_id)
        if tip is None:
            raise TipNotFound("no tip with that id")
        if tip.contact_key is None:
            raise TipClosed("this tip came without a contact: there is no one to block")
        if await _blocked(session, tip.contact_key):
            return tip.alias, False
        session.add(TipBlock(contact_key=tip.contact_key, created_by=actor[:120], created_at=utcnow()))
        await record(session, actor, "tip.block", "tip", str(tip.id), {"alias": tip.alias})
        return tip.alias, True


async def purge_tips(sessions: async_sessionmaker[AsyncSession], days: int, now: datetime | None = None) -> int:
    """Delete tips (and their threads) whose last message is older than ``days`` (the retention setting, or the
    command line's); how many. Takes the session factory, not a runtime, so the command line needs no Redis."""
    cutoff = (now or utcnow()) - timedelta(days=days)
    async with transaction(sessions) as session:
        old = select(Tip.id).where(Tip.last_activity_at < cutoff)
        await session.execute(delete(TipMessage).where(TipMessage.tip_id.in_(old)))
        gone = await session.execute(delete(Tip).where(Tip.last_activity_at < cutoff))
        count = int(getattr(gone, "rowcount", 0) or 0)
        if count:
            await record(session, "system", "tips.purge", "tip", None, {"deleted": count})
    return count
