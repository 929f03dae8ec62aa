"""Integrity checks: does the store still hold the bytes the processor wrote?

The processor records a SHA-256 per stored object (the served copy and each thumbnail) when it makes them.
``verify`` re-reads each object (streamed, never whole into memory) and compares. Only the owner may ask (or,
for an anonymous image, the holder of its delete token): a check costs a full read of every object.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from chalicelib.errors import ImageNotFound, ImageNotPending
from chalicelib.records import READY, ImageRecords
from chalicelib.services.images import ImageService, Viewer
from chalicelib.storage import Storage


@dataclass(frozen=True)
class ObjectCheck:
    role: str  # "file" or a thumbnail size
    expected: str | None
    actual: str | None  # None: the object is missing

    @property
    def result(self) -> str:
        if self.actual is None:
            return "missing"
        if self.expected is None:
            return "unknown"
        return "match" if self.actual == self.expected else "mismatch"


@dataclass(frozen=True)
class VerifyReport:
    image_id: str
    sha256: str | None
    checks: list[ObjectCheck]

    @property
    def result(self) -> str:
        results = {check.result for check in self.checks}
        for worst in ("missing", "mismatch", "unknown"):
            if worst in results:
                return worst
        return "match"

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.image_id,
            "result": self.result,
            "ok": self.result == "match",
            "sha256": self.sha256,
            "objects": [
                {"role": c.role, "expected_sha256": c.expected, "actual_sha256": c.actual, "result": c.result}
                for c in self.checks
            ],
        }


class IntegrityService:
    def __init__(self, records: ImageRecords, storage: Storage) -> None:
        self.records = records
        self.storage = storage

    def verify(self, image_id: str, *, viewer: Viewer, delete_token: str | None) -> VerifyReport:
        image = self.records.get(image_id)
        if image.visibility == "private" and viewer.user_id != image.owner:
            raise ImageNotFound(id=image_id)
        ImageService._check_can_delete(image, viewer, delete_token)
        if image.status != READY or not image.file_key:
            raise ImageNotPending(id=image_id, status=image.status, reason="only ready images can be verified")
        objects = {"file": image.file_key, **image.thumbnails}
        if image.display_key:
            objects["display"] = image.display_key
        for size, by_format in image.thumbnail_variants.items():
            objects.update({f"{size}.{extension}": key for extension, key in by_format.items()})
        checks = [
            ObjectCheck(role=role, expected=image.digests.get(role), actual=self._digest(key))
            for role, key in sorted(objects.items())
        ]
        return VerifyReport(image_id=image.id, sha256=image.sha256, checks=checks)

    def _digest(self, key: str) -> str | None:
        try:
            return self.storage.sha256_of(key)
        except ImageNotFound:
            return None
