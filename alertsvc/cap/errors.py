"""The one error type of the CAP layer, and the translation of pydantic's errors into it.

Every way a document can be wrong (bytes that are not XML, a forbidden DTD, a missing element, a polygon that
crosses itself, an Update without ``references``) ends as one :class:`CapError` listing *every* problem found,
each with the path of the CAP element at fault. Callers (the API answers 422 problem documents) then never need
to know which layer found what, and a sender fixes all problems in one round trip instead of one per attempt.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from pydantic import ValidationError
from pydantic_core import ErrorDetails

from alertsvc.errors import FieldError, InvalidInput, Loc

__all__ = ["BODY", "CapError", "FieldError", "Loc", "deduplicated", "from_validation_error"]

BODY: Loc = ["body"]
"""Where problems of the document as a whole (not XML, not JSON, unsupported version) are reported."""


class CapError(InvalidInput):
    """A CAP document that cannot be accepted. ``errors`` lists every problem, never fewer than one, each at the
    path of its CAP element (``loc``: element names as CAP spells them, and list indices, e.g.
    ``["info", 0, "area"]``); ``message`` counts them."""

    def __init__(self, errors: Iterable[FieldError]) -> None:
        found = list(errors) or [FieldError(list(BODY), "the document is not a valid CAP alert")]
        count = len(found)
        super().__init__(
            _summary(found), message=f"{count} problem{'s' if count != 1 else ''} in the alert", errors=found
        )

    def summary(self) -> str:
        """All problems on one line each, prefixed by their path."""
        return _summary(self.errors)

    def __str__(self) -> str:
        return self.summary()

    @classmethod
    def at(cls, loc: Sequence[str | int], msg: str) -> CapError:
        """A single problem at ``loc``."""
        return cls([FieldError(list(loc), msg)])


def _summary(errors: Sequence[FieldError]) -> str:
    count = len(errors)
    lines = [f"{count} problem{'s' if count != 1 else ''} in the CAP document:"]
    lines += [f"  {error.path or '(document)'}: {error.msg}" for error in errors]
    return "\n".join(lines)


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
