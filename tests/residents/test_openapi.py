"""The OpenAPI document describes the resident bodies, and the documented row matches the validated one."""

from __future__ import annotations

import httpx

from alertsvc.api.residents import ResidentRow
from alertsvc.residents.formats import MEDIA_TYPES
from alertsvc.residents.validation import FIELDS, ResidentInput


async def test_openapi_describes_json_ndjson_and_csv_bodies(client: httpx.AsyncClient) -> None:
    paths = (await client.get("/openapi.json")).json()["paths"]
    single = paths["/api/v1/residents"]["post"]["requestBody"]["content"]
    assert set(single["application/json"]["schema"]["properties"]) == set(FIELDS)
    bulk = paths["/api/v1/residents/import"]["post"]["requestBody"]["content"]
    assert set(bulk) == set(MEDIA_TYPES)
    assert all(body["schema"] == {"type": "string"} for body in bulk.values())
    assert "200" in paths["/api/v1/residents/import"]["post"]["responses"]


def test_documented_row_validated_row_and_columns_agree() -> None:
    """A meta-test: a column added to one list and not the others would be silently refused or dropped."""
    assert set(ResidentRow.model_fields) == set(FIELDS)
    assert set(FIELDS) <= set(ResidentInput.model_fields)
