"""The database schema, as SQLAlchemy 2 declarative models.

The database is the source of truth for everything that must survive a crash: alerts and their lifecycle state,
who may do what (users, API keys), and the append-only audit log. Redis only carries work in flight.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    ColumnElement,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    literal_column,
    text,
)
from sqlalchemy.orm import DeclarativeBase, InstrumentedAttribute, Mapped, mapped_column

from alertsvc.clock import utcnow
from alertsvc.store.types import UTCDateTime

# SQLite only auto-increments INTEGER PRIMARY KEY; PostgreSQL gets a real BIGINT.
BigId = BigInteger().with_variant(Integer(), "sqlite")


class Base(DeclarativeBase):
    type_annotation_map: ClassVar[dict[Any, Any]] = {datetime: UTCDateTime(), dict[str, Any]: JSON()}


class User(Base):
    """A person who signs in to the console: dispatcher, approver or admin."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    email: Mapped[str] = mapped_column(String(320), unique=True)
    display_name: Mapped[str | None] = mapped_column(String(120))
    """Shown wherever the person appears (lists, approvals, audit); ``None``: their e-mail is shown."""
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(20))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    failed_logins: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    session_epoch: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    """Moved on by signing out, a new password or role, and deactivation: console cookies carrying an older
    epoch are signed out (:mod:`alertsvc.security.sessions`, migration 0007)."""


class ApiKey(Base):
    """A key another system presents as ``Authorization: Bearer``; only its SHA-256 is stored."""

    __tablename__ = "api_keys"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    scopes: Mapped[str] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    revoked_at: Mapped[datetime | None]
    last_used_at: Mapped[datetime | None]


class Alert(Base):
    """One CAP alert as received, with its place in the lifecycle.

    ``cap`` holds the alert in CAP's JSON form, exactly as validated; the scalar columns beside it are copies
    for querying and uniqueness. ``sent_text`` is the CAP ``sent`` string with its offset, because CAP identifies
    an alert by the (sender, identifier, sent) strings that ``references`` quote.
    """

    __tablename__ = "alerts"
    __table_args__ = (
        UniqueConstraint("sender", "identifier", "sent_text", name="uq_alerts_cap_key"),
        UniqueConstraint("submitted_by", "idempotency_key", name="uq_alerts_idempotency"),
        Index("ix_alerts_state_created", "state", "created_at"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    sender: Mapped[str] = mapped_column(String(255))
    identifier: Mapped[str] = mapped_column(String(255))
    sent_text: Mapped[str] = mapped_column(String(32))
    sent_at: Mapped[datetime]
    status: Mapped[str] = mapped_column(String(16))
    msg_type: Mapped[str] = mapped_column(String(16))
    state: Mapped[str] = mapped_column(String(20))
    headline: Mapped[str | None] = mapped_column(String(500))
    expires_at: Mapped[datetime | None]
    cap: Mapped[dict[str, Any]]
    submitted_by: Mapped[str] = mapped_column(String(120))
    idempotency_key: Mapped[str | None] = mapped_column(String(255))
    decided_by: Mapped[str | None] = mapped_column(String(120))
    decision_reason: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    approved_at: Mapped[datetime | None]
    dispatch_started_at: Mapped[datetime | None]
    planned_at: Mapped[datetime | None]
    """When fan-out finished planning every delivery; until then the alert cannot be complete."""
    first_sent_at: Mapped[datetime | None]
    completed_at: Mapped[datetime | None]
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class AuditEvent(Base):
    """Who did what, when. Append-only: database triggers refuse UPDATE and DELETE on this table."""

    __tablename__ = "audit_events"
    __table_args__ = (Index("ix_audit_subject", "subject_type", "subject_id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    at: Mapped[datetime] = mapped_column(default=utcnow)
    actor: Mapped[str] = mapped_column(String(120))
    action: Mapped[str] = mapped_column(String(60))
    subject_type: Mapped[str] = mapped_column(String(30))
    subject_id: Mapped[str | None] = mapped_column(String(64))
    detail: Mapped[dict[str, Any]] = mapped_column(default=dict)


class Resident(Base):
    """A subscriber: where they are, what they want to hear about, in which language."""

    __tablename__ = "residents"
    __table_args__ = (Index("ix_residents_lat_lon", "lat", "lon"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    ref: Mapped[str] = mapped_column(String(100), unique=True)
    lat: Mapped[float] = mapped_column(Float)
    lon: Mapped[float] = mapped_column(Float)
    language: Mapped[str] = mapped_column(String(35), default="en")
    categories: Mapped[str | None] = mapped_column(String(200))
    """Comma-separated CAP categories; NULL means every category."""
    min_severity: Mapped[str | None] = mapped_column(String(10))
    quiet_start: Mapped[str | None] = mapped_column(String(5))
    quiet_end: Mapped[str | None] = mapped_column(String(5))
    timezone: Mapped[str] = mapped_column(String(64), default="UTC")
    test_recipient: Mapped[bool] = mapped_column(Boolean, default=False)
    zone: Mapped[str | None] = mapped_column(String(100), index=True)
    """A resident who subscribed to a named zone rather than a point: targeted whenever an alert's area reaches
    that zone (``lat``/``lon`` then hold a point inside the zone, for maps and the bounding-box query)."""
    manage_link_epoch: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    """Raised to void every manage link made before (sign out of every link, unsubscribe, a changed contact):
    a link carries the epoch it was made in (:mod:`alertsvc.residents.manage_links`)."""
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class Contact(Base):
    """A phone number, e-mail address or push URL of a resident, on one channel.

    Unique per (channel, address): a number shared by two residents is one contact, so it is sent one message,
    and an SMS STOP from it opts out that number everywhere.
    """

    __tablename__ = "contacts"
    __table_args__ = (
        UniqueConstraint("channel", "address", name="uq_contacts_channel_address"),
        Index("ix_contacts_resident", "resident_id"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    resident_id: Mapped[int] = mapped_column(ForeignKey("residents.id", ondelete="CASCADE"))
    channel: Mapped[str] = mapped_column(String(10))
    address: Mapped[str] = mapped_column(String(2000))
    confirmed_at: Mapped[datetime | None]
    opted_out_at: Mapped[datetime | None]
    verify_hash: Mapped[str | None] = mapped_column(String(64))
    """SHA-256 of the pending confirmation code (SMS) or token (e-mail); the plain value is only ever sent."""
    verify_expires_at: Mapped[datetime | None]
    verify_attempts: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


PENDING_STATES = ("queued", "sending")
"""Delivery states the dispatcher still has work on (``tracking.states.DeliveryState`` values; a test ties them)."""
PENDING_STATES_SQL = "state IN ({})".format(", ".join(f"'{state}'" for state in PENDING_STATES))
"""The predicate of the partial index ``ix_deliveries_pending_updated``, as written in the DDL."""


def is_pending(state: ColumnElement[str] | InstrumentedAttribute[str]) -> ColumnElement[bool]:
    """``state IN ('queued', 'sending')`` with the states written into the SQL, not bound as parameters.

    A planner uses a partial index only when it can prove the query implies the index's predicate, and it cannot
    prove that from a bound parameter (PostgreSQL's prepared statements, SQLite's ``?``). SQLite wants the very
    term of the index; PostgreSQL accepts any term that implies it. Queries that should reach pending rows
    through ``ix_deliveries_pending_updated`` carry this term.
    """
    return state.in_([literal_column(f"'{pending}'") for pending in PENDING_STATES])


class Delivery(Base):
    """One alert to one contact on one channel; unique on (alert, contact), so never sent twice."""

    __tablename__ = "deliveries"
    __table_args__ = (
        UniqueConstraint("alert_id", "contact_id", name="uq_deliveries_alert_contact"),
        Index("ix_deliveries_alert_state", "alert_id", "state"),
        # Partial (migration 0003): a row leaves the first once final and enters the second once sent.
        Index(
            "ix_deliveries_pending_updated",
            "updated_at",
            sqlite_where=text(PENDING_STATES_SQL),
            postgresql_where=text(PENDING_STATES_SQL),
        ),
        Index(
            "ix_deliveries_provider_id",
            "provider_id",
            sqlite_where=text("provider_id IS NOT NULL"),
            postgresql_where=text("provider_id IS NOT NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    alert_id: Mapped[str] = mapped_column(ForeignKey("alerts.id", ondelete="CASCADE"))
    contact_id: Mapped[int] = mapped_column(ForeignKey("contacts.id", ondelete="CASCADE"))
    resident_id: Mapped[int] = mapped_column(BigId)
    channel: Mapped[str] = mapped_column(String(10))
    state: Mapped[str] = mapped_column(String(16))
    language: Mapped[str] = mapped_column(String(35))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime | None]
    provider_id: Mapped[str | None] = mapped_column(String(100))
    error_code: Mapped[str | None] = mapped_column(String(40))
    reason: Mapped[str | None] = mapped_column(String(300))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[datetime | None]
    final_at: Mapped[datetime | None]


class EarlyCallback(Base):
    """A provider's final status for a message whose send is not recorded yet (migration 0005).

    The provider may report on a message before the worker has written its provider id (the batch is recorded
    once sent); the report is kept here, keyed by that id, and applied when the record lands
    (``alertsvc.tracking.machine``, which owns this table). The sweeper drops what no record claimed in time.
    """

    __tablename__ = "early_callbacks"
    __table_args__ = (Index("ix_early_callbacks_received_at", "received_at"),)

    provider_id: Mapped[str] = mapped_column(String(100), primary_key=True)
    state: Mapped[str] = mapped_column(String(16))
    """The delivery state the report moves to: ``delivered``, ``failed`` or ``undeliverable``."""
    error_code: Mapped[str | None] = mapped_column(String(40))
    reason: Mapped[str | None] = mapped_column(String(300))
    received_at: Mapped[datetime]


class InboundMessage(Base):
    """An inbound provider message already taken, by the provider's id (migration 0010).

    Twilio posts an inbound SMS again when its first webhook call timed out or failed, with the same
    ``MessageSid``; the id is inserted here in the transaction that applies the message, so a repeat finds it and
    changes nothing (one STOP, one reply). Owned by ``alertsvc.residents.inbound``, which forgets ids after
    :data:`alertsvc.residents.inbound.REMEMBER_FOR`.
    """

    __tablename__ = "inbound_messages"
    __table_args__ = (Index("ix_inbound_messages_received_at", "received_at"),)

    provider_id: Mapped[str] = mapped_column(String(100), primary_key=True)
    received_at: Mapped[datetime]


class Acknowledgement(Base):
    """A resident's answer to an alert: safe, or needs help. One per (alert, resident); a new answer updates it."""

    __tablename__ = "acknowledgements"
    __table_args__ = (UniqueConstraint("alert_id", "resident_id", name="uq_acks_alert_resident"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    alert_id: Mapped[str] = mapped_column(ForeignKey("alerts.id", ondelete="CASCADE"))
    resident_id: Mapped[int] = mapped_column(ForeignKey("residents.id", ondelete="CASCADE"))
    answer: Mapped[str] = mapped_column(String(10))
    via: Mapped[str] = mapped_column(String(10))
    at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class Reply(Base):
    """Free text a resident sent back (an SMS reply that is no keyword), kept for dispatchers to read."""

    __tablename__ = "replies"
    __table_args__ = (Index("ix_replies_alert", "alert_id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    alert_id: Mapped[str | None] = mapped_column(ForeignKey("alerts.id", ondelete="SET NULL"))
    contact_id: Mapped[int | None] = mapped_column(ForeignKey("contacts.id", ondelete="SET NULL"))
    channel: Mapped[str] = mapped_column(String(10))
    body: Mapped[str] = mapped_column(Text)
    at: Mapped[datetime] = mapped_column(default=utcnow)


class HelpHandled(Base):
    """A need-help answer a staff member has taken care of (migration 0012; owner
    ``alertsvc.tracking.help_requests``). ``handled_by`` is the principal's name (``user:ID``), as the audit log
    keeps it; a resident who answers again later than ``handled_at`` is shown as asking again."""

    __tablename__ = "help_handled"

    alert_id: Mapped[str] = mapped_column(ForeignKey("alerts.id", ondelete="CASCADE"), primary_key=True)
    resident_id: Mapped[int] = mapped_column(ForeignKey("residents.id", ondelete="CASCADE"), primary_key=True)
    handled_by: Mapped[str] = mapped_column(String(120))
    handled_at: Mapped[datetime]


class ConsentEvent(Base):
    """Proof of consent, kept by alertsvc itself: when, how and from where a contact opted in or out."""

    __tablename__ = "consent_events"
    __table_args__ = (Index("ix_consent_contact", "contact_id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    contact_id: Mapped[int | None] = mapped_column(ForeignKey("contacts.id", ondelete="SET NULL"))
    channel: Mapped[str] = mapped_column(String(10))
    action: Mapped[str] = mapped_column(String(20))
    """``opt_in``, ``opt_out`` or ``confirm``."""
    method: Mapped[str] = mapped_column(String(30))
    """How: ``import``, ``api``, ``sms_keyword``, ``link``, ``one_click``, ``web_form``."""
    source: Mapped[str | None] = mapped_column(String(100))
    at: Mapped[datetime] = mapped_column(default=utcnow)


class Webhook(Base):
    """An outbound webhook another system registered with its API key; events are signed with ``secret``."""

    __tablename__ = "webhooks"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    owner: Mapped[str] = mapped_column(String(120))
    url: Mapped[str] = mapped_column(String(2000))
    secret: Mapped[str] = mapped_column(String(100))
    events: Mapped[str] = mapped_column(String(300))
    """Comma-separated event types, e.g. ``alert.state,acknowledgement``."""
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class WebhookEvent(Base):
    """One event for one webhook: written in the same transaction as the change it reports (an outbox), then
    sent by the worker with retries, so an event is never lost and never invented."""

    __tablename__ = "webhook_events"
    __table_args__ = (Index("ix_webhook_events_due", "state", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    webhook_id: Mapped[int] = mapped_column(ForeignKey("webhooks.id", ondelete="CASCADE"))
    event_type: Mapped[str] = mapped_column(String(40))
    payload: Mapped[dict[str, Any]]
    state: Mapped[str] = mapped_column(String(12), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime | None]
    last_status: Mapped[str | None] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    delivered_at: Mapped[datetime | None]


class CommunityConsent(Base):
    """A resident's choice about community messages (meetings, priorities' news), apart from warnings (migration
    0006). No row: not chosen, so off (imported residents start so). ``alertsvc.residents.message_classes`` owns
    it and writes each change to the consent ledger too."""

    __tablename__ = "community_consents"

    resident_id: Mapped[int] = mapped_column(ForeignKey("residents.id", ondelete="CASCADE"), primary_key=True)
    opted_in: Mapped[bool] = mapped_column(Boolean)
    method: Mapped[str] = mapped_column(String(30))
    changed_at: Mapped[datetime] = mapped_column(default=utcnow)


class Meeting(Base):
    """A neighbourhood meeting in one zone (migration 0006; owner ``alertsvc.community``)."""

    __tablename__ = "meetings"
    __table_args__ = (Index("ix_meetings_zone_starts", "zone", "starts_at"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    uid: Mapped[str] = mapped_column(String(64), unique=True)
    """The iCalendar UID: stable, so a calendar that subscribed updates the event rather than adding another."""
    zone: Mapped[str] = mapped_column(String(100))
    title: Mapped[str] = mapped_column(String(200))
    starts_at: Mapped[datetime]
    ends_at: Mapped[datetime]
    place: Mapped[str] = mapped_column(String(300))
    description: Mapped[str] = mapped_column(Text, default="")
    created_by: Mapped[str] = mapped_column(String(120))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    cancelled_at: Mapped[datetime | None] = mapped_column(default=None)
    """Set when staff call it off (migration 0014): it stays listed, as cancelled, and sends no more messages."""
    cancelled_by: Mapped[str | None] = mapped_column(String(120), default=None)
    sequence: Mapped[int] = mapped_column(default=0, server_default="0")
    """iCalendar SEQUENCE: moves on with each change and the cancel, so subscribed calendars update the event."""


class CommunitySend(Base):
    """One community message planned for one resident (an invitation, a reminder): unique per (subject, kind,
    resident), so a repeated plan sends nothing twice; ``due_at`` is when it may go (after quiet hours). Counted for
    the weekly frequency cap (migration 0006; owner ``alertsvc.community``)."""

    __tablename__ = "community_sends"
    __table_args__ = (
        UniqueConstraint("subject", "kind", "resident_id", name="uq_community_sends_subject_kind_resident"),
        Index("ix_community_sends_resident_due", "resident_id", "due_at"),
        Index("ix_community_sends_state_due", "state", "due_at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    subject: Mapped[str] = mapped_column(String(64))
    """What it is about, e.g. ``meeting:12``."""
    kind: Mapped[str] = mapped_column(String(20))
    resident_id: Mapped[int] = mapped_column(ForeignKey("residents.id", ondelete="CASCADE"))
    language: Mapped[str] = mapped_column(String(35))
    due_at: Mapped[datetime]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    state: Mapped[str] = mapped_column(String(10), default="pending", server_default="pending")
    """``pending`` → ``sending`` → ``sent`` | ``failed``, or ``skipped`` (migration 0015; the sender's states)."""
    channel: Mapped[str | None] = mapped_column(String(10), default=None)
    provider_id: Mapped[str | None] = mapped_column(String(120), default=None)
    claimed_at: Mapped[datetime | None] = mapped_column(default=None)
    sent_at: Mapped[datetime | None] = mapped_column(default=None)
    error_code: Mapped[str | None] = mapped_column(String(40), default=None)
    reason: Mapped[str | None] = mapped_column(String(200), default=None)
    """Why it failed or was skipped, in words staff read."""


class Priority(Base):
    """A residents' priority in one zone ("speeding on Mill Road"): proposed by a resident from their manage link,
    supported by others of the zone, given a status and a response by staff (migration 0008; owner
    ``alertsvc.community.priorities``). ``proposed_by`` is never shown: the public sees the title only."""

    __tablename__ = "priorities"
    __table_args__ = (Index("ix_priorities_zone", "zone"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    zone: Mapped[str] = mapped_column(String(100))
    title: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(20), default="open")
    """``open``, ``in_progress`` or ``done``."""
    response: Mapped[str | None] = mapped_column(Text)
    hidden: Mapped[bool] = mapped_column(Boolean, default=False)
    """Moderated away by staff: not listed anywhere, supports refused."""
    proposed_by: Mapped[int | None] = mapped_column(ForeignKey("residents.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class PrioritySupport(Base):
    """One resident's support of one priority: the primary key makes it one per resident and priority."""

    __tablename__ = "priority_supports"

    priority_id: Mapped[int] = mapped_column(ForeignKey("priorities.id", ondelete="CASCADE"), primary_key=True)
    resident_id: Mapped[int] = mapped_column(ForeignKey("residents.id", ondelete="CASCADE"), primary_key=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Tip(Base):
    """An anonymous tip (an SMS starting ``TIP``, or the public form ``/r/tip``) and its thread's head (migration
    0011; owner ``alertsvc.community.tips``). The tipster's contact is never kept plain: ``contact_key`` is its keyed
    hash (finds their answers, their block), ``contact_sealed`` its encrypted copy (for relaying replies); staff see
    only ``alias``. ``ended_at``: the tipster sent STOP, or staff were given no way to answer."""

    __tablename__ = "tips"
    __table_args__ = (
        Index("ix_tips_received", "received_at"),
        Index("ix_tips_contact_key", "contact_key"),
        Index("ix_tips_zone_received", "zone", "received_at"),
        Index("ix_tips_last_activity", "last_activity_at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    alias: Mapped[str] = mapped_column(String(20), unique=True)
    zone: Mapped[str | None] = mapped_column(String(100))
    text: Mapped[str] = mapped_column(Text)
    channel: Mapped[str] = mapped_column(String(10))
    """How it came: ``sms`` or ``web``."""
    reply_channel: Mapped[str | None] = mapped_column(String(10))
    """How replies reach the tipster: ``sms``, ``email``, or none (an anonymous form without a contact)."""
    contact_key: Mapped[str | None] = mapped_column(String(64))
    contact_sealed: Mapped[str | None] = mapped_column(Text)
    language: Mapped[str] = mapped_column(String(35), default="en")
    provider_id: Mapped[str | None] = mapped_column(String(100), unique=True)
    """The SMS's provider id (Twilio's ``MessageSid``): a webhook retry opens no second tip."""
    received_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_activity_at: Mapped[datetime] = mapped_column(default=utcnow)
    ended_at: Mapped[datetime | None]


class TipMessage(Base):
    """One message of a tip's thread after the tip itself: a staff reply relayed to the tipster (``out``, with its
    relay ``state``) or the tipster's answer (``in``)."""

    __tablename__ = "tip_messages"
    __table_args__ = (Index("ix_tip_messages_tip", "tip_id", "id"), Index("ix_tip_messages_state", "state"))

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    tip_id: Mapped[int] = mapped_column(ForeignKey("tips.id", ondelete="CASCADE"))
    direction: Mapped[str] = mapped_column(String(3))
    text: Mapped[str] = mapped_column(Text)
    state: Mapped[str] = mapped_column(String(12))
    """``received`` (in); ``queued``, ``sent`` or ``failed`` (out)."""
    provider_id: Mapped[str | None] = mapped_column(String(100), unique=True)
    """An answer's SMS provider id: a webhook retry adds it once."""
    at: Mapped[datetime] = mapped_column(default=utcnow)


class TipBlock(Base):
    """A tipster staff blocked (by one of their tips, never seeing the contact): further tips and answers from the
    contact with this keyed hash are dropped without a word. Kept past the tips' retention."""

    __tablename__ = "tip_blocks"

    contact_key: Mapped[str] = mapped_column(String(64), primary_key=True)
    created_by: Mapped[str] = mapped_column(String(120))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Address(Base):
    """One address point of the gazetteer the console searches to centre its map (``alertsvc addresses import``).

    ``source_key`` is the file's HASH, else its ID, else a digest of the row: importing again replaces, never
    duplicates. ``search_text`` holds the words folded to lower case without accents; the word index over it is
    the database's own (SQLite FTS5, PostgreSQL GIN on ``to_tsvector``: migration 0013), not declared here."""

    __tablename__ = "addresses"
    __table_args__ = (UniqueConstraint("source_key", name="uq_addresses_source_key"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    source_key: Mapped[str] = mapped_column(String(80))
    number: Mapped[str] = mapped_column(String(40))
    street: Mapped[str] = mapped_column(String(200))
    unit: Mapped[str] = mapped_column(String(40))
    city: Mapped[str] = mapped_column(String(120))
    district: Mapped[str] = mapped_column(String(120))
    region: Mapped[str] = mapped_column(String(120))
    postcode: Mapped[str] = mapped_column(String(20))
    label: Mapped[str] = mapped_column(String(400))
    search_text: Mapped[str] = mapped_column(String(700))
    lat: Mapped[float] = mapped_column(Float)
    lon: Mapped[float] = mapped_column(Float)
    imported_at: Mapped[datetime] = mapped_column(default=utcnow)


class ReachGeneration(Base):
    """A marker that moves whenever who an area reaches may have changed, so an in-memory reach index knows it is
    stale: ``(max(epoch), sum(counter))``. Row 1 holds the database's random ``epoch``; on PostgreSQL each backend
    adds to a row of its own (``id = -pid``), so no two transactions wait for one another's bump.

    Written only by the triggers of migration 0016 (on ``residents`` and ``contacts``), in the same transaction as
    the change; read by ``alertsvc.store.resident_snapshot``."""

    __tablename__ = "reach_generation"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    epoch: Mapped[str] = mapped_column(String(32))
    counter: Mapped[int] = mapped_column(BigInteger)


__all__ = [
    "Acknowledgement",
    "Address",
    "Alert",
    "ApiKey",
    "AuditEvent",
    "Base",
    "CommunityConsent",
    "CommunitySend",
    "ConsentEvent",
    "Contact",
    "Delivery",
    "HelpHandled",
    "Meeting",
    "Priority",
    "PrioritySupport",
    "ReachGeneration",
    "Reply",
    "Resident",
    "Tip",
    "TipBlock",
    "TipMessage",
    "User",
]
