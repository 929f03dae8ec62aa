"""Large files as S3 multipart uploads through the API's presigned part URLs, resumable after an interruption.

The API's contract (``/api/v1/images/multipart``): create the upload (the API plans ``part_size`` and
``part_count``), sign parts in batches of at most 100 (each bound to its SHA-256, so the store refuses other
bytes), ``PUT`` each part, then ``complete``; the processor takes over as for any upload.

Resuming: before the first part goes up, the CLI writes the upload's id (and delete token, if anonymous) to its
state directory under the file's identity (path, size, SHA-256). ``chitram upload --resume`` asks the API which
parts the store has (``GET .../multipart/parts``), sends only the missing ones and completes. Orphans: without
``--resume`` a stale upload of the same file is aborted before a new one starts, and an upload that cannot
finish (the file changed, a part is refused for good) is aborted, so no parts are left behind by the CLI.
"""

from __future__ import annotations

import base64
import hashlib
import os
import signal
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from chitram_cli import config
from chitram_cli.api import Api, CliError
from chitram_cli.config import Exit

MIB = 1024 * 1024
# Files above this go up in parts. The API takes any size as multipart; this is the client's rule, and the same
# number as the API's default MULTIPART_THRESHOLD_BYTES.
MULTIPART_THRESHOLD_BYTES = 8 * MIB
SIGN_BATCH = 100
STATE = "multipart.json"
PART_ATTEMPTS = 3
# Fault injection for the acceptance tests: after this many parts, the CLI signals itself (INT: a Ctrl-C; KILL: a
# crash), so an interruption happens at a known point instead of a race with a fast local store.
FAULT_ENV = "CHITRAM_FAULT_AFTER_PARTS"


class Stopped(Exception):
    """The run was stopped (Ctrl-C) while parts were going up: which upload, and how far it got."""

    def __init__(self, image_id: str | None = None, parts_up: int = 0, parts_total: int = 0) -> None:
        super().__init__(image_id)
        self.image_id = image_id
        self.parts_up = parts_up
        self.parts_total = parts_total


@dataclass
class Outcome:
    image_id: str
    delete_token: str | None
    parts_sent: int
    parts_total: int


def file_sha256(path: Path, stop: threading.Event) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(MIB):
            if stop.is_set():
                raise Stopped()
            digest.update(chunk)
    return digest.hexdigest()


def _state_key(path: Path, size: int, sha256: str) -> str:
    return f"{path.resolve()}|{size}|{sha256}"


class _Fault:
    def __init__(self) -> None:
        raw = os.environ.get(FAULT_ENV, "")
        count, _, kind = raw.partition(":")
        self.after = int(count) if count.isdigit() else None
        self.signal = signal.SIGKILL if kind.upper() == "KILL" else signal.SIGINT
        self.sent = 0
        self.lock = threading.Lock()

    def part_done(self, stop: threading.Event) -> None:
        if self.after is None:
            return
        with self.lock:
            self.sent += 1
            if self.sent != self.after:
                return
        os.kill(os.getpid(), self.signal)
        # The main thread turns the signal into the stop event; wait for it, so the fault lands between parts.
        stop.wait(10)


_fault = _Fault()


class MultipartUpload:
    """One file's multipart upload: create or resume, send the missing parts, complete."""

    def __init__(
        self,
        api: Api,
        storage: httpx.Client,
        stop: threading.Event,
        on_progress: Callable[[int], None],
        state_lock: threading.Lock,
    ) -> None:
        self.api = api
        self.storage = storage
        self.stop = stop
        self.on_progress = on_progress
        self.state_lock = state_lock

    def run(self, path: Path, payload: dict[str, Any], *, resume: bool) -> Outcome:
        size = int(payload["size"])
        sha256 = file_sha256(path, self.stop)
        key = _state_key(path, size, sha256)
        saved = self._saved(key)
        upload = None
        if saved and resume:
            upload = self._resume(saved)
        elif saved:
            # A stale upload of this very file: abort it before starting again (no orphaned parts).
            self._abort(saved["id"], saved.get("delete_token"))
            self._forget(key)
        if upload is None:
            ticket = self.api.json("POST", "/api/v1/images/multipart", json={**payload, "sha256": sha256})
            upload = {
                "id": str(ticket["id"]),
                "delete_token": ticket.get("delete_token"),
                "part_size": int(ticket["part_size"]),
                "part_count": int(ticket["part_count"]),
                "have": {},
            }
            self._remember(key, {"id": upload["id"], "delete_token": upload["delete_token"], "path": str(path)})
        image_id, token = upload["id"], upload["delete_token"]
        try:
            sent = self._send_missing(path, size, upload)
            self._complete(image_id, token)
        except CliError as exc:
            if exc.exit_code in (Exit.UNREACHABLE, Exit.AUTH) or exc.code == "RATE_LIMIT_EXCEEDED":
                raise  # worth resuming later: the parts stay, the state says where they are
            self._abort(image_id, token)
            self._forget(key)
            raise
        self._forget(key)
        return Outcome(image_id, token, sent, upload["part_count"])

    # --- steps --------------------------------------------------------------------------------------------------

    def _headers(self, delete_token: str | None) -> dict[str, str]:
        return {"X-Delete-Token": delete_token} if delete_token else {}

    def _resume(self, saved: dict[str, Any]) -> dict[str, Any] | None:
        """The upload's plan and the parts the store has, or None when it is gone (aborted, expired)."""
        token = saved.get("delete_token")
        try:
            listing = self.api.json(
                "GET", f"/api/v1/images/{saved['id']}/multipart/parts", headers=self._headers(token)
            )
        except CliError as exc:
            if exc.code in {"IMAGE_NOT_FOUND", "IMAGE_NOT_PENDING"}:
                return None
            raise
        return {
            "id": str(saved["id"]),
            "delete_token": token,
            "part_size": int(listing["part_size"]),
            "part_count": int(listing["part_count"]),
            "have": {int(p["part_number"]): p for p in listing.get("parts") or []},
        }

    def _send_missing(self, path: Path, size: int, upload: dict[str, Any]) -> int:
        part_size, count = int(upload["part_size"]), int(upload["part_count"])

        def expected(number: int) -> int:
            return min(part_size, size - (number - 1) * part_size)

        have = {n for n, p in upload["have"].items() if int(p.get("size") or 0) == expected(n)}
        done_bytes = sum(expected(n) for n in have)
        self.on_progress(done_bytes)
        missing = [n for n in range(1, count + 1) if n not in have]
        parts_up = len(have)
        with path.open("rb") as handle:
            for start in range(0, len(missing), SIGN_BATCH):
                batch = missing[start : start + SIGN_BATCH]
                digests = {}
                for number in batch:
                    handle.seek((number - 1) * part_size)
                    data = handle.read(expected(number))
                    digests[number] = base64.b64encode(hashlib.sha256(data).digest()).decode()
                signed = self._sign(upload, digests)
                for number in batch:
                    if self.stop.is_set():
                        raise Stopped(upload["id"], parts_up, count)
                    handle.seek((number - 1) * part_size)
                    data = handle.read(expected(number))
                    self._put_part(upload, number, data, signed, digests)
                    parts_up += 1
                    done_bytes += len(data)
                    self.on_progress(done_bytes)
                    _fault.part_done(self.stop)
        return len(missing)

    def _sign(self, upload: dict[str, Any], digests: dict[int, str]) -> dict[int, dict[str, Any]]:
        answer = self.api.json(
            "POST",
            f"/api/v1/images/{upload['id']}/multipart/parts",
            json={"parts": [{"part_number": n, "sha256_b64": d} for n, d in digests.items()]},
            headers=self._headers(upload["delete_token"]),
        )
        return {int(part["part_number"]): part for part in answer["parts"]}

    def _put_part(
        self,
        upload: dict[str, Any],
        number: int,
        data: bytes,
        signed: dict[int, dict[str, Any]],
        digests: dict[int, str],
    ) -> None:
        for attempt in range(1, PART_ATTEMPTS + 1):
            part = signed[number]
            try:
                response = self.storage.put(part["url"], content=data, headers=part.get("headers") or {})
            except httpx.TransportError as exc:
                if attempt == PART_ATTEMPTS:
                    raise CliError(
                        f"Part {number} could not be sent to storage ({exc.__class__.__name__}).", Exit.UNREACHABLE
                    ) from exc
                continue
            if response.status_code < 300:
                return
            if response.status_code == 403 and attempt < PART_ATTEMPTS:
                signed.update(self._sign(upload, {number: digests[number]}))  # the URL expired: sign it again
                continue
            if response.status_code >= 500 and attempt < PART_ATTEMPTS:
                continue
            raise CliError(
                f"Storage refused part {number} (HTTP {response.status_code}).", Exit.FILES_FAILED, "STORAGE_REFUSED"
            )

    def _complete(self, image_id: str, delete_token: str | None) -> None:
        # No part list: the API completes with every part the store has, after checking the plan is whole.
        self.api.json(
            "POST", f"/api/v1/images/{image_id}/multipart/complete", json={}, headers=self._headers(delete_token)
        )

    def _abort(self, image_id: str, delete_token: str | None) -> None:
        try:
            self.api.request("DELETE", f"/api/v1/images/{image_id}/multipart", headers=self._headers(delete_token))
        except CliError as exc:
            if exc.code not in {"IMAGE_NOT_FOUND", "IMAGE_NOT_PENDING"}:
                raise

    # --- state --------------------------------------------------------------------------------------------------

    def _saved(self, key: str) -> dict[str, Any] | None:
        with self.state_lock:
            entry = config.load_state(STATE).get(key)
        return entry if isinstance(entry, dict) and entry.get("id") else None

    def _remember(self, key: str, entry: dict[str, Any]) -> None:
        with self.state_lock:
            state = config.load_state(STATE)
            state[key] = entry
            config.save_state(STATE, state)

    def _forget(self, key: str) -> None:
        with self.state_lock:
            state = config.load_state(STATE)
            if state.pop(key, None) is not None:
                config.save_state(STATE, state)


def pending_uploads() -> dict[str, Any]:
    """Multipart uploads this CLI started and has not finished (for ``--resume`` and the interrupted report)."""
    return config.load_state(STATE)
