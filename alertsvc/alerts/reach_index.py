"""The reach index: one process's in-memory copy of who can be reached where, so a preview takes milliseconds.

Why: the compose page recomputes the reach as the dispatcher draws, and one database pass per preview (bounding
box read, exact test, grouped counts over the ids) took 0.8-2.2 s for a million residents. Here each process
keeps, per database, the residents sorted by latitude as numpy arrays (latitude, longitude, language code,
test-recipient flag, confirmed and not opted-out contacts per channel; ~30 bytes a resident). A preview is then
two binary searches and a longitude mask per prefilter box, the exact test (:meth:`TargetArea.contains`, the very
test fan-out applies) on those candidates, and a ``bincount`` per channel: tens of milliseconds, in a worker
thread.

Exact, or not used: an index is tagged with the ``reach_generation`` marker it was read at
(:mod:`alertsvc.store.resident_snapshot`, one read transaction), and the marker moves by trigger in the same
transaction as any change to residents or contacts that the reach reads (migration 0016). A preview first reads
the marker on its own session; only an index of that very generation answers. Otherwise the caller takes the
database path (exact, slower) and a rebuild starts in a thread of its own (one at a time per database, and not
sooner after the last than that one took, so a stream of changes costs at most half a core). Why a rebuild and not
an incremental refresh: a full read is 1-3 s at a million residents, and it needs no change log whose commit
order could let an update slip between two reads.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import numpy.typing as npt
from sqlalchemy.engine import make_url

from alertsvc.geo.targeting import BetweenParams, TargetArea
from alertsvc.i18n import primary_tag
from alertsvc.store.resident_snapshot import Generation, ResidentSnapshot, load_snapshot, supports_snapshots

log = logging.getLogger(__name__)

UNKNOWN_LANGUAGE = "und"
"""BCP 47's "undetermined", for a resident stored without a language (as the database path says it)."""
KEPT_DATABASES = 4
"""Indexes kept per process (one per database URL; a service has one, the test suite many)."""

IntArray = npt.NDArray[np.int64]


@dataclass(frozen=True, slots=True)
class Counts:
    """Residents per language and contacts per channel and language, of one group of residents."""

    residents: int
    languages: dict[str, int]
    contacts_by_language: dict[str, dict[str, int]]


@dataclass(frozen=True, slots=True)
class ReachArrays:
    """The index proper: residents sorted by latitude, as parallel arrays."""

    generation: Generation
    lats: npt.NDArray[np.float64]
    lons: npt.NDArray[np.float64]
    languages: npt.NDArray[np.int16]
    """Index into ``language_names`` (primary subtags: ``fr-CA`` counts as ``fr``)."""
    language_names: tuple[str, ...]
    tests: npt.NDArray[np.bool_]
    contacts: tuple[npt.NDArray[np.uint16], ...]
    """Per channel of ``channel_names``: each resident's confirmed, not opted-out contacts on it."""
    channel_names: tuple[str, ...]
    build_seconds: float = 0.0

    @property
    def nbytes(self) -> int:
        arrays: tuple[npt.NDArray[Any], ...] = (self.lats, self.lons, self.languages, self.tests, *self.contacts)
        return sum(array.nbytes for array in arrays)

    def __len__(self) -> int:
        return int(self.lats.size)

    def in_box(self, lat_low: float, lat_high: float, lon_low: float, lon_high: float) -> IntArray:
        """Positions of the residents with ``lat_low <= lat <= lat_high`` and ``lon_low <= lon <= lon_high``
        (the SQL prefilter's ``BETWEEN``, both ends included)."""
        start = int(np.searchsorted(self.lats, lat_low, side="left"))
        end = int(np.searchsorted(self.lats, lat_high, side="right"))
        lons = self.lons[start:end]
        return np.flatnonzero((lons >= lon_low) & (lons <= lon_high)) + start

    def inside(self, target: TargetArea, boxes: Sequence[BetweenParams]) -> IntArray:
        """Positions of the residents inside ``target``: its prefilter boxes, then its exact test."""
        parts = [self.in_box(b.lat_low, b.lat_high, b.lon_low, b.lon_high) for b in boxes]
        if not parts:
            return np.zeros(0, dtype=np.int64)
        candidates = parts[0] if len(parts) == 1 else np.unique(np.concatenate(parts))
        if not candidates.size:
            return candidates
        return candidates[target.contains(lats=self.lats[candidates], lons=self.lons[candidates])]

    def counts(self, positions: IntArray) -> Counts:
        """Residents per language and contacts per channel and language among ``positions``."""
        languages = self.languages[positions]
        size = len(self.language_names)
        per_language = np.bincount(languages, minlength=size)
        by_language: dict[str, dict[str, int]] = {}
        for channel, contacts in zip(self.channel_names, self.contacts, strict=True):
            per = np.bincount(languages, weights=contacts[positions], minlength=size)
            found = {self.language_names[i]: round(float(per[i])) for i in np.flatnonzero(per)}
            if found:
                by_language[channel] = found
        return Counts(
            residents=int(positions.size),
            languages={self.language_names[i]: int(per_language[i]) for i in np.flatnonzero(per_language)},
            contacts_by_language=by_language,
        )

    def reach_counts(self, target: TargetArea, boxes: Sequence[BetweenParams]) -> tuple[Counts, Counts]:
        """Everyone inside, and the test recipients among them."""
        inside = self.inside(target, boxes)
        return self.counts(inside), self.counts(inside[self.tests[inside]])


def arrays_of(snapshot: ResidentSnapshot, build_seconds: float = 0.0) -> ReachArrays:
    """Sort a database snapshot by latitude and fold its contacts into per-resident counts per channel."""
    by_id = np.argsort(snapshot.ids, kind="stable")
    ids = snapshot.ids[by_id]
    names = sorted({primary_tag(tag) or UNKNOWN_LANGUAGE for tag in snapshot.languages})
    to_name = np.array([names.index(primary_tag(tag) or UNKNOWN_LANGUAGE) for tag in snapshot.languages] or [0])
    owner = np.searchsorted(ids, snapshot.contact_resident_ids)
    known = owner < ids.size
    known[known] = ids[owner[known]] == snapshot.contact_resident_ids[known]
    contacts = []
    for code in range(len(snapshot.channels)):
        mine = owner[known & (snapshot.contact_channel_codes == code)]
        contacts.append(np.bincount(mine, minlength=ids.size).astype(np.uint16))
    order = np.argsort(snapshot.lats[by_id], kind="stable")
    return ReachArrays(
        generation=snapshot.generation,
        lats=np.ascontiguousarray(snapshot.lats[by_id][order]),
        lons=np.ascontiguousarray(snapshot.lons[by_id][order]),
        languages=to_name[snapshot.language_codes[by_id][order]].astype(np.int16),
        language_names=tuple(names),
        tests=np.ascontiguousarray(snapshot.test_recipients[by_id][order]),
        contacts=tuple(np.ascontiguousarray(counts[order]) for counts in contacts),
        channel_names=snapshot.channels,
        build_seconds=build_seconds,
    )


@dataclass
class ReachIndex:
    """One database's index in this process: the arrays last built, and at most one build under way."""

    url: str
    _arrays: ReachArrays | None = None
    _building: threading.Thread | None = None
    _next_build_at: float = 0.0
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def latest(self) -> ReachArrays | None:
        """The last arrays built, current or not (the density map may show them; the reach may not)."""
        return self._arrays

    def current(self, generation: Generation | None) -> ReachArrays | None:
        """The arrays if they are of ``generation``; else None, and a rebuild is started unless one is running."""
        arrays = self._arrays
        if arrays is not None and generation is not None and arrays.generation == generation:
            return arrays
        if generation is not None:
            self.rebuild()
        return None

    def rebuild(self) -> None:
        """Start reading the database again in a thread of its own (unless a read is under way or due later)."""
        with self._lock:
            if self._building is not None or time.monotonic() < self._next_build_at:
                return
            self._building = threading.Thread(target=self._build, name="reach-index", daemon=True)
            self._building.start()

    def _build(self) -> None:
        started = time.monotonic()
        try:
            arrays = arrays_of(load_snapshot(self.url))
            took = time.monotonic() - started
            arrays = replace(arrays, build_seconds=took)
            previous = self._arrays
            if (
                previous is None
                or previous.generation[0] != arrays.generation[0]
                or (previous.generation[1] <= arrays.generation[1])
            ):  # never replace arrays by older ones (two builds do not overlap, but be plain about it)
                self._arrays = arrays
            log.info("reach index: %d residents at generation %s in %.2f s", len(arrays), arrays.generation[1], took)
        except Exception as exc:  # the database path answers meanwhile; the next preview tries again
            log.warning("reach index: build failed (%s: %s)", type(exc).__name__, exc)
        finally:
            _give_back_freed_memory()
            with self._lock:
                self._next_build_at = time.monotonic() + (time.monotonic() - started)
                self._building = None


def _give_back_freed_memory() -> None:
    """Return the build's freed temporaries to the system (glibc's ``malloc_trim``; elsewhere nothing).

    The build's copies (the read columns, their sorting) take ~120 MiB at a million residents and are freed at
    once, but glibc keeps what a worker thread freed in that thread's arena: without the trim a service process
    stayed 120 MiB larger than its 24 MiB index for good (measured with ``bench/reach.py``)."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6").malloc_trim(0)


_indexes: OrderedDict[str, ReachIndex] = OrderedDict()
_indexes_lock = threading.Lock()


def index_for(url: str) -> ReachIndex | None:
    """This process's index of the database at ``url``; None where it cannot be built (in-memory SQLite)."""
    if not supports_snapshots(url):
        return None
    url = make_url(url).render_as_string(hide_password=False)  # one key however the URL was spelt
    with _indexes_lock:
        index = _indexes.get(url)
        if index is None:
            index = _indexes[url] = ReachIndex(url)
            while len(_indexes) > KEPT_DATABASES:
                _indexes.popitem(last=False)
        _indexes.move_to_end(url)
        return index
