"""Request dependencies both the API and the pages use, as ``Annotated`` aliases: the runtime, the settings and
the client's address.

The runtime declares the 503 it can cause (:mod:`alertsvc.http.answers`): its database and Redis may stop
answering, and every operation that uses it lists that answer in the OpenAPI document.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from alertsvc.http.answers import answers
from alertsvc.runtime import Runtime
from alertsvc.settings import Settings

__all__ = ["RuntimeDep", "SettingsDep", "client_address", "get_runtime", "get_settings_dep"]


@answers(503)  # the runtime is the database and Redis: either may stop answering (alertsvc.api.problems)
def get_runtime(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]


def get_settings_dep(runtime: RuntimeDep) -> Settings:
    return runtime.settings


SettingsDep = Annotated[Settings, Depends(get_settings_dep)]


def client_address(request: Request) -> str:
    """The address the request came from, as uvicorn gives it (``X-Forwarded-For`` is believed only from
    ``ALERTSVC_TRUSTED_PROXIES``); ``unknown`` when the server gives none."""
    return request.client.host if request.client else "unknown"
