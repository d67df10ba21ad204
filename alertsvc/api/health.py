"""Liveness and readiness probes for orchestrators and load balancers."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from alertsvc.api.routing import ApiRoute
from alertsvc.http.deps import RuntimeDep

router = APIRouter(tags=["health"], route_class=ApiRoute)
PROBE_TIMEOUT = 2.0


class Alive(BaseModel):
    status: Literal["ok"]


class Readiness(BaseModel):
    status: Literal["ok", "unavailable"]
    checks: dict[str, str] = Field(
        description="`database` and `redis`: `ok`, or `unavailable: <error class>`.", examples=[{"database": "ok"}]
    )


@router.get("/healthz", summary="Alive: the process answers")
async def healthz() -> Alive:
    return Alive(status="ok")


@router.get(
    "/readyz",
    summary="Ready: the database and Redis are reachable",
    responses={
        200: {"model": Readiness, "description": "Both answer."},
        503: {"model": Readiness, "description": "One of them does not answer (within 2 seconds)."},
    },
)
async def readyz(runtime: RuntimeDep) -> JSONResponse:
    checks = await runtime.ping(PROBE_TIMEOUT)
    ready = all(value == "ok" for value in checks.values())
    return JSONResponse(
        {"status": "ok" if ready else "unavailable", "checks": checks}, status_code=200 if ready else 503
    )
