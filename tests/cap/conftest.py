from __future__ import annotations

from typing import Any

import pytest

from .samples import SAMPLES, SCHEMA


@pytest.fixture(scope="session")
def cap_schema() -> Any:
    """The OASIS CAP 1.2 schema, loaded once (local file; it imports nothing)."""
    import xmlschema

    assert SAMPLES.is_dir(), f"CAP samples not found at {SAMPLES}; set ALERTSVC_CAP_SAMPLES"
    return xmlschema.XMLSchema(str(SCHEMA))
