"""Where the shared CAP conformance samples are, and what the README says each must do.

Read by path from ``../shared/cap-samples`` next to the repository (never copied in), or from
``ALERTSVC_CAP_SAMPLES``.
"""

from __future__ import annotations

import os
from pathlib import Path

SAMPLES = Path(os.environ.get("ALERTSVC_CAP_SAMPLES", Path(__file__).resolve().parents[3] / "shared" / "cap-samples"))
SCHEMA = SAMPLES / "cap12.xsd"

# The README table, row by row.
ACCEPTED_12 = ["australia.cap", "canada.cap", "canada_signed.cap", "thunderstorm.cap", "wcatwc-warning.cap"]
LATIN_1 = "earthquake-iso8859-1.cap"
CAP_11 = ["weather.cap", "earthquake.cap", "earthquake_signed.cap", "no_optional_fields.cap"]
REJECTED = {
    "invalid.cap": "scope",
    "canada_errors.cap": "references",
    "noaa_errors.cap": "references",
}
HOSTILE = ["xee.cap", "xee.atom"]


def sample(name: str) -> bytes:
    return (SAMPLES / name).read_bytes()
