"""The multipart upload steps as a client performs them over HTTP (shared by the integration tiers)."""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Iterable
from typing import Any

import requests

from tests.http_api import Api


def sha256_b64(data: bytes) -> str:
    return base64.b64encode(hashlib.sha256(data).digest()).decode()


def credentials(ticket: dict[str, Any], bearer: dict[str, str] | None = None) -> dict[str, str]:
    return bearer or ({"X-Delete-Token": ticket["delete_token"]} if ticket.get("delete_token") else {})


def create(api: Api, data: bytes, headers: dict[str, str] | None = None, **extra: Any) -> dict[str, Any]:
    payload = {"filename": "large.jpg", "content_type": "image/jpeg", "size": len(data), **extra}
    response = api.post("/api/v1/images/multipart", json=payload, headers=headers or {})
    assert response.status_code == 201, response.text
    return dict(response.json())


def part_bytes(data: bytes, ticket: dict[str, Any], number: int) -> bytes:
    size = ticket["part_size"]
    return data[(number - 1) * size : number * size]


def sign(api: Api, ticket: dict[str, Any], parts: dict[int, bytes], headers: dict[str, str]) -> list[dict[str, Any]]:
    body = {"parts": [{"part_number": n, "sha256_b64": sha256_b64(chunk)} for n, chunk in sorted(parts.items())]}
    response = api.post(f"/api/v1/images/{ticket['id']}/multipart/parts", json=body, headers=headers)
    assert response.status_code == 200, response.text
    return list(response.json()["parts"])


def put_part(signed: dict[str, Any], chunk: bytes) -> requests.Response:
    return requests.put(signed["url"], data=chunk, headers=signed["headers"], timeout=120)


def upload_parts(
    api: Api, ticket: dict[str, Any], data: bytes, numbers: Iterable[int], headers: dict[str, str]
) -> None:
    chunks = {n: part_bytes(data, ticket, n) for n in numbers}
    for signed in sign(api, ticket, chunks, headers):
        response = put_part(signed, chunks[signed["part_number"]])
        assert response.status_code == 200, response.text


def listed(api: Api, ticket: dict[str, Any], headers: dict[str, str]) -> dict[str, Any]:
    response = api.get(f"/api/v1/images/{ticket['id']}/multipart/parts", headers=headers)
    assert response.status_code == 200, response.text
    return dict(response.json())


def complete(api: Api, ticket: dict[str, Any], headers: dict[str, str]) -> requests.Response:
    return api.post(f"/api/v1/images/{ticket['id']}/multipart/complete", json={}, headers=headers)
