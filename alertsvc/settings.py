"""Every setting alertsvc reads, from the environment and `.env`.

Nothing else in the code base reads ``os.environ``: a setting that is not here does not exist. Settings are read
through :func:`get_settings` (cached), never at import time, so tests and the CLI can build their own.

The embedded default needs no configuration at all: a SQLite file under ``ALERTSVC_DATA_DIR``, a Redis server
the service starts itself, sandbox providers. Outside development the service refuses to start without a real
secret key, because every signed link and session would otherwise be forgeable.
"""

from __future__ import annotations

import re
import secrets
from enum import StrEnum
from functools import lru_cache
from pathlib import Path
from urllib.parse import urlsplit

from pydantic import AliasChoices, Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_SECRET = "change-me"  # noqa: S105 - the sentinel we refuse outside development
OSM_TILE_URL = "https://tile.openstreetmap.org/{z}/{x}/{y}.png"
OSM_ATTRIBUTION = '&copy; <a href="https://www.openstreetmap.org/copyright">OpenStreetMap</a> contributors'
"""OpenStreetMap's standard tiles and the credit their usage policy requires (operations.osmfoundation.org)."""
TILE_URL_FIELDS = frozenset({"s", "z", "x", "y", "-y", "r"})
"""The placeholders a Leaflet tile URL may use without options of its own; an unknown one stops Leaflet."""


class Environment(StrEnum):
    DEVELOPMENT = "development"
    PRODUCTION = "production"


class Settings(BaseSettings):
    """alertsvc configuration; variable names are part of the public contract (DESIGN.md)."""

    model_config = SettingsConfigDict(
        env_prefix="ALERTSVC_", env_file=".env", env_file_encoding="utf-8", extra="ignore"
    )

    env: Environment = Environment.DEVELOPMENT
    data_dir: Path = Path("var")
    database_url: str | None = Field(
        default=None, validation_alias=AliasChoices("DATABASE_URL", "ALERTSVC_DATABASE_URL")
    )
    redis_url: str | None = Field(default=None, validation_alias=AliasChoices("REDIS_URL", "ALERTSVC_REDIS_URL"))
    secret_key: SecretStr = SecretStr(DEFAULT_SECRET)
    public_url: str = "http://127.0.0.1:8000"
    service_name: str = "alertsvc"
    """How messages and SMS keyword answers name the sender."""

    sandbox: bool = False
    twilio_account_sid: str = "AC00000000000000000000000000000000"
    twilio_auth_token: SecretStr = SecretStr("sandbox-auth-token")
    twilio_from: str = "+15005550006"
    twilio_base_url: str | None = None
    smtp_url: str = "smtp://127.0.0.1:25"
    email_from: str = "alerts@alertsvc.invalid"
    push_allow_private: bool = False
    webhook_allow_private: bool = False
    """Allow outbound webhooks to private and loopback addresses (tests, closed networks)."""
    trusted_proxies: str = ""
    """Comma-separated addresses or networks (CIDR) of the reverse proxies whose ``X-Forwarded-For`` is believed.
    Empty (the default; loopback is not trusted either): a client's address is its connection's, whatever headers
    it sends, so nobody chooses the address that per-client rate limits count against."""

    community_weekly_cap: int = Field(default=2, ge=0, le=50)
    """At most this many community messages (meeting invitations, reminders) reach one resident in any seven days;
    warnings are never counted nor held back. 0: none at all."""
    tip_retention_days: int = Field(default=90, ge=1, le=3650)
    """Anonymous tips (their text, thread, sealed contact) older than this many days are deleted by the sweeper
    and by ``alertsvc tips purge``; blocks of tipsters are kept."""
    zones_dir: Path | None = None
    """GeoJSON files of named zones; default: the project's ``config/zones``."""
    sms_max_segments: int = 3
    sms_rate_per_second: float | None = None
    email_rate_per_second: float | None = None
    push_rate_per_second: float | None = None
    """Channel rate limits shared by all workers; unset means as fast as the provider takes them."""
    delivery_batch_size: int = 500
    """Deliveries a deliver job carries: fewer, larger jobs cost less per message (bench/README.md)."""
    job_timeout_s: int = 300
    """A job running longer is presumed dead; its work is taken up again (arq re-runs it, the sweeper re-queues)."""
    provider_timeout_s: float = Field(default=10.0, gt=0, le=120)
    """Seconds the channel adapters wait for a provider (a Twilio request, each SMTP command, a push); a send that
    times out is retried, SMS only after asking Twilio whether it has the message already."""
    stall_after_s: int = 30
    """Queued deliveries idle this long (a lost job, a restarted Redis) are enqueued again by the sweeper."""
    receipt_overdue_seconds: int = Field(default=900, ge=1)
    """A delivery ``sent`` this long without a final receipt (delivered, failed, undeliverable) is counted as
    overdue: in each alert's ``receipts_overdue`` and the ``alertsvc_receipts_overdue`` metric, so a provider that
    stops calling back is seen."""
    worker_max_jobs: int = Field(default=16, ge=1)
    """Jobs one worker process runs at once; the rest wait in Redis for any worker. Sixteen batches keep the
    send gate full; more only add tasks waiting on it (bench/README.md)."""
    sweep_interval_s: int = Field(default=10, ge=1, le=60)
    """How often the sweeper runs (at the seconds of each minute that are multiples of it; tests lower it)."""
    send_concurrency: int = 128
    worker_metrics_addr: str | None = None
    """``host:port`` on which an ``alertsvc worker`` serves its Prometheus metrics (unset: not served; the API
    serves its own, and its in-process worker's, at ``GET /metrics``)."""

    max_alert_bytes: int = 1024 * 1024
    run_worker_in_process: bool | None = None
    """Run the arq worker inside ``serve``; default: only on the embedded defaults (no REDIS_URL)."""

    approval_required_statuses: list[str] = ["Actual"]
    """CAP statuses whose alerts a console dispatcher cannot send without an approver."""
    approval_exempt_categories: list[str] = []
    """CAP categories that need no approver when every category of the alert is among them (default: none)."""
    approval_exempt_max_residents: int = 0
    """Alerts reaching at most this many residents need no approver (0: the size never waives approval)."""
    approval_waived_categories: list[str] = []
    """CAP categories in which an approver's or admin's own Actual alert goes out without a second approver, when
    every category of the alert is among them (default: none, the two-person rule holds everywhere); each use is
    audited. ``approval_exempt_categories`` waives approval for dispatchers too; this only the two-person rule."""

    tile_url: str | None = OSM_TILE_URL
    """The maps' tiles (console and residents' sign-up), a Leaflet URL template; default OpenStreetMap's standard
    tiles. Empty: zones and the target area are drawn on a plain background. ``tiles_file`` takes its place."""
    tile_attribution: str = OSM_ATTRIBUTION
    """The credit the tile provider requires, shown on the maps (HTML: links kept, any other markup dropped)."""
    tiles_file: Path | None = None
    """An MBTiles file of raster tiles that the service serves itself at ``/tiles/{z}/{x}/{y}.png`` and shows on
    the maps instead of ``tile_url``: the basemap of a closed network. Checked at start."""
    density_min_count: int = Field(default=10, ge=2, le=100_000)
    """The compose map's resident density shows a grid cell only when this many residents or more are in it: where
    people are, never who (a cell of one or two would point at a household)."""
    manage_link_days: int = Field(default=30, ge=1, le=3650)
    """A resident's manage link (``/r/manage/...``, sent when they sign up again) works this many days after it was
    made; an expired one offers a fresh link by the resident's own contact. It stops at once, whatever its age,
    when the resident signs out of every link, unsubscribes a contact, or has a contact changed."""
    console_idle_minutes: int = 30
    """A console session unused this long ends: a dispatcher's unattended screen must not stay able to send."""
    console_session_hours: int = 12
    """A console session ends this long after sign-in however busy it is (one shift)."""
    login_max_failures: int = 5
    login_lock_minutes: int = 15
    """After ``login_max_failures`` wrong passwords in a row an account is locked for this long."""

    @field_validator("worker_metrics_addr")
    @classmethod
    def _listen_address(cls, value: str | None) -> str | None:
        if value:
            from alertsvc.metrics import parse_listen_address

            parse_listen_address(value)  # refused at start-up, not when the worker binds
        return value or None

    @field_validator("tile_url")
    @classmethod
    def _tile_url_template(cls, value: str | None) -> str | None:
        """An absolute http(s) URL or a path on this server, with {z}, {x} and {y}: a typo stops the start, not
        every map later (Leaflet fails on an unknown placeholder; a bare host name would be read as a path)."""
        value = (value or "").strip()
        if not value:
            return None
        parts = urlsplit(value)
        if not (parts.scheme in ("http", "https") and parts.hostname) and not value.startswith("/"):
            raise ValueError(f"{value!r} must start with https://, http:// or / (a path on this server)")
        if parts.username is not None or parts.password is not None:
            raise ValueError("must not carry a user name or password: every visitor's browser would see it")
        fields = set(re.findall(r"\{([^{}]*)\}", value))
        if unknown := sorted(fields - TILE_URL_FIELDS):
            raise ValueError(f"unknown placeholder {{{unknown[0]}}}: use {{z}}, {{x}}, {{y}} (or {{-y}}), {{s}}, {{r}}")
        if not {"z", "x"} <= fields or not fields & {"y", "-y"}:
            raise ValueError(f"{value!r} needs {{z}}, {{x}} and {{y}} (a Leaflet tile URL template)")
        return value

    @field_validator("tiles_file", mode="before")
    @classmethod
    def _empty_tiles_file_is_none(cls, value: object) -> object:
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("tiles_file")
    @classmethod
    def _mbtiles(cls, value: Path | None) -> Path | None:
        if value is not None:
            from alertsvc.mbtiles import describe

            describe(value)  # refused at start-up (missing, not MBTiles, vector tiles), not when a map asks
        return value

    @field_validator("trusted_proxies")
    @classmethod
    def _proxy_addresses(cls, value: str) -> str:
        """Each entry an IP address or network, written the way uvicorn reads it (it takes ``10.0.0.1/8`` for a
        host name, silently); refused at start-up otherwise."""
        import ipaddress  # only here: settings are read by every process, this validator rarely has work

        entries = []
        for entry in filter(None, (part.strip() for part in value.split(","))):
            try:
                parsed = ipaddress.ip_network(entry, strict=False) if "/" in entry else ipaddress.ip_address(entry)
            except ValueError:
                raise ValueError(f"{entry!r} is not an IP address or network (CIDR)") from None
            entries.append(str(parsed))
        return ",".join(entries)

    @model_validator(mode="after")
    def _refuse_default_secret_outside_development(self) -> Settings:
        if self.env is not Environment.DEVELOPMENT and self.secret_key.get_secret_value() == DEFAULT_SECRET:
            raise ValueError(
                "ALERTSVC_SECRET_KEY must be set to a long random value outside development "
                "(signed links, sessions and webhooks depend on it)"
            )
        if self.env is not Environment.DEVELOPMENT and len(self.secret_key.get_secret_value()) < 32:
            raise ValueError("ALERTSVC_SECRET_KEY must be at least 32 characters outside development")
        return self

    @property
    def embedded_redis(self) -> bool:
        """True when no REDIS_URL is given: ``serve`` starts a Redis server of its own."""
        return not self.redis_url

    @property
    def resolved_database_url(self) -> str:
        """DATABASE_URL, or the SQLite file under the data directory."""
        if self.database_url:
            return self.database_url
        return f"sqlite+aiosqlite:///{(self.data_dir / 'alertsvc.sqlite3').resolve()}"

    @property
    def trusted_proxy_list(self) -> list[str]:
        """:attr:`trusted_proxies` as a list (for uvicorn's ``forwarded_allow_ips``); empty when none."""
        return [entry for entry in self.trusted_proxies.split(",") if entry]

    @property
    def worker_in_process(self) -> bool:
        if self.run_worker_in_process is not None:
            return self.run_worker_in_process
        return self.embedded_redis

    def signing_key(self) -> str:
        """The secret for signed links. In development with no key set, one is made and kept under data_dir.

        A fixed well-known default would let anyone forge acknowledgement and unsubscribe links on a demo that
        someone forgot to configure, so even development gets a random key that survives restarts.
        """
        value = self.secret_key.get_secret_value()
        if value != DEFAULT_SECRET:
            return value
        path = self.data_dir / "secret_key"
        if path.exists():
            return path.read_text().strip()
        self.data_dir.mkdir(parents=True, exist_ok=True)
        generated = secrets.token_urlsafe(48)
        path.write_text(generated)
        path.chmod(0o600)
        return generated


def configuration_error(exc: ValueError) -> str:
    """A settings error on one line, naming each variable at fault: ``ALERTSVC_TILES_FILE: x does not exist``.

    pydantic's own text spans several lines with its type codes and a documentation link, for a programmer.
    """
    if not isinstance(exc, ValidationError):
        return str(exc)
    problems = []
    for error in exc.errors(include_url=False):
        message = str(error["msg"]).removeprefix("Value error, ")
        loc = [str(part) for part in error["loc"]]
        name = loc[0].upper() if loc else ""
        if name and not name.startswith("ALERTSVC_") and name.lower() in Settings.model_fields:
            name = f"ALERTSVC_{name}"
        problems.append(f"{name}: {message}" if name else message)
    return "; ".join(problems)


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings, read once on first use."""
    return Settings()
