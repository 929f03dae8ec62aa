"""A small HTTP client for the running stack's API, with the lifecycle steps tests repeat."""

from __future__ import annotations

import time
from typing import Any

import requests

READY_TIMEOUT_SECONDS = 30.0


class Api:
    """A small HTTP client bound to the stack's API base URL."""

    def __init__(self, base_url: str, operator_token: str | None = None) -> None:
        self.base_url = base_url
        self.operator_token = operator_token
        self.session = requests.Session()

    def request(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        kwargs.setdefault("timeout", 30)
        kwargs.setdefault("allow_redirects", False)
        return self.session.request(method, self.base_url + path, **kwargs)

    def get(self, path: str, **kwargs: Any) -> requests.Response:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, **kwargs: Any) -> requests.Response:
        return self.request("POST", path, **kwargs)

    def patch(self, path: str, **kwargs: Any) -> requests.Response:
        return self.request("PATCH", path, **kwargs)

    def delete(self, path: str, **kwargs: Any) -> requests.Response:
        return self.request("DELETE", path, **kwargs)

    def health_details(self) -> requests.Response:
        """The operator's view of every dependency (``GET /health/details`` with the stack's operator token)."""
        return self.get("/health/details", headers={"X-Operator-Token": self.operator_token or ""})

    # --- lifecycle helpers ---------------------------------------------------------------------------

    def request_upload(self, filename: str, content_type: str, size: int, **extra: Any) -> dict[str, Any]:
        response = self.post(
            "/api/v1/images/upload-url",
            json={"filename": filename, "content_type": content_type, "size": size, **extra},
        )
        assert response.status_code == 201, response.text
        return dict(response.json())

    def direct_upload(
        self, data: bytes, filename: str = "photo.jpg", content_type: str = "image/jpeg", **extra: Any
    ) -> dict[str, Any]:
        """upload-url, then the browser's POST straight to the bucket; returns the ticket."""
        ticket = self.request_upload(filename, content_type, len(data), **extra)
        form = ticket["upload"]
        response = requests.post(
            form["url"], data=form["fields"], files={"file": (filename, data, content_type)}, timeout=30
        )
        assert response.status_code in (200, 201, 204), response.text
        return ticket

    def wait_until_processed(self, image_id: str, timeout: float = READY_TIMEOUT_SECONDS) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while True:
            response = self.get(f"/api/v1/images/{image_id}")
            body = response.json()
            if response.status_code != 200 or body.get("status") != "pending":
                return dict(body)
            if time.monotonic() > deadline:
                raise AssertionError(f"image {image_id} still pending after {timeout}s")
            time.sleep(0.2)


def image_objects(aws_clients: dict[str, Any], image_id: str, bucket: str = "chitram-images") -> list[str]:
    """Every object of one image: its original (``originals/{id}``), the renditions its record names (shared
    ``content/{cref}/...``, or older layouts by id or short id), and every ``content/`` generation that no record
    and no content item claims (what a failed or lost upload would leave behind)."""
    return sorted(set(_record_objects(aws_clients, image_id, bucket)) | set(unclaimed_generations(aws_clients, bucket)))


def _record_objects(aws_clients: dict[str, Any], image_id: str, bucket: str) -> list[str]:
    """The image's original and the renditions its record names (``image_objects`` without the unclaimed)."""
    s3 = aws_clients["s3"]
    item = aws_clients["dynamodb"].get_item(TableName="chitram-images", Key={"id": {"S": image_id}}).get("Item", {})
    ref = item.get("short_id", {}).get("S", image_id)
    prefixes = [f"originals/{image_id}", f"public/i/{ref}", f"private/i/{ref}"]
    prefixes += [f"files/{image_id}", f"thumbs/{image_id}"]  # images stored before short ids
    if (key := item.get("file_key", {}).get("S", "")).startswith("content/"):
        prefixes.append(key.rsplit("/", 1)[0] + "/")
    keys: list[str] = []
    for prefix in prefixes:
        keys += [o["Key"] for o in s3.list_objects_v2(Bucket=bucket, Prefix=prefix).get("Contents", [])]
    return keys


def settled_image_objects(
    aws_clients: dict[str, Any], image_id: str, timeout: float = 10, bucket: str = "chitram-images"
) -> list[str]:
    """``image_objects`` once the processor's cleanup has run: it commits the record first and removes the original
    (and a duplicate's own generation) right after, so ``ready`` or ``rejected`` is visible for a moment while they
    are still there. Waits up to ``timeout`` for them to go, then answers what is stored, whatever it is."""
    deadline = time.monotonic() + timeout
    while True:
        own = _record_objects(aws_clients, image_id, bucket)
        leftover = unclaimed_generations(aws_clients, bucket)
        if time.monotonic() > deadline or not (leftover or any(k.startswith("originals/") for k in own)):
            return sorted(set(own) | set(leftover))
        time.sleep(0.2)


def unclaimed_generations(aws_clients: dict[str, Any], bucket: str = "chitram-images") -> list[str]:
    """Objects under ``content/`` whose generation no record (ready, or pending: processing may be writing it)
    and no content item names: left behind."""
    claimed = set()
    for page in aws_clients["dynamodb"].get_paginator("scan").paginate(TableName="chitram-images"):
        for row in page["Items"]:
            for name in ("file_key", "cref", "generation"):
                value = row.get(name, {}).get("S", "")
                claimed.add(value.split("/")[1] if value.startswith("content/") else value)
    keys: list[str] = []
    for page in aws_clients["s3"].get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix="content/"):
        keys += [o["Key"] for o in page.get("Contents", []) if o["Key"].split("/")[1] not in claimed]
    return sorted(keys)
