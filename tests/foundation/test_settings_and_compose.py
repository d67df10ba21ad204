"""Settings rules and the production stack description (no Docker engine here: checked as data)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from pydantic import ValidationError

from alertsvc.settings import Settings

ROOT = Path(__file__).resolve().parents[2]


def test_development_makes_and_keeps_a_random_signing_key(tmp_path: Path) -> None:
    settings = Settings(_env_file=None, data_dir=tmp_path)  # type: ignore[call-arg]
    first = settings.signing_key()
    assert len(first) > 40 and first == Settings(_env_file=None, data_dir=tmp_path).signing_key()  # type: ignore[call-arg]


def test_production_needs_a_long_secret() -> None:
    with pytest.raises(ValidationError, match="ALERTSVC_SECRET_KEY"):
        Settings(_env_file=None, env="production")  # type: ignore[call-arg]
    with pytest.raises(ValidationError, match="32 characters"):
        Settings(_env_file=None, env="production", secret_key="short")  # type: ignore[call-arg]
    assert Settings(_env_file=None, env="production", secret_key="k" * 40).env == "production"  # type: ignore[call-arg]


def test_embedded_defaults() -> None:
    settings = Settings(_env_file=None, redis_url=None, database_url=None)  # type: ignore[call-arg]
    assert settings.embedded_redis and settings.worker_in_process
    assert settings.resolved_database_url.startswith("sqlite+aiosqlite:///")


def test_compose_describes_a_production_stack() -> None:
    compose = yaml.safe_load((ROOT / "compose.yaml").read_text())
    services = compose["services"]
    assert {"api", "worker", "redis", "postgres"} <= services.keys()
    assert "noeviction" in services["redis"]["command"]
    assert "--appendonly" in services["redis"]["command"]
    for name in ("api", "worker"):
        env = services[name]["environment"]
        assert env["ALERTSVC_ENV"] == "production"
        assert env["DATABASE_URL"].startswith("postgresql+asyncpg://")
        assert env["REDIS_URL"].startswith("redis://redis:")
        assert "ALERTSVC_SECRET_KEY" in env
    assert services["worker"]["command"] == ["alertsvc", "worker"]
    for name in ("api", "redis", "postgres"):
        assert "healthcheck" in services[name]
    assert (ROOT / "Dockerfile").is_file()


def test_the_image_copies_everything_the_wheel_is_built_from() -> None:
    """``pip install .`` in the Dockerfile fails when a package of the wheel was not copied into the image."""
    import tomllib

    wheel = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["hatch"]["build"]["targets"]["wheel"]
    needed = set(wheel["packages"]) | set(wheel.get("force-include", {}))
    copied = {
        line.split()[1].rstrip("/")
        for line in (ROOT / "Dockerfile").read_text().splitlines()
        if line.startswith("COPY ") and not line.startswith("COPY --from")
    }
    assert needed <= copied, f"the Dockerfile does not copy {sorted(needed - copied)}"
