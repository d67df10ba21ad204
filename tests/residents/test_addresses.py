"""The address gazetteer on both databases: ``import_addresses`` (good rows, bad rows with their lines, re-import,
a large file streamed in batches), ``search_addresses`` (prefix words, accents, operators) and the command line."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest
from sqlalchemy import func, select

from alertsvc.cli import main
from alertsvc.errors import InvalidInput
from alertsvc.residents import addresses as gazetteer
from alertsvc.residents.addresses import count_addresses, import_addresses, search_addresses
from alertsvc.runtime import Runtime
from alertsvc.settings import Settings
from alertsvc.store.models import Address

HEADER = "LON,LAT,NUMBER,STREET,UNIT,CITY,DISTRICT,REGION,POSTCODE,ID,HASH"


def _write(path: Path, lines: list[str], header: str = HEADER) -> Path:
    path.write_text("\n".join([header, *lines]) + "\n", encoding="utf-8")
    return path


async def _labels(runtime: Runtime, query: str) -> list[str]:
    return [match.label for match in await search_addresses(runtime, query)]


async def test_good_rows_are_found_by_word_prefixes(runtime: Runtime, tmp_path: Path) -> None:
    path = _write(
        tmp_path / "a.csv",
        [
            "-73.5701,45.5012,12,River Road,,Lakeside,,QC,H2X 1Y4,a1,h1",
            "-73.5702,45.5013,120,River Road,,Lakeside,,QC,H2X 1Y4,a2,h2",
            "-73.5703,45.5014,12,Rivington Street,Apt 3,Lakeside,,QC,H2X 1Y5,a3,h3",
            "-73.5704,45.5015,7,Rue de l'Église,,Lakeside,,QC,H2X 1Y6,a4,h4",
            "-73.5705,45.5016,12,Oak Avenue,,Lakeside,,QC,H2X 1Y7,a5,h5",
        ],
    )
    report = await import_addresses(runtime.sessions, path)
    assert (report.read, report.added, report.replaced, report.rejected) == (5, 5, 0, 0)

    found = await search_addresses(runtime, "12 riv")
    assert [m.label for m in found] == [
        "12 River Road, Lakeside, H2X 1Y4",
        "12 Rivington Street, Apt 3, Lakeside, H2X 1Y5",
        "120 River Road, Lakeside, H2X 1Y4",
    ]
    assert (found[0].lat, found[0].lon) == (45.5012, -73.5701)  # LAT is the latitude, whatever the column order
    assert await _labels(runtime, "RIVER ro") == [
        "12 River Road, Lakeside, H2X 1Y4",
        "120 River Road, Lakeside, H2X 1Y4",
    ]
    assert await _labels(runtime, "eglise") == ["7 Rue de l'Église, Lakeside, H2X 1Y6"]
    assert await _labels(runtime, "Égl") == ["7 Rue de l'Église, Lakeside, H2X 1Y6"]
    assert await _labels(runtime, "oak 99") == []


async def test_query_syntax_of_either_database_is_only_words(runtime: Runtime, tmp_path: Path) -> None:
    await import_addresses(runtime.sessions, _write(tmp_path / "a.csv", ["1.0,2.0,5,Main Street,,Town,,,,,"]))
    for hostile in ['"', "main*", "main OR x", "main & !x", "main:* | x", "NEAR(main", "'; drop table addresses;--"]:
        await search_addresses(runtime, hostile)  # never a syntax error from FTS5 or to_tsquery
    assert await _labels(runtime, "main*") == ["5 Main Street, Town"]
    assert await _labels(runtime, "main OR nothing") == []  # OR is a word to match, not an operator
    assert await _labels(runtime, "!!! ???") == []
    assert await _labels(runtime, "") == []


async def test_bad_rows_are_counted_with_their_lines_and_the_good_ones_kept(runtime: Runtime, tmp_path: Path) -> None:
    path = tmp_path / "bad.csv"
    path.write_bytes(
        (
            "lat,Lon,street,number\n"  # another order, other case, optional columns left out
            "45.5,-73.5,Good Street,1\n"  # line 2
            "91,-73.5,North Pole Road,2\n"  # line 3: latitude out of range
            "45.5,-181,Date Line Road,3\n"  # line 4: longitude out of range
            "abc,-73.5,Letters Road,4\n"  # line 5
            "45.5,-73.5,,5\n"  # line 6: no street
            "nan,-73.5,Nan Road,6\n"  # line 7
            f"45.5,-73.5,{'x' * 201},7\n"  # line 8: too long
            '45.5,-73.5,"Multi\nLine Road",8\n'  # lines 9-10: a control character in STREET
            "45.6,-73.6,Second Good Street,9\n"  # line 11
        ).encode()
        + b"45.5,-73.5,Caf\xe9 Street,10\n"  # line 12: Latin-1, not UTF-8
        + b"45.7,-73.7,Third Good Street\n"  # line 13: fewer columns than the header is fine
    )
    report = await import_addresses(runtime.sessions, path)
    assert (report.read, report.added, report.rejected) == (11, 3, 8)
    assert [(bad.line, bad.reason.split(" ")[0]) for bad in report.problems] == [
        (3, "LAT"),
        (4, "LON"),
        (5, "LAT"),
        (6, "STREET"),
        (7, "LAT"),
        (8, "STREET"),
        (10, "STREET"),
        (12, "the"),
    ]
    assert "outside -90..90" in report.problems[0].reason
    assert "not UTF-8" in report.problems[-1].reason
    assert await count_addresses(runtime) == 3
    assert await _labels(runtime, "good") == ["1 Good Street", "Third Good Street", "9 Second Good Street"]


async def test_a_header_without_a_required_column_imports_nothing(runtime: Runtime, tmp_path: Path) -> None:
    path = _write(tmp_path / "h.csv", ["1,2,Main"], header="LON,LATITUDE,STREET")
    with pytest.raises(InvalidInput, match="LAT"):
        await import_addresses(runtime.sessions, path)
    (tmp_path / "e.csv").write_bytes(b"")
    with pytest.raises(InvalidInput, match="empty"):
        await import_addresses(runtime.sessions, tmp_path / "e.csv")
    assert await count_addresses(runtime) == 0


async def test_reimport_replaces_by_hash_then_id_then_row(runtime: Runtime, tmp_path: Path) -> None:
    first = _write(
        tmp_path / "one.csv",
        [
            "1.0,2.0,1,Hash Street,,Town,,,,id-1,hash-1",
            "1.0,2.0,2,Id Street,,Town,,,,id-2,",
            "1.0,2.0,3,Plain Street,,Town,,,,,",
        ],
    )
    assert (await import_addresses(runtime.sessions, first)).added == 3
    again = await import_addresses(runtime.sessions, first)
    assert (again.added, again.replaced) == (0, 3)
    assert await count_addresses(runtime) == 3

    moved = _write(
        tmp_path / "two.csv",
        [
            "1.5,2.5,1,Hash Street Renamed,,Town,,,,other-id,hash-1",  # same HASH: replaced although the ID changed
            "1.5,2.5,2,Id Street,,Town,,,,id-2,",  # same ID: replaced, moved
            "1.0,2.0,3,Plain Street,,Town,,,,,",  # same row: replaced
            "1.0,2.0,3,Plain Street,,Town,,,,,",  # twice in one batch: one address
        ],
    )
    report = await import_addresses(runtime.sessions, moved)
    assert (report.added, report.replaced) == (0, 3)
    assert await count_addresses(runtime) == 3
    assert await _labels(runtime, "hash") == ["1 Hash Street Renamed, Town"]
    [id_street] = await search_addresses(runtime, "id street")
    assert (id_street.lat, id_street.lon) == (2.5, 1.5)
    assert await _labels(runtime, "renamed") == ["1 Hash Street Renamed, Town"]  # the index followed the update


async def test_a_large_file_is_streamed_in_batches(
    runtime: Runtime, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """12,500 rows go through 7 transactions of at most 2,000: one batch in memory, never the file."""
    monkeypatch.setattr(gazetteer, "BATCH_SIZE", 2000)
    path = tmp_path / "large.csv"
    with path.open("w", encoding="utf-8", newline="") as stream:
        writer = csv.writer(stream)
        writer.writerow(HEADER.split(","))
        for n in range(12_500):
            lon, lat = f"{-73 - n / 1e5:.5f}", f"{45 + n / 1e5:.5f}"
            writer.writerow([lon, lat, n, f"Street {n % 97}", "", "Big", "", "", "", "", f"h{n}"])
    sizes: list[int] = []
    store = gazetteer._store_batch

    async def counting(session: object, rows: list[object]) -> tuple[int, int]:
        sizes.append(len(rows))
        return await store(session, rows)  # type: ignore[arg-type]

    monkeypatch.setattr(gazetteer, "_store_batch", counting)
    report = await import_addresses(runtime.sessions, path)
    assert (report.read, report.added, report.rejected) == (12_500, 12_500, 0)
    assert sizes == [2000] * 6 + [500]
    async with runtime.sessions() as session:
        assert await session.scalar(select(func.count()).select_from(Address)) == 12_500
    assert await _labels(runtime, "12499 street") == ["12499 Street 83, Big"]


async def test_bad_rows_kept_are_capped_but_all_counted(runtime: Runtime, tmp_path: Path) -> None:
    lines = ["200,1,Nowhere Road"] * (gazetteer.KEPT_PROBLEMS + 5)
    report = await import_addresses(runtime.sessions, _write(tmp_path / "b.csv", lines, header="LON,LAT,STREET"))
    assert report.rejected == gazetteer.KEPT_PROBLEMS + 5
    assert len(report.problems) == gazetteer.KEPT_PROBLEMS


def test_the_command_prints_one_summary_line_and_the_refused_rows(
    settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    for name, value in (("DATABASE_URL", settings.resolved_database_url), ("ALERTSVC_DATA_DIR", str(tmp_path / "var"))):
        monkeypatch.setenv(name, value)
    from alertsvc.settings import get_settings

    get_settings.cache_clear()
    try:
        path = _write(tmp_path / "c.csv", ["1.0,2.0,1,Main Street,,Town,,,,,", "1.0,95,2,Main Street,,Town,,,,,"])
        assert main(["addresses", "import", str(path)]) == 1
        out = capsys.readouterr().out.splitlines()
        assert out[0].startswith("addresses: 2 rows read, 1 added, 0 replaced, 1 rejected in ")
        assert out[1] == "  line 3: LAT 95 is outside -90..90"
        assert (
            main(["addresses", "import", str(_write(tmp_path / "ok.csv", ["1.0,2.0,1,Main Street,,Town,,,,,"]))]) == 0
        )
        assert "0 added, 1 replaced" in capsys.readouterr().out
        assert main(["addresses", "import", str(tmp_path / "missing.csv")]) == 2
        assert main(["addresses", "import", str(_write(tmp_path / "h.csv", [], header="X,Y"))]) == 2
        assert "no LON, LAT, STREET column" in capsys.readouterr().err
    finally:
        get_settings.cache_clear()


def test_stream_reader_alone_reports_unreadable_csv() -> None:
    from alertsvc.residents.address_rows import BadRow, read_rows

    rows = list(read_rows(io.StringIO("LON,LAT,STREET\n1,2,Ok\n1,2,A\x00B\n3,4,Fine\n", newline="")))
    assert [type(row).__name__ for row in rows] == ["AddressRow", "BadRow", "AddressRow"]
    assert isinstance(rows[1], BadRow) and rows[1].line == 3
