"""The object-created processor: S3 events (through SQS) in, ``ready`` or ``rejected`` records out.

One SQS message holds one S3 event notification, which holds one or more records. For each ``originals/{id}``
object: load the pending record, read the object (bounded), run the imaging pipeline, store the served copy and
the thumbnails, then flip the record ``pending -> ready`` with a conditional write and delete the original.

Idempotence (S3 delivers at least once, out of order): a record that is no longer pending makes the event a
no-op apart from removing a leftover original; each run writes its own generation of renditions and only the run
whose transaction marks the record ready keeps it (``chalicelib/services/ingest.py``). A bad file is
``rejected`` with a reason and its object deleted (no retry). A transient fault raises, the message is reported
as a batch item failure, SQS retries it and finally moves it to the dead-letter queue.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, Literal
from urllib.parse import unquote_plus

from chalicelib import deadline, logs, metrics
from chalicelib.cache.metadata import MetadataCache
from chalicelib.errors import FileTooLarge, ImageNotFound, ImageNotPending, InvalidImage, RejectReason
from chalicelib.queues import ORIGINALS_RETENTION_DAYS
from chalicelib.records import PENDING, Image, ImageRecords
from chalicelib.services.ingest import Ingest
from chalicelib.services.ports import Clock, Metrics, Quota, utc_now_iso
from chalicelib.settings import Settings
from chalicelib.storage import Storage, image_id_from_original_key

log = logging.getLogger(__name__)

Outcome = Literal["ready", "rejected", "duplicate", "orphan", "ignored"]

# A message is started only while the invocation has the per-image deadline plus this much left (the writes
# and the record update after the decode).
START_MARGIN_SECONDS = 5


class NotStarted(Exception):
    """Too little of the invocation left to process this message within its deadline; SQS redelivers it."""


@dataclass
class Processor:
    settings: Settings
    records: ImageRecords
    storage: Storage
    cache: MetadataCache
    clock: Clock
    # ``handle_sqs_batch`` below still reports failed messages through the module; everything else goes here.
    metrics: Metrics
    quota: Quota | None = None

    def __post_init__(self) -> None:
        self.ingest = Ingest(self.settings, self.records, self.storage, self.metrics)

    def handle_object(self, key: str) -> Outcome:
        image_id = image_id_from_original_key(key)
        if image_id is None:
            log.info("ignoring object outside originals/", extra={"key": key})
            return "ignored"
        try:
            image = self.records.get(image_id)
        except ImageNotFound:
            # Deleted while pending, expired, or never requested through the API: nobody claims this object.
            log.info("object without a record; removing it", extra={"image_id": image_id})
            self.storage.delete([key])
            return "orphan"
        if image.status != PENDING:
            # A duplicate or late event: the work is done. Remove a leftover original (idempotent).
            self.storage.delete([key])
            return "duplicate"
        return self._process(image, key)

    def _process(self, image: Image, key: str) -> Outcome:
        # The upload request's id follows the image here, so these logs join the API's (chalicelib/logs.py).
        started = time.perf_counter()
        with logs.correlation(image.request_id):
            outcome = self._process_pending(image, key)
            if outcome in ("ready", "rejected"):
                self.metrics.record_processing(outcome, (time.perf_counter() - started) * 1000, image_id=image.id)
        return outcome

    def _process_pending(self, image: Image, key: str) -> Outcome:
        now = utc_now_iso(self.clock)
        try:
            # No more than was claimed (the quota was reserved for that much; moto does not enforce the form's
            # exact content-length-range, S3 does).
            data = self.storage.read(key, max_bytes=min(image.size, self.settings.max_upload_bytes))
            with deadline.within(self.settings.processing_deadline_seconds):
                processed = self.ingest.process(data, max_bytes=self.settings.max_upload_bytes)
        except ImageNotFound:
            # The original vanished between event and read (a concurrent duplicate finished first).
            return "duplicate"
        except FileTooLarge:
            return self._reject(image, key, RejectReason.TOO_LARGE, now)
        except InvalidImage as exc:
            return self._reject(image, key, exc.reason, now)
        if image.expected_sha256 and processed.original_sha256 != image.expected_sha256:
            # The uploader declared other bytes (a store that does not enforce checksums let these through). The
            # declaration is of the upload as sent, not of the served copy (location scrubbed away, so it differs).
            return self._reject(image, key, RejectReason.CHECKSUM_MISMATCH, now)

        try:
            ready = self.ingest.store(
                image,
                processed,
                processed_at=now,
                commit=lambda ready_image, content: self.records.mark_ready(image, ready_image, content),
                path="presigned",
                upload_bytes=len(data),
                done_with=[key],  # the original goes in the same request as the cleanup, right after the commit
            )
        except ImageNotPending:
            # Settled by a concurrent run of the same event, or deleted while we processed it. Nothing of ours was
            # committed, and ``store`` removed the generation this run wrote.
            self.storage.delete([key])
            return "orphan" if self._record_is_gone(image.id) else "duplicate"
        # (The original went with the cleanup; if that delete failed, the bucket's originals/ lifecycle rule
        # removes it within ORIGINALS_RETENTION_DAYS.)
        self.cache.invalidate(image.id)
        self._correct_quota(image, ready)
        log.info(
            "image ready",
            extra={"image_id": image.id, "width": ready.width, "height": ready.height, "bytes": ready.size},
        )
        return "ready"

    def _release_quota(self, image: Image) -> None:
        """A rejected upload gives back what its claim reserved (a rejected record is counted as nothing)."""
        if image.owner is None or self.quota is None:
            return
        try:
            self.quota.release(image.owner, image.size)
        except Exception:
            log.exception("could not release the quota", extra={"image_id": image.id, "owner": image.owner})

    def _correct_quota(self, pending: Image, ready: Image) -> None:
        """The upload was counted at its claimed size; count the size it really has."""
        if pending.owner is None or self.quota is None or ready.size == pending.size:
            return
        try:
            self.quota.adjust(pending.owner, ready.size - pending.size)
        except Exception:
            # The image is ready either way; a recount on the owner's next refused upload heals the counter.
            log.exception("could not correct the quota", extra={"image_id": pending.id, "owner": pending.owner})

    def _record_is_gone(self, image_id: str) -> bool:
        try:
            self.records.get(image_id)
        except ImageNotFound:
            return True
        return False

    def _reject(self, image: Image, key: str, reason: RejectReason, now: str) -> Outcome:
        try:
            self.records.mark_rejected(image, str(reason), now)
        except ImageNotPending:
            pass  # someone else settled it (and its quota) first
        else:
            self._release_quota(image)
        self.cache.invalidate(image.id)
        self.storage.delete([key])
        log.info("image rejected", extra={"image_id": image.id, "reason": str(reason)})
        self.metrics.record_reject(str(reason), image_id=image.id)
        return "rejected"

    def handle_sqs_batch(
        self, messages: Iterable[dict[str, Any]], *, remaining_ms: Callable[[], int] | None = None
    ) -> dict[str, list[dict[str, str]]]:
        """Process an SQS batch with Powertools' ``BatchProcessor``; answer Lambda's partial-batch-failure shape.

        Each message succeeds or fails alone: only the ones that raised are reported, so SQS redelivers just
        those (and dead-letters them after the queue's maxReceiveCount). Bad files are not failures: they end
        ``rejected``. One slow file cannot time out the invocation and take the batch with it: its decode has a
        deadline (``PROCESSING_DEADLINE_SECONDS``), and a message is not even started unless the invocation
        (``remaining_ms``, Lambda's clock) has that long left, plus a margin; the rest are reported as failed
        and come back in another invocation.
        """
        from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType

        budget_ms = (self.settings.processing_deadline_seconds + START_MARGIN_SECONDS) * 1000

        def handle(record: Any) -> None:
            if remaining_ms is not None and remaining_ms() < budget_ms:
                raise NotStarted()
            keys = object_keys(record.body or "")
            try:
                for key in keys:
                    self.handle_object(key)
            except Exception:
                log.exception("processing failed; SQS will retry", extra={"message_id": record.message_id})
                self._hold_for_redrive(keys)
                attributes = record.raw_event.get("attributes") or {}
                metrics.record_processing_failure(
                    attributes.get("ApproximateReceiveCount"), message_id=record.message_id
                )
                raise

        batch = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)
        with batch([dict(message) for message in messages], handle):
            batch.process()
        response = batch.response()
        return {
            "batchItemFailures": [{"itemIdentifier": str(f["itemIdentifier"])} for f in response["batchItemFailures"]]
        }

    def _hold_for_redrive(self, keys: Iterable[str]) -> None:
        """A failing upload may sit in the dead-letter queue until someone redrives it: keep its pending record
        that long (the bucket keeps the original as long, by the same constant)."""
        until = int(self.clock()) + ORIGINALS_RETENTION_DAYS * 24 * 3600
        for key in keys:
            if (image_id := image_id_from_original_key(key)) is None:
                continue
            try:
                self.records.hold_pending(image_id, until)
            except Exception:
                log.warning("could not extend the pending record", extra={"image_id": image_id})


def object_keys(body: str) -> list[str]:
    """The object keys of ObjectCreated records in one S3 notification (URL-decoded).

    ``s3:TestEvent`` (the first message on a newly wired queue) and other event types give no keys. A body that
    is not an S3 notification is logged and skipped: retrying it could never succeed.
    """
    try:
        event = json.loads(body)
    except (TypeError, ValueError):
        log.warning("skipping a message that is not JSON")
        return []
    if not isinstance(event, dict) or event.get("Event") == "s3:TestEvent":
        return []
    keys = []
    for record in event.get("Records") or []:
        if not str(record.get("eventName", "")).startswith("ObjectCreated:"):
            continue
        try:
            keys.append(unquote_plus(record["s3"]["object"]["key"]))
        except (KeyError, TypeError):
            log.warning("skipping a malformed S3 record")
    return keys
