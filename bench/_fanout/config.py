"""What the benchmark's processes must agree on: the channels, the alert's words, the secret, the bare runs' sizes.

The orchestrator, the services it configures and the bare clients it starts each read these from here, so that a
bare client sends what the pipeline renders (same words, links signed with the same key) and the table can say
how the bare runs were made.
"""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
"""The checkout the benchmark runs from: every child process starts here (so a worktree benchmarks its own code)."""

CHANNELS = ("sms", "email", "push")
SECRET = "bench-fanout-secret-key-0123456789abcdef"
"""``ALERTSVC_SECRET_KEY`` of the services, and the key the bare clients sign their links with."""
SMTP_POOL = 4
"""``channels.email.SmtpEmail``'s default pool, which ``dispatch.context.build_channels`` uses."""
CLIENT_CONCURRENCY = 128
"""``bench/ceilings.py``'s concurrency for the bare runs (``send_concurrency`` defaults to 128 as well)."""
ALERT_WORDS = {
    "language": "en-US",
    "event": "Flood",
    "senderName": "City Safety Office",
    "headline": "Flood: water rising",
    "description": "The river is rising fast.",
    "instruction": "Move to higher ground now.",
}
"""The words of every benchmark alert: the bare clients send what the pipeline renders from them."""
