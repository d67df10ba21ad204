"""Hostile XML: nothing is fetched, no local file is read, no entity is expanded; the alert is refused.

Proof, not just "an error was raised": a Python audit hook records every file open and socket connection made
while parsing, a listening socket checks that nobody called it, and a secret file's content must appear nowhere
(not in the alert, not in the error).
"""

from __future__ import annotations

import socket
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from alertsvc.cap import CapError, alert_to_json, alert_to_xml, parse_cap_xml

from .samples import sample

SECRET = "s3cret-c0ntent-that-must-never-leak"

_events: list[tuple[str, tuple[Any, ...]]] | None = None


def _hook(event: str, args: tuple[Any, ...]) -> None:
    if _events is not None and event in {"open", "os.open", "socket.connect", "urllib.Request", "socket.getaddrinfo"}:
        _events.append((event, args))


sys.addaudithook(_hook)  # audit hooks cannot be removed; it records only inside ``_recording``


@contextmanager
def _recording() -> Iterator[list[tuple[str, tuple[Any, ...]]]]:
    global _events
    _events = []
    try:
        yield _events
    finally:
        _events = None


@pytest.fixture
def secret_file(tmp_path: Path) -> Path:
    path = tmp_path / "secret.txt"
    path.write_text(SECRET)
    return path


@pytest.fixture
def listener() -> Iterator[socket.socket]:
    """A local TCP port the hostile documents point at: it must never see a connection."""
    server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    server.bind(("127.0.0.1", 0))
    server.listen(5)
    server.setblocking(False)
    try:
        yield server
    finally:
        server.close()


def _assert_nobody_called(server: socket.socket) -> None:
    with pytest.raises(BlockingIOError):
        connection, _ = server.accept()
        connection.close()


ALERT_BODY = """<alert xmlns="urn:oasis:names:tc:emergency:cap:1.2">
  <identifier>X1</identifier><sender>s@example.org</sender><sent>2024-05-01T14:00:00-05:00</sent>
  <status>Actual</status><msgType>Alert</msgType><scope>Public</scope>
  <info><category>Met</category><event>Storm {ref}</event><urgency>Immediate</urgency>
    <severity>Severe</severity><certainty>Observed</certainty>
    <headline>Storm {ref}</headline><area><areaDesc>Town</areaDesc></area></info>
</alert>"""


def _hostile_documents(secret: Path, port: int) -> dict[str, bytes]:
    file_uri = secret.as_uri()
    http = f"http://127.0.0.1:{port}"
    return {
        "external entity to a local file": (
            f'<?xml version="1.0"?>\n<!DOCTYPE alert [<!ENTITY xxe SYSTEM "{file_uri}">]>\n'
            + ALERT_BODY.format(ref="&xxe;")
        ).encode(),
        "external entity over http": (
            f'<?xml version="1.0"?>\n<!DOCTYPE alert [<!ENTITY xxe SYSTEM "{http}/entity">]>\n'
            + ALERT_BODY.format(ref="&xxe;")
        ).encode(),
        "external DTD": (
            f'<?xml version="1.0"?>\n<!DOCTYPE alert SYSTEM "{http}/cap.dtd">\n' + ALERT_BODY.format(ref="")
        ).encode(),
        "parameter entities (out-of-band exfiltration)": (
            f'<?xml version="1.0"?>\n<!DOCTYPE alert [<!ENTITY % file SYSTEM "{file_uri}">'
            f'<!ENTITY % dtd SYSTEM "{http}/evil.dtd"> %dtd;]>\n' + ALERT_BODY.format(ref="")
        ).encode(),
        "UTF-16 external entity": (
            f'<?xml version="1.0" encoding="UTF-16"?>\n<!DOCTYPE alert [<!ENTITY xxe SYSTEM "{file_uri}">]>\n'
            + ALERT_BODY.format(ref="&xxe;")
        ).encode("utf-16"),
    }


def test_entities_and_dtds_are_refused_without_reading_or_fetching(secret_file: Path, listener: socket.socket) -> None:
    documents = _hostile_documents(secret_file, listener.getsockname()[1])
    for name, document in documents.items():
        with _recording() as events, pytest.raises(CapError) as caught:
            parse_cap_xml(document)
        assert events == [], f"{name}: the parser touched files or the network: {events}"
        assert [e.loc for e in caught.value.errors] == [["body"]], name
        assert "DOCTYPE" in caught.value.errors[0].msg, name
        assert SECRET not in str(caught.value), name
    _assert_nobody_called(listener)


def test_xinclude_is_never_processed(secret_file: Path, listener: socket.socket) -> None:
    """Without a DTD the only other way in is XInclude: to us it is just an element, never followed."""
    include = (
        f'<xi:include xmlns:xi="http://www.w3.org/2001/XInclude" href="{secret_file.as_uri()}" parse="text"/>'
        f'<xi:include xmlns:xi="http://www.w3.org/2001/XInclude" href="http://127.0.0.1:{listener.getsockname()[1]}/"/>'
    )
    at_the_end = ALERT_BODY.format(ref="").replace("</alert>", include + "</alert>").encode()
    inside_text = ALERT_BODY.format(ref=include).encode()
    with _recording() as events:
        alert = parse_cap_xml(at_the_end)  # a foreign element where CAP allows extensions: dropped
        with pytest.raises(CapError) as caught:
            parse_cap_xml(inside_text)
    assert events == []
    assert SECRET.encode() not in alert_to_xml(alert)
    assert SECRET not in str(alert_to_json(alert))
    assert SECRET not in str(caught.value)
    assert ["info", 0, "event"] in [e.loc for e in caught.value.errors]
    _assert_nobody_called(listener)


def test_billion_laughs_is_refused_quickly() -> None:
    levels = ['<!ENTITY lol0 "lol">'] + [f'<!ENTITY lol{i} "{("&lol" + str(i - 1) + ";") * 10}">' for i in range(1, 10)]
    bomb = f'<?xml version="1.0"?>\n<!DOCTYPE alert [{"".join(levels)}]>\n' + ALERT_BODY.format(ref="&lol9;")
    started = time.perf_counter()
    with pytest.raises(CapError) as caught:
        parse_cap_xml(bomb.encode())
    assert time.perf_counter() - started < 0.5
    assert [e.loc for e in caught.value.errors] == [["body"]]


def test_xee_sample_touches_nothing() -> None:
    document = sample("xee.cap")
    with _recording() as events, pytest.raises(CapError):
        parse_cap_xml(document)
    assert events == []


def test_the_recorder_does_record(secret_file: Path) -> None:
    """The control for the tests above: a real file read inside ``_recording`` is seen."""
    with _recording() as events:
        secret_file.read_text()
    assert any(str(secret_file) in str(args) for _event, args in events)
