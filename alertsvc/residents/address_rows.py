"""Reading an address gazetteer CSV (the OpenAddresses column layout) row by row, each row checked on its own.

Columns ``LON,LAT,NUMBER,STREET,UNIT,CITY,DISTRICT,REGION,POSTCODE,ID,HASH``, matched ignoring case and
surrounding spaces; ``LON``, ``LAT`` and ``STREET`` are required, the others may be absent, and columns we do not
know are ignored. The file is read as a stream, so memory does not grow with it: a row that cannot be read or
is wrong (coordinates outside ±90/±180 or not numbers, no street, a field too long, bytes that are not UTF-8)
becomes a :class:`BadRow` with its line number, never an exception, and the rows after it are still read. Only
a file whose header lacks a required column is refused whole (:class:`~alertsvc.errors.InvalidInput`): every
row would be bad.

The words the search matches are made here too (:func:`fold_words`), so the rows stored and the queries asked are
folded by the one function.
"""

from __future__ import annotations

import csv
import hashlib
import math
import re
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TextIO

from alertsvc.errors import InvalidInput

__all__ = [
    "FIELD_LIMITS",
    "REQUIRED",
    "AddressRow",
    "BadRow",
    "fold_words",
    "read_rows",
]

REQUIRED = ("lon", "lat", "street")
FIELD_LIMITS = {
    "number": 40,
    "street": 200,
    "unit": 40,
    "city": 120,
    "district": 120,
    "region": 120,
    "postcode": 20,
    "id": 64,
    "hash": 64,
}
"""The longest value each text column may hold (characters); the columns of ``addresses`` are sized to match."""
NUMBER_LIMIT = 40
"""LON and LAT: a decimal number needs no more characters than this."""

_WORD = re.compile(r"[^\W_]+")


@dataclass(frozen=True, slots=True)
class AddressRow:
    """One good row: the text fields stripped (empty when absent), coordinates range-checked."""

    line: int
    lat: float
    lon: float
    number: str
    street: str
    unit: str
    city: str
    district: str
    region: str
    postcode: str
    source_id: str
    source_hash: str

    @property
    def source_key(self) -> str:
        """What makes a re-import replace this row: the file's HASH, else its ID, else a digest of the row itself
        (so a file without either can still be imported twice without doubling)."""
        if self.source_hash:
            return f"hash:{self.source_hash}"
        if self.source_id:
            return f"id:{self.source_id}"
        parts = (f"{self.lat:.7f}", f"{self.lon:.7f}", self.number, self.street, self.unit, self.city, self.postcode)
        return "row:" + hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:40]

    @property
    def label(self) -> str:
        """How the console lists it: "12 River Road, Unit 3, Lakeside, 12345"."""
        first = f"{self.number} {self.street}".strip()
        place = self.city or self.district
        return ", ".join(part for part in (first, self.unit, place, self.postcode) if part)

    @property
    def search_text(self) -> str:
        """The words a search may match, folded (:func:`fold_words`) and joined by single spaces."""
        fields = (self.number, self.street, self.unit, self.city, self.district, self.postcode)
        return " ".join(fold_words(" ".join(fields)))


@dataclass(frozen=True, slots=True)
class BadRow:
    line: int
    reason: str


def fold_words(text: str) -> list[str]:
    """The words of ``text`` in lower case without accents ("Rue de l'Église" → rue, de, l, eglise): letters and
    digits only, so neither SQLite's tokenizer nor PostgreSQL's parser can split them differently, and nothing a
    query operator could mean survives."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    plain = "".join(char for char in decomposed if not unicodedata.combining(char))
    return _WORD.findall(plain)


def _header_map(header: list[str]) -> dict[str, int]:
    positions: dict[str, int] = {}
    for index, name in enumerate(header):
        key = name.strip().lstrip("\ufeff").strip().lower()
        if key and key not in positions:
            positions[key] = index
    missing = [name.upper() for name in REQUIRED if name not in positions]
    if missing:
        raise InvalidInput(f"the header has no {', '.join(missing)} column (it has: {', '.join(header)[:200]})")
    return positions


def _coordinate(value: str, name: str, bound: float) -> float | str:
    """The number, or the reason it is refused."""
    if not value:
        return f"{name} is empty"
    if len(value) > NUMBER_LIMIT:
        return f"{name} is not a number"
    try:
        number = float(value)
    except ValueError:
        return f"{name} is not a number: {value[:20]!r}"
    if not math.isfinite(number) or not -bound <= number <= bound:
        return f"{name} {value[:20]} is outside -{bound:g}..{bound:g}"
    return number


def _row(line: int, values: list[str], positions: dict[str, int]) -> AddressRow | BadRow:
    def field(name: str) -> str:
        index = positions.get(name)
        return values[index].strip() if index is not None and index < len(values) else ""

    for value in values:
        if any("\udc80" <= char <= "\udcff" for char in value):
            return BadRow(line, "the row is not UTF-8 text")
    texts = {name: field(name) for name in FIELD_LIMITS}
    for name, limit in FIELD_LIMITS.items():
        if len(texts[name]) > limit:
            return BadRow(line, f"{name.upper()} is longer than {limit} characters")
        if any(unicodedata.category(char) == "Cc" for char in texts[name]):
            return BadRow(line, f"{name.upper()} has a control character")
    lat = _coordinate(field("lat"), "LAT", 90)
    if isinstance(lat, str):
        return BadRow(line, lat)
    lon = _coordinate(field("lon"), "LON", 180)
    if isinstance(lon, str):
        return BadRow(line, lon)
    if not fold_words(texts["street"]):
        return BadRow(line, "STREET is empty")
    return AddressRow(
        line=line,
        lat=lat,
        lon=lon,
        number=texts["number"],
        street=texts["street"],
        unit=texts["unit"],
        city=texts["city"],
        district=texts["district"],
        region=texts["region"],
        postcode=texts["postcode"],
        source_id=texts["id"],
        source_hash=texts["hash"],
    )


def read_rows(stream: TextIO) -> Iterator[AddressRow | BadRow]:
    """Each data row of ``stream`` (opened with ``newline=""`` and ``errors="surrogateescape"``), good or bad, in
    file order. Raises :class:`~alertsvc.errors.InvalidInput` only for the header."""
    reader = csv.reader(stream)
    try:
        header = next(reader)
    except StopIteration:
        raise InvalidInput("the file is empty: it needs a header line (LON,LAT,NUMBER,STREET,...)") from None
    except csv.Error as exc:
        raise InvalidInput(f"the header line cannot be read: {exc}") from exc
    positions = _header_map(header)
    while True:
        try:
            values = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            yield BadRow(reader.line_num, f"unreadable CSV: {exc}")
            continue
        if not values or all(not value.strip() for value in values):
            continue
        yield _row(reader.line_num, values, positions)
