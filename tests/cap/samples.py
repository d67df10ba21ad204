"""Where the CAP conformance samples are, and what their README says each must do.

They live in the repository, ``tests/data/cap-samples`` (real alerts from google/cap-library, Apache-2.0, with
the licence beside them), so a fresh clone tests itself; ``ALERTSVC_CAP_SAMPLES`` points elsewhere.
"""

from __future__ import annotations

import os
from pathlib import Path

SAMPLES = Path(os.environ.get("ALERTSVC_CAP_SAMPLES", Path(__file__).resolve().parents[1] / "data" / "cap-samples"))
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
