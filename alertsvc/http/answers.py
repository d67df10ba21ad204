"""Which problems a request dependency can answer, declared beside it, for the OpenAPI document to list.

A dependency that can refuse a request (the runtime: 503; the API key: 401; a rate limit: 429 ...) says so with
:func:`answers` (or :func:`register`, for one defined elsewhere); :mod:`alertsvc.api.openapi` reads the record
(:func:`declared_by`) and adds those answers to every operation that depends on it, so the document cannot drift
from the code. The record lives here, below both ``api/`` and ``web/``, because the dependencies that declare
answers (:mod:`alertsvc.http.deps`, :mod:`alertsvc.http.ratelimit`) are shared by both.
"""

from __future__ import annotations

from collections.abc import Callable
from types import CodeType
from typing import Any, TypeVar

__all__ = ["Declared", "answers", "declared_by", "register"]

F = TypeVar("F", bound=Callable[..., Any])
Declared = int | tuple[int, str]
"""A status, or a status with what it means for this operation."""

_REGISTRY: dict[CodeType, tuple[Declared, ...]] = {}


def _code(call: Any) -> CodeType | None:
    code = getattr(call, "__code__", None)
    return code if isinstance(code, CodeType) else None


def register(dependency: Callable[..., Any], *statuses: Declared) -> None:
    """Record that ``dependency`` can answer ``statuses``.

    Keyed by the function's code, not the function: every closure a factory makes (``require(scope)``,
    ``rate_limit(...)``) shares its code, so registering one registers them all.
    """
    code = _code(dependency)
    if code is None:
        raise TypeError(f"{dependency!r} is not a plain function")
    _REGISTRY[code] = statuses


def answers(*statuses: Declared) -> Callable[[F], F]:
    """Decorator form of :func:`register`."""

    def decorate(dependency: F) -> F:
        register(dependency, *statuses)
        return dependency

    return decorate


def declared_by(call: Any) -> tuple[Declared, ...]:
    """What ``call`` (a dependency, or any callable) was registered as answering; nothing when it was not."""
    code = _code(call)
    return _REGISTRY.get(code, ()) if code is not None else ()
