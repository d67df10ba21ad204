"""Where the project's non-code files live: ``templates/`` and ``config/`` beside the package in a checkout
(``pip install -e .``), or packaged inside it as ``_templates``/``_config`` in a wheel."""

from __future__ import annotations

from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent


def _first_existing(*candidates: Path) -> Path:
    for candidate in candidates:
        if candidate.is_dir():
            return candidate
    return candidates[0]


def templates_dir() -> Path:
    return _first_existing(_PACKAGE.parent / "templates", _PACKAGE / "_templates")


def config_dir() -> Path:
    return _first_existing(_PACKAGE.parent / "config", _PACKAGE / "_config")
