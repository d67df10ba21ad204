"""Reading request bodies with a size limit enforced before parsing (413 past it).

A refusal is Starlette's ``HTTPException``, the status and a sentence: the API answers it as a problem document
(:mod:`alertsvc.api.problems`), with the same status and detail.
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
                raise HTTPException(413, f"the body is larger than the {limit}-byte limit")
        except ValueError:
            raise HTTPException(400, "Content-Length is not a number") from None
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise HTTPException(413, f"the body is larger than the {limit}-byte limit")
        chunks.append(chunk)
    return b"".join(chunks)
