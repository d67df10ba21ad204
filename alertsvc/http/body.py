"""Reading a request body with a route's own size limit, tighter than its path family's (413 past it).

Every body already has its family's limit, counted as it is read, by :mod:`alertsvc.http.body_limit` (the one
table of limits: an alert 1 MiB, other API bodies 1 MiB, forms 64 KiB ...). A route that reads its raw body itself
and accepts less (one resident: 64 KiB) says so here; the refusal is the same: 413, or 400 for a Content-Length
that is not a number, and the same sentence. It is Starlette's ``HTTPException``, which the API answers as a
problem document (:mod:`alertsvc.api.problems`) with the same status and detail.
"""

from __future__ import annotations

from fastapi import Request
from starlette.exceptions import HTTPException

__all__ = ["read_limited"]


async def read_limited(request: Request, limit: int) -> bytes:
    """The whole body, refusing it as soon as it passes ``limit`` bytes, whatever Content-Length claims."""
    declared = request.headers.get("content-length")
    if declared is not None:
        try:
            if int(declared) > limit:
                raise HTTPException(413, f"the body is larger than the {limit}-byte limit of this address")
        except ValueError:
            raise HTTPException(400, "Content-Length is not a number") from None
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise HTTPException(413, f"the body is larger than the {limit}-byte limit of this address")
        chunks.append(chunk)
    return b"".join(chunks)
