"""Reading NDJSON and CSV as they arrive: bytes in, one record (a dict, or a problem) out per row.

Nothing here holds more than one row at a time, so a body of any size streams through in constant memory:
bytes are cut into physical lines, lines into records. Lines are split on ``\\n`` *before* decoding (the byte
never occurs inside a UTF-8 sequence), so one badly encoded line costs that line only. A line longer than
:data:`MAX_LINE_BYTES` is skipped and reported rather than buffered: a body with no newline at all must not be
read whole into memory.

Line numbers are physical and 1-based (the CSV header is line 1); a CSV record whose quoted field spans lines
is reported at the line it starts on.
"""

from __future__ import annotations

import csv
import json
from collections.abc import AsyncIterable, AsyncIterator
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from alertsvc.errors import FieldError, InvalidInput
from alertsvc.residents.validation import FIELDS

__all__ = [
    "MAX_LINE_BYTES",
    "MEDIA_TYPES",
    "Format",
    "ImportFormatError",
    "Record",
    "format_for_media_type",
    "format_for_suffix",
    "records",
]

MAX_LINE_BYTES = 64 * 1024
"""A resident row is a few hundred bytes; anything this long is not one."""


class Format(StrEnum):
    NDJSON = "ndjson"
    CSV = "csv"


_MEDIA_TYPES = {
    "application/x-ndjson": Format.NDJSON,
    "application/ndjson": Format.NDJSON,
    "application/jsonl": Format.NDJSON,
    "application/x-jsonlines": Format.NDJSON,
    "text/csv": Format.CSV,
}
_SUFFIXES = {".ndjson": Format.NDJSON, ".jsonl": Format.NDJSON, ".csv": Format.CSV}
MEDIA_TYPES = tuple(_MEDIA_TYPES)


class ImportFormatError(InvalidInput):
    """The input as a whole cannot be read (a CSV header that is wrong): nothing in it is imported.

    ``message`` is the reason; the field error points at ``body.line.<line>.<field>``.
    """

    def __init__(self, line: int, field: str, reason: str) -> None:
        at = FieldError(["body", "line", line, field], reason)
        super().__init__(f"line {line}: {field}: {reason}", message=reason, errors=[at])
        self.line = line
        self.field = field
        self.reason = reason


@dataclass(frozen=True, slots=True)
class Record:
    """One row: its values, or why it could not even be read as a row (``problem`` as field and reason)."""

    line: int
    values: dict[str, Any] | None = None
    problem: tuple[str, str] | None = None


def format_for_media_type(content_type: str) -> Format | None:
    """The format named by a Content-Type header; ``None`` when it names none (the caller decides: 415)."""
    return _MEDIA_TYPES.get(content_type.split(";", 1)[0].strip().lower())


def format_for_suffix(suffix: str) -> Format | None:
    return _SUFFIXES.get(suffix.lower())


async def _physical_lines(chunks: AsyncIterable[bytes]) -> AsyncIterator[bytes | None]:
    """Each line without its terminator; ``None`` for a line skipped for being too long."""
    pending = b""
    skipping = False
    async for chunk in chunks:
        if not chunk:
            continue
        *complete, rest = (pending + chunk).split(b"\n")
        for line in complete:
            yield None if skipping or len(line) > MAX_LINE_BYTES else line
            skipping = False
        pending = rest
        if len(pending) > MAX_LINE_BYTES:
            pending, skipping = b"", True
    if skipping or len(pending) > MAX_LINE_BYTES:
        yield None
    elif pending:
        yield pending


async def _decoded_lines(chunks: AsyncIterable[bytes]) -> AsyncIterator[tuple[int, str | None, str | None]]:
    """``(line number, text, problem)``: text is ``None`` when the line could not be read."""
    number = 0
    async for raw in _physical_lines(chunks):
        number += 1
        if raw is None:
            yield number, None, f"line is longer than {MAX_LINE_BYTES} bytes"
            continue
        if number == 1 and raw.startswith(b"\xef\xbb\xbf"):  # the BOM spreadsheet programs write
            raw = raw[3:]
        try:
            yield number, raw.rstrip(b"\r").decode("utf-8"), None
        except UnicodeDecodeError:
            yield number, None, "line is not valid UTF-8"


async def records(chunks: AsyncIterable[bytes], fmt: Format | None) -> AsyncIterator[Record]:
    """The rows of ``chunks`` in ``fmt``; with no format, the first non-blank line decides (``{``: NDJSON)."""
    lines = _decoded_lines(chunks)
    if fmt is None:
        buffered: list[tuple[int, str | None, str | None]] = []
        async for item in lines:
            buffered.append(item)
            if item[1] is None or item[1].strip():
                text = item[1] or ""
                fmt = Format.NDJSON if text.lstrip().startswith("{") else Format.CSV
                break
        lines = _chain(buffered, lines)
    reader = _ndjson_records if fmt is Format.NDJSON else _csv_records
    async for record in reader(lines):
        yield record


async def _chain(
    first: list[tuple[int, str | None, str | None]], rest: AsyncIterator[tuple[int, str | None, str | None]]
) -> AsyncIterator[tuple[int, str | None, str | None]]:
    for item in first:
        yield item
    async for item in rest:
        yield item


async def _ndjson_records(lines: AsyncIterator[tuple[int, str | None, str | None]]) -> AsyncIterator[Record]:
    async for number, text, problem in lines:
        if text is None:
            yield Record(number, problem=("row", problem or "unreadable line"))
            continue
        if not text.strip():
            continue
        try:
            value = json.loads(text)
        except ValueError:
            yield Record(number, problem=("row", "not valid JSON"))
            continue
        except RecursionError:  # nested past the parser's depth: refused as that line's problem, not a 500
            yield Record(number, problem=("row", "nested too deeply"))
            continue
        if not isinstance(value, dict):
            yield Record(number, problem=("row", "must be a JSON object"))
            continue
        yield Record(number, values=value)


def _csv_header(number: int, text: str) -> list[str]:
    try:
        names = [name.strip() for name in next(csv.reader([text]))]
    except (csv.Error, StopIteration) as exc:
        raise ImportFormatError(number, "header", "the CSV header cannot be read") from exc
    for name in names:
        if name not in FIELDS:
            raise ImportFormatError(number, name[:50] or "header", f"unknown column (allowed: {', '.join(FIELDS)})")
    if len(set(names)) != len(names):
        raise ImportFormatError(number, "header", "a column name appears twice")
    for required in ("ref", "lat", "lon"):
        if required not in names:
            raise ImportFormatError(number, required, "the CSV header lacks this required column")
    return names


async def _csv_records(lines: AsyncIterator[tuple[int, str | None, str | None]]) -> AsyncIterator[Record]:
    """CSV rows as dicts keyed by the header. A record continues onto the next line while a quote is open
    (an odd number of ``"`` so far), which is exactly when RFC 4180 lets a field hold a line break."""
    header: list[str] | None = None
    start, size = 0, 0
    parts: list[str] = []
    async for number, text, problem in lines:
        if text is None:
            if parts:  # an unreadable line inside a quoted field spoils the whole record
                yield Record(start, problem=("row", problem or "unreadable line"))
                parts, size = [], 0
            elif header is None:
                raise ImportFormatError(number, "header", problem or "the CSV header cannot be read")
            else:
                yield Record(number, problem=("row", problem or "unreadable line"))
            continue
        if header is None:
            if text.strip():
                header = _csv_header(number, text)
            continue
        if not parts:
            if not text.strip():
                continue
            start = number
        parts.append(text + "\n")
        size += len(text)
        if sum(part.count('"') for part in parts) % 2:
            if size > MAX_LINE_BYTES:
                yield Record(start, problem=("row", "a quoted field is never closed"))
                parts, size = [], 0
            continue
        yield _csv_record(start, parts, header)
        parts, size = [], 0
    if parts and header is not None:
        yield Record(start, problem=("row", "a quoted field is never closed"))


def _csv_record(line: int, parts: list[str], header: list[str]) -> Record:
    try:
        values = next(csv.reader(parts))
    except (csv.Error, StopIteration):
        return Record(line, problem=("row", "not a valid CSV record"))
    if len(values) != len(header):
        return Record(line, problem=("row", f"has {len(values)} fields; the header has {len(header)}"))
    return Record(line, values=dict(zip(header, values, strict=True)))
