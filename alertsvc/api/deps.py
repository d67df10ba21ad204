"""The API's request dependencies as ``Annotated`` aliases: the caller's identity (an API key) and its scopes.

Each one that can refuse a request says which problems it answers (``@answers``), so that every operation using it
lists them in the OpenAPI document (``alertsvc.api.openapi``). The runtime and the settings, which the pages use
too, are :mod:`alertsvc.http.deps`'.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import Depends
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from alertsvc.api.problems import Problem
from alertsvc.http.answers import answers
from alertsvc.http.deps import RuntimeDep
from alertsvc.security.api_keys import authenticate_key
from alertsvc.security.principal import Principal
from alertsvc.security.scopes import Scope

_bearer = HTTPBearer(auto_error=False, description="An API key made with `alertsvc keys create`.")
_UNAUTHORIZED = {"WWW-Authenticate": "Bearer"}


@answers(401)
async def current_principal(
    runtime: RuntimeDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Principal:
    """The API key's principal; 401 when the key is missing, malformed, unknown or revoked."""
    if credentials is None or credentials.scheme.lower() != "bearer" or not credentials.credentials:
        raise Problem(401, "an API key is required: Authorization: Bearer <key>", headers=_UNAUTHORIZED)
    principal = await authenticate_key(runtime, credentials.credentials)
    if principal is None:
        raise Problem(401, "the API key is not valid", headers=_UNAUTHORIZED)
    return principal


def require(scope: Scope) -> Callable[..., Awaitable[Principal]]:
    """A dependency that admits only principals holding ``scope`` (403 otherwise)."""

    @answers(403)
    async def dependency(principal: Annotated[Principal, Depends(current_principal)]) -> Principal:
        if not principal.can(scope):
            raise Problem(403, f"this API key lacks the '{scope.value}' scope")
        return principal

    return dependency
