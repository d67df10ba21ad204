"""Bulk import of residents from NDJSON or CSV: from the HTTP body as it streams in, or from a file (the CLI).

The pipeline keeps one batch in memory: records are read (``formats``), validated in a worker thread (phone
parsing is CPU work and a push address may need a DNS lookup; neither may stall the event loop), and every
:data:`~alertsvc.residents.service.BATCH_SIZE` good rows are stored in one transaction (``service``). Only the
report grows with the input, and its list of problems is capped (``report``).

A row refused anywhere (unreadable, invalid, or clashing with another resident's address) is reported with its
line and skipped whole; the other rows are stored. Batches are committed as they go, so an import cut short
keeps what it had stored, and running the same file again is harmless (refs update, they do not duplicate).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterable, AsyncIterator, Sequence
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from alertsvc.residents.formats import Format, ImportFormatError, Record, format_for_suffix, records
from alertsvc.residents.report import ImportReport
from alertsvc.residents.service import BATCH_SIZE, NumberedRow, upsert_residents
from alertsvc.residents.validation import ValidationOptions, validate_row
from alertsvc.settings import Settings

__all__ = ["ImportFormatError", "import_file", "import_stream", "validation_options"]

FILE_CHUNK = 256 * 1024


def validation_options(settings: Settings) -> ValidationOptions:
    """The validation rules' settings. ``sms_default_region`` is read if the deployment's settings have it."""
    region = getattr(settings, "sms_default_region", None)
    return ValidationOptions(
        push_allow_private=settings.push_allow_private,
        sms_region=region if isinstance(region, str) and region else None,
    )


def _validate_batch(
    batch: Sequence[Record], options: ValidationOptions
) -> tuple[list[NumberedRow], list[tuple[int, list[tuple[str, str]]]]]:
    good: list[NumberedRow] = []
    bad: list[tuple[int, list[tuple[str, str]]]] = []
    for record in batch:
        if record.values is None:
            bad.append((record.line, [record.problem or ("row", "unreadable row")]))
            continue
        checked = validate_row(record.values, options)
        if isinstance(checked, list):
            bad.append((record.line, [(problem.field, problem.reason) for problem in checked]))
        else:
            good.append(NumberedRow(record.line, checked))
    return good, bad


async def _store_batch(
    sessions: async_sessionmaker[AsyncSession],
    batch: Sequence[Record],
    options: ValidationOptions,
    actor: str,
    report: ImportReport,
) -> None:
    """Validate and store one batch; its refused rows join the report in line order."""
    good, bad = await asyncio.to_thread(_validate_batch, batch, options)
    result = await upsert_residents(sessions, good, actor)
    report.created += result.created
    report.updated += result.updated
    bad += [(line, [(problem.field, problem.reason)]) for line, problem in result.rejected]
    for line, problems in sorted(bad, key=lambda item: item[0]):
        report.reject(line, problems)


async def import_stream(
    sessions: async_sessionmaker[AsyncSession],
    chunks: AsyncIterable[bytes],
    fmt: Format | None,
    actor: str,
    options: ValidationOptions,
) -> ImportReport:
    """Import rows as ``chunks`` arrive. ``fmt`` ``None`` sniffs the first line.

    Raises :class:`ImportFormatError` when the input as a whole is unreadable (a bad CSV header), before
    anything is stored.
    """
    report = ImportReport()
    pending: list[Record] = []
    async for record in records(chunks, fmt):
        pending.append(record)
        if len(pending) >= BATCH_SIZE:
            await _store_batch(sessions, pending, options, actor, report)
            pending = []
    if pending:
        await _store_batch(sessions, pending, options, actor, report)
    return report


async def _file_chunks(path: Path) -> AsyncIterator[bytes]:
    handle = await asyncio.to_thread(path.open, "rb")
    try:
        while chunk := await asyncio.to_thread(handle.read, FILE_CHUNK):
            yield chunk
    finally:
        handle.close()


async def import_file(
    sessions: async_sessionmaker[AsyncSession],
    path: Path,
    actor: str,
    options: ValidationOptions | None = None,
) -> ImportReport:
    """Import a CSV or NDJSON file (``alertsvc residents import``); the suffix, else the content, says which.

    An unreadable header is reported as a problem on line 1 with nothing imported, rather than raised, so the
    command prints it like any other problem.
    """
    if options is None:
        from alertsvc.settings import get_settings

        options = validation_options(get_settings())
    try:
        return await import_stream(sessions, _file_chunks(path), format_for_suffix(path.suffix), actor, options)
    except ImportFormatError as exc:
        report = ImportReport()
        report.reject(exc.line, [(exc.field, exc.reason)])
        return report
