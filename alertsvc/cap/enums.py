"""The closed value lists of CAP 1.2, as ``StrEnum`` so ``str(member)`` is the CAP spelling.

Members are named as CAP spells the value, so code reads like the standard (``Status.Actual``) and nothing maps
between two vocabularies.
"""

from __future__ import annotations

from enum import StrEnum


class Status(StrEnum):
    """``alert.status``: who the alert is for (DESIGN.md: only ``Actual`` reaches residents)."""

    Actual = "Actual"
    Exercise = "Exercise"
    System = "System"
    Test = "Test"
    Draft = "Draft"


class MsgType(StrEnum):
    """``alert.msgType``."""

    Alert = "Alert"
    Update = "Update"
    Cancel = "Cancel"
    Ack = "Ack"
    Error = "Error"


class Scope(StrEnum):
    """``alert.scope``."""

    Public = "Public"
    Restricted = "Restricted"
    Private = "Private"


class Category(StrEnum):
    """``info.category``."""

    Geo = "Geo"
    Met = "Met"
    Safety = "Safety"
    Security = "Security"
    Rescue = "Rescue"
    Fire = "Fire"
    Health = "Health"
    Env = "Env"
    Transport = "Transport"
    Infra = "Infra"
    CBRNE = "CBRNE"
    Other = "Other"


class ResponseType(StrEnum):
    """``info.responseType``."""

    Shelter = "Shelter"
    Evacuate = "Evacuate"
    Prepare = "Prepare"
    Execute = "Execute"
    Avoid = "Avoid"
    Monitor = "Monitor"
    Assess = "Assess"
    AllClear = "AllClear"
    None_ = "None"


class Urgency(StrEnum):
    """``info.urgency``."""

    Immediate = "Immediate"
    Expected = "Expected"
    Future = "Future"
    Past = "Past"
    Unknown = "Unknown"


class Severity(StrEnum):
    """``info.severity``."""

    Extreme = "Extreme"
    Severe = "Severe"
    Moderate = "Moderate"
    Minor = "Minor"
    Unknown = "Unknown"


class Certainty(StrEnum):
    """``info.certainty``. CAP 1.1's deprecated ``Very Likely`` is not a member: 1.2 removed it (a CAP 1.1
    document's ``Very Likely`` is read as ``Likely``, see :mod:`alertsvc.cap.cap11`)."""

    Observed = "Observed"
    Likely = "Likely"
    Possible = "Possible"
    Unlikely = "Unlikely"
    Unknown = "Unknown"


NEEDS_REFERENCES = frozenset({MsgType.Update, MsgType.Cancel, MsgType.Ack, MsgType.Error})
"""Message types that only make sense about earlier alerts, so CAP requires their ``references``."""
