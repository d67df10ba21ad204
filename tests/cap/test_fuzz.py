"""Property tests: whatever the input, the parsers answer with an alert or a :class:`CapError`, nothing else,
and whatever they accept they can write back as schema-valid XML that reads back equal."""

from __future__ import annotations

import contextlib
from typing import Any

from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from alertsvc.cap import Alert, CapError, alert_to_json, alert_to_xml, parse_cap_json, parse_cap_xml

from . import documents
from .samples import ACCEPTED_12, CAP_11, sample

SETTINGS = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
SEEDS = [sample(name) for name in [*ACCEPTED_12, *CAP_11, "invalid.cap", "xee.cap"]]


def _accepted_round_trips(alert: Alert, schema: Any) -> None:
    out = alert_to_xml(alert)
    schema.validate(out.decode())
    assert parse_cap_xml(out) == alert
    assert parse_cap_json(alert_to_json(alert)) == alert


def _parse_xml(data: bytes) -> Alert | None:
    try:
        return parse_cap_xml(data)
    except CapError as exc:
        assert exc.errors and all(isinstance(e.msg, str) and e.msg for e in exc.errors)
        return None


@SETTINGS
@given(st.binary(max_size=2048))
def test_random_bytes_only_raise_cap_error(data: bytes) -> None:
    _parse_xml(data)
    with contextlib.suppress(CapError):
        parse_cap_json(data)


PLAUSIBLE = " \t\n0123456789,.-+:TZ&;<>é\r"
"""Characters that keep a document *almost* valid: digits, signs and separators of times and coordinates."""


@st.composite
def mutated_samples(draw: st.DrawFn) -> bytes:
    """A real sample with a few bytes deleted, replaced or inserted: mostly *almost* valid documents."""
    data = bytearray(draw(st.sampled_from(SEEDS)))
    for _ in range(draw(st.integers(1, 3))):
        position = draw(st.integers(0, len(data)))
        action = draw(st.sampled_from(["delete", "replace", "insert"]))
        chunk = draw(st.binary(min_size=1, max_size=6) | st.text(PLAUSIBLE, min_size=1, max_size=4).map(str.encode))
        if action == "delete":
            del data[position : position + len(chunk)]
        elif action == "replace":
            data[position : position + len(chunk)] = chunk
        else:
            data[position:position] = chunk
    return bytes(data)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=mutated_samples())
def test_mutated_samples_are_accepted_cleanly_or_refused(data: bytes, cap_schema: Any) -> None:
    alert = _parse_xml(data)
    event("accepted" if alert is not None else "refused")
    if alert is not None:
        _accepted_round_trips(alert, cap_schema)


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=30),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4),
    max_leaves=20,
)

FIELDS = [
    ("identifier",),
    ("sent",),
    ("status",),
    ("references",),
    ("note",),
    ("info",),
    ("info", 0, "expires"),
    ("info", 0, "language"),
    ("info", 0, "category"),
    ("info", 0, "headline"),
    ("info", 0, "area"),
    ("info", 0, "area", 0, "polygon"),
    ("info", 0, "area", 0, "altitude"),
    ("info", 0, "area", 0, "areaDesc"),
]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    changes=st.lists(
        st.tuples(st.sampled_from(FIELDS), JSON_VALUES | st.text(alphabet=st.characters(codec=None), max_size=40)),
        max_size=3,
    )
)
def test_json_documents_with_random_values(changes: list[tuple[tuple[Any, ...], Any]], cap_schema: Any) -> None:
    document: Any = documents.alert()
    for path, value in changes:
        target = document
        try:
            for part in path[:-1]:
                target = target[part]
            target[path[-1]] = value
        except (KeyError, IndexError, TypeError):
            continue
    try:
        alert = parse_cap_json(document)
    except CapError:
        event("refused")
        return
    event("accepted")
    _accepted_round_trips(alert, cap_schema)


@SETTINGS
@given(JSON_VALUES)
def test_any_json_value_only_raises_cap_error(value: Any) -> None:
    with contextlib.suppress(CapError):
        parse_cap_json(value if isinstance(value, dict) else {"info": value})
