"""The benchmark's residents and their contacts, generated in memory as columns ready for bulk loading, and the
two areas its alerts target (the star polygon, the far-away warm-up box).

The residents are ``bench/targeting.py``'s (10 % inside a concave 200-vertex polygon, the rest in a city 2.5
times its size), so the targeting figures of both benchmarks speak of the same population. Which contacts fall
inside is decided here with ``TargetArea.contains``, the pipeline's own exact test, so the benchmark knows how
many messages each alert must deliver. A few hundred warm-up residents far from the city let a first alert open
the workers' connections without touching the measured ones.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from bench._fanout.config import CHANNELS
from bench.targeting import residents as generate_residents
from bench.targeting import star_polygon

if TYPE_CHECKING:
    from collections.abc import Sequence

    from alertsvc.geo.areas import LatLon, PolygonArea

WARMUP_RESIDENTS = 600
WARMUP_BOX = (10.0, 10.0, 10.01, 10.01)  # far from the city: a warm-up alert reaches only these


@dataclass
class Population:
    """Residents (ids 1..n, then the warm-up ones) and their contacts, as columns ready for bulk loading."""

    size: int
    polygon_cap: str
    residents: list[tuple[Any, ...]]
    """``(id, ref, lat, lon)`` a resident."""
    contacts: list[tuple[Any, ...]]
    """``(id, resident_id, channel, address)`` a contact."""
    inside_contacts: dict[str, list[int]]
    """Contact ids, per channel, of the residents inside the polygon: the ones each channel's alert reaches."""
    first_warmup_contact: int
    """The warm-up residents' contacts have this id and the ones after it."""

    def confirmed_at_load(self, contact: tuple[Any, ...]) -> bool:
        """SMS contacts and the warm-up residents' contacts start confirmed; e-mail and push wait for their turn."""
        return bool(contact[2] == "sms" or contact[0] >= self.first_warmup_contact)


def rounded_polygon() -> PolygonArea:
    """The star polygon of ``bench/targeting.py`` with 6-decimal vertices, so CAP text and truth agree exactly."""
    from alertsvc.geo.areas import LatLon, PolygonArea

    star = star_polygon()
    points = [LatLon(lat=round(p.lat, 6), lon=round(p.lon, 6)) for p in star.points[:-1]]
    return PolygonArea(points=(*points, points[0]))


def cap_polygon(points: Sequence[LatLon]) -> str:
    """A CAP ``<polygon>``: ``lat,lon`` pairs separated by spaces."""
    return " ".join(f"{p.lat:.6f},{p.lon:.6f}" for p in points)


def warmup_polygon() -> str:
    """A CAP polygon around the warm-up box (a little wider, so no warm-up resident sits on its edge)."""
    min_lat, min_lon, max_lat, max_lon = WARMUP_BOX
    pad = 0.001
    corners = [
        (min_lat - pad, min_lon - pad), (min_lat - pad, max_lon + pad), (max_lat + pad, max_lon + pad),
        (max_lat + pad, min_lon - pad), (min_lat - pad, min_lon - pad),
    ]  # fmt: skip
    return " ".join(f"{lat:.6f},{lon:.6f}" for lat, lon in corners)


def build_population(size: int, push_port: int, email_every: int, push_every: int) -> Population:
    """``size`` residents, each with an SMS contact, every ``email_every``-th with an e-mail address and every
    ``push_every``-th with a push URL at the push stand-in on ``push_port``; then the warm-up residents, each
    with all three."""
    from alertsvc.geo.targeting import TargetArea

    polygon = rounded_polygon()
    lats, lons = generate_residents(size, polygon)
    inside = TargetArea([polygon]).contains(lats, lons)
    residents: list[tuple[Any, ...]] = []
    contacts: list[tuple[Any, ...]] = []
    inside_contacts: dict[str, list[int]] = {channel: [] for channel in CHANNELS}
    contact_id = 0

    def add(resident_id: int, channel: str, address: str, is_inside: bool) -> None:
        nonlocal contact_id
        contact_id += 1
        contacts.append((contact_id, resident_id, channel, address))
        if is_inside:
            inside_contacts[channel].append(contact_id)

    for i in range(size):
        residents.append((i + 1, f"r{i}", float(lats[i]), float(lons[i])))
        flag = bool(inside[i])
        add(i + 1, "sms", f"+1555{i:07d}", flag)
        if i % email_every == 0:
            add(i + 1, "email", f"r{i}@example.net", flag)
        if i % push_every == 1:
            add(i + 1, "push", f"ntfy://127.0.0.1:{push_port}/t{i}", flag)
    rng = np.random.default_rng(3)
    min_lat, min_lon, max_lat, max_lon = WARMUP_BOX
    first_warmup_contact = contact_id + 1
    for j in range(WARMUP_RESIDENTS):
        rid = size + j + 1
        residents.append((rid, f"w{j}", float(rng.uniform(min_lat, max_lat)), float(rng.uniform(min_lon, max_lon))))
        add(rid, "sms", f"+1666{j:07d}", False)
        add(rid, "email", f"w{j}@example.net", False)
        add(rid, "push", f"ntfy://127.0.0.1:{push_port}/w{j}", False)
    return Population(
        size, cap_polygon(polygon.points), residents, contacts, inside_contacts, first_warmup_contact
    )
