"""Small valid CAP documents in JSON form, to be broken one element at a time by the tests."""

from __future__ import annotations

from typing import Any

SQUARE = "45.5,-73.6 45.5,-73.5 45.6,-73.5 45.6,-73.6 45.5,-73.6"
BOWTIE = "45.5,-73.6 45.6,-73.5 45.5,-73.5 45.6,-73.6 45.5,-73.6"


def area(**overrides: Any) -> dict[str, Any]:
    document: dict[str, Any] = {"areaDesc": "Downtown", "polygon": [SQUARE]}
    document.update(overrides)
    return document


def info(**overrides: Any) -> dict[str, Any]:
    document: dict[str, Any] = {
        "language": "en-US",
        "category": ["Met"],
        "event": "Flood",
        "urgency": "Immediate",
        "severity": "Severe",
        "certainty": "Observed",
        "expires": "2024-05-01T20:00:00-05:00",
        "headline": "Flood warning",
        "area": [area()],
    }
    document.update(overrides)
    return document


def alert(**overrides: Any) -> dict[str, Any]:
    document: dict[str, Any] = {
        "identifier": "CITY-2024-001",
        "sender": "alerts@city.example",
        "sent": "2024-05-01T14:00:00-05:00",
        "status": "Actual",
        "msgType": "Alert",
        "scope": "Public",
        "info": [info()],
    }
    document.update(overrides)
    return document
