"""The one error type of the CAP layer, and the translation of pydantic's errors into it.

Every way a document can be wrong (bytes that are not XML, a forbidden DTD, a missing element, a polygon that
crosses itself, an Update without ``references``) ends as one :class:`CapError` listing *every* problem found,
each with the path of the CAP element at fault. Callers (the API answers 422 problem documents) then never need
to know which layer found what, and a sender fixes all problems in one round trip instead of one per attempt.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError
from pydantic_core import ErrorDetails

Loc = list[str | int]
"""A path to a CAP element: element names (as CAP spells them) and list indices, e.g. ``["info", 0, "area"]``."""

BODY: Loc = ["body"]
"""Where problems of the document as a whole (not XML, not JSON, unsupported version) are reported."""


@dataclass(slots=True)
class FieldError:
    """One problem: where (``loc``) and why (``msg``, meant for the person who wrote the alert)."""

    loc: Loc
    msg: str

    @property
    def path(self) -> str:
        """``loc`` as one readable string: ``info[0].area[1].polygon[0]``."""
        text = ""
        for part in self.loc:
            if isinstance(part, int):
                text += f"[{part}]"
            else:
                text += f".{part}" if text else part
        return text

    def as_dict(self) -> dict[str, Any]:
        """The form the HTTP API puts in its problem documents."""
        return {"loc": list(self.loc), "msg": self.msg}


class CapError(ValueError):
    """A CAP document that cannot be accepted. ``errors`` lists every problem, never fewer than one."""

    def __init__(self, errors: Iterable[FieldError]) -> None:
        self.errors: list[FieldError] = list(errors) or [
            FieldError(list(BODY), "the document is not a valid CAP alert")
        ]
        super().__init__(self.summary())

    def summary(self) -> str:
        """All problems on one line each, prefixed by their path."""
        count = len(self.errors)
        lines = [f"{count} problem{'s' if count != 1 else ''} in the CAP document:"]
        lines += [f"  {error.path or '(document)'}: {error.msg}" for error in self.errors]
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.summary()

    @classmethod
    def at(cls, loc: Sequence[str | int], msg: str) -> CapError:
        """A single problem at ``loc``."""
        return cls([FieldError(list(loc), msg)])


def _shorten(value: Any, limit: int = 60) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _message(error: ErrorDetails) -> str:
    """pydantic's wording rephrased in CAP terms where the default would confuse a sender."""
    kind = error["type"]
    ctx = error.get("ctx") or {}
    loc = error["loc"]
    name = next((part for part in reversed(loc) if isinstance(part, str)), "element")
    if kind == "missing":
        return f"required element '{name}' is missing"
    if kind == "extra_forbidden":
        return f"'{name}' is not a CAP element here"
    if kind == "enum":
        return f"{_shorten(error['input'])} is not allowed: must be {ctx.get('expected', 'one of the CAP values')}"
    if kind == "too_short" and ctx.get("min_length") == 1:
        return f"at least one '{name}' is required"
    if kind in {"model_type", "model_attributes_type", "dict_type"}:
        return "must be an object of CAP elements"
    if kind == "list_type":
        return f"'{name}' must be a list (it may repeat)"
    if kind == "string_type":
        return "must be text"
    msg = error["msg"]
    for prefix in ("Value error, ", "Assertion failed, "):
        if msg.startswith(prefix):
            msg = msg[len(prefix) :]
    return msg


def from_validation_error(exc: ValidationError, prefix: Sequence[str | int] = ()) -> list[FieldError]:
    """Translate pydantic's errors. Their ``loc`` already uses the CAP names, because every field has its CAP
    element name as alias and ``loc_by_alias`` is on; an empty ``loc`` (the whole input) becomes ``["body"]``."""
    errors: list[FieldError] = []
    for error in exc.errors(include_url=False):
        loc: Loc = [*prefix, *(part for part in error["loc"] if isinstance(part, str | int))]
        errors.append(FieldError(loc or list(BODY), _message(error)))
    return errors


def deduplicated(errors: Iterable[FieldError]) -> list[FieldError]:
    """Keep the first of identical problems (two checks may notice the same thing), order unchanged."""
    seen: set[tuple[tuple[str | int, ...], str]] = set()
    unique: list[FieldError] = []
    for error in errors:
        key = (tuple(error.loc), error.msg)
        if key not in seen:
            seen.add(key)
            unique.append(error)
    return unique
