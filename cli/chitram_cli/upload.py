"""``chitram upload``: many files in parallel, straight to the bucket, then wait for each to be ``ready``.

Each file is its own job: one that fails (a bad file, a refusal, a network error on its form) is reported and
the others go on. Small files take the presigned POST (``/api/v1/images/upload-url``); a Ctrl-C stops every
transfer at its next chunk and the run reports what finished and what did not.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import httpx

from chitram_cli import config
from chitram_cli.api import Api, CliError
from chitram_cli.config import Exit
from chitram_cli.multipart import MULTIPART_THRESHOLD_BYTES, MultipartUpload, Stopped
from chitram_cli.progress import Reporter

# The claimed type of an upload. The server decides by content; this only has to be one it hands forms out for
# (tests/unit/test_cli_rules.py checks this table against chalicelib/catalog.py, which the CLI cannot import).
TYPES_BY_EXTENSION = {
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".jpe": "image/jpeg",
    ".jfif": "image/jpeg",
    ".png": "image/png",
    ".gif": "image/gif",
    ".webp": "image/webp",
    ".avif": "image/avif",
    ".heic": "image/heic",
    ".heif": "image/heic",
    ".hif": "image/heic",
}
READY_TIMEOUT_SECONDS = 120.0
DELETE_TOKENS_STATE = "delete-tokens.json"


class Interrupted(Exception):
    """The run was stopped (Ctrl-C) while this file was in flight."""


@dataclass
class FileResult:
    path: str
    status: str  # ready | rejected | failed | interrupted | pending (still processing at the timeout)
    id: str | None = None
    filename: str | None = None
    size: int | None = None
    width: int | None = None
    height: int | None = None
    visibility: str | None = None
    direct_url: str | None = None
    thumbnail_url: str | None = None
    share_url: str | None = None
    delete_token: str | None = None
    error: str | None = None
    code: str | None = None
    exit_code: int = field(default=0, repr=False)

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data.pop("exit_code")
        return {key: value for key, value in data.items() if value is not None}


def sniff_type(path: Path) -> str | None:
    """The image type the first bytes announce (for files without a telling extension), or None."""
    try:
        with path.open("rb") as handle:
            head = handle.read(16)
    except OSError:
        return None
    if head.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if head[:6] in (b"GIF87a", b"GIF89a"):
        return "image/gif"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp"
    if head[4:12] in (b"ftypavif", b"ftypavis"):
        return "image/avif"
    return None


def claimed_type(path: Path) -> str | None:
    return TYPES_BY_EXTENSION.get(path.suffix.lower()) or sniff_type(path)


def discover(arguments: Iterable[str]) -> tuple[list[Path], list[FileResult]]:
    """Files to upload from FILES|DIRS (directories recursively, images only), and the arguments that are not."""
    files: list[Path] = []
    problems: list[FileResult] = []
    seen: set[Path] = set()
    for argument in arguments:
        path = Path(argument)
        if path.is_dir():
            found = sorted(p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in TYPES_BY_EXTENSION)
            if not found:
                problems.append(_failed(argument, "No images in this directory.", Exit.FILES_FAILED))
            candidates = found
        elif path.is_file():
            candidates = [path]
        else:
            problems.append(_failed(argument, "No such file or directory.", Exit.FILES_FAILED))
            continue
        for candidate in candidates:
            resolved = candidate.resolve()
            if resolved not in seen:
                seen.add(resolved)
                files.append(candidate)
    return files, problems


def _failed(path: str, message: str, exit_code: int, code: str | None = None) -> FileResult:
    return FileResult(path=path, status="failed", error=message, code=code, exit_code=exit_code)


class ProgressFile:
    """A file for httpx to stream: reports each chunk read, and stops the transfer when the run is stopped."""

    def __init__(self, path: Path, on_progress: Callable[[int], None], stop: threading.Event) -> None:
        self.handle = path.open("rb")
        self.on_progress = on_progress
        self.stop = stop

    def read(self, size: int = -1) -> bytes:
        if self.stop.is_set():
            raise Interrupted()
        chunk = self.handle.read(size)
        self.on_progress(self.handle.tell())
        return chunk

    def seek(self, offset: int, whence: int = os.SEEK_SET) -> int:
        return self.handle.seek(offset, whence)

    def tell(self) -> int:
        return self.handle.tell()

    def fileno(self) -> int:
        return self.handle.fileno()

    def close(self) -> None:
        self.handle.close()


@dataclass
class UploadOptions:
    visibility: str | None = None
    wait: bool = True
    timeout: float = READY_TIMEOUT_SECONDS
    jobs: int = 4
    site_url: str | None = None
    resume: bool = False
    multipart_threshold: int = MULTIPART_THRESHOLD_BYTES


class Uploader:
    def __init__(self, api: Api, reporter: Reporter, options: UploadOptions) -> None:
        self.api = api
        self.reporter = reporter
        self.options = options
        self.stop = threading.Event()
        self.tokens_lock = threading.Lock()
        self.state_lock = threading.Lock()
        # Storage (the presigned form's host) is not the API: a plain client, without our credential.
        self.storage = httpx.Client(timeout=httpx.Timeout(60.0, connect=10.0), follow_redirects=False)

    def run(self, files: list[Path]) -> list[FileResult]:
        """Upload every file; on Ctrl-C stop the transfers, and report the rest as interrupted."""
        results: dict[Path, FileResult] = {}
        pool = ThreadPoolExecutor(max_workers=max(1, self.options.jobs), thread_name_prefix="upload")
        futures: dict[Future[FileResult], Path] = {pool.submit(self.upload_one, path): path for path in files}
        try:
            with self.reporter:
                for future, path in futures.items():
                    while True:
                        try:
                            results[path] = future.result(timeout=0.2)
                            break
                        except TimeoutError:
                            continue
        except KeyboardInterrupt:
            self.stop.set()
            pool.shutdown(wait=True, cancel_futures=True)
            for future, path in futures.items():
                if path not in results:
                    done = future.done() and not future.cancelled()
                    results[path] = future.result() if done else self._interrupted(path)
        finally:
            pool.shutdown(wait=True)
            self.storage.close()
        return [results[path] for path in files]

    @staticmethod
    def _interrupted(path: Path) -> FileResult:
        return FileResult(
            path=str(path), status="interrupted", error="Interrupted before it finished.", exit_code=Exit.INTERRUPTED
        )

    def upload_one(self, path: Path) -> FileResult:
        key = str(path)
        if self.stop.is_set():
            return self._interrupted(path)
        content_type = claimed_type(path)
        if content_type is None:
            allowed = ", ".join(sorted({ext for ext in TYPES_BY_EXTENSION if len(ext) <= 5}))
            return _failed(key, f"Not an image type Chitram accepts ({allowed}).", Exit.FILES_FAILED)
        try:
            size = path.stat().st_size
        except OSError as exc:
            return _failed(key, f"Cannot read the file: {exc.strerror}.", Exit.FILES_FAILED)
        self.reporter.start(key, path.name, size)
        try:
            result = self._upload(path, content_type, size)
        except Interrupted:
            result = self._interrupted(path)
        except Stopped as stopped:
            result = self._interrupted(path)
            result.id = stopped.image_id
            result.error = (
                f"Interrupted with {stopped.parts_up} of {stopped.parts_total} parts uploaded; "
                "'chitram upload --resume' sends the rest."
            )
        except CliError as exc:
            result = _failed(key, exc.message, exc.exit_code, exc.code)
        except Exception as exc:  # one file's surprise must not stop the others
            result = _failed(key, f"Unexpected error: {exc.__class__.__name__}: {exc}", Exit.API_ERROR)
        self.reporter.finish(key, result.status if result.status != "failed" else f"failed: {result.error}")
        return result

    def _upload(self, path: Path, content_type: str, size: int) -> FileResult:
        payload: dict[str, Any] = {"filename": path.name, "content_type": content_type, "size": size}
        if self.options.visibility:
            payload["visibility"] = self.options.visibility
        if size > self.options.multipart_threshold:
            try:
                return self._upload_multipart(path, payload)
            except CliError as exc:
                if exc.code != "NOT_FOUND":  # NOT_FOUND: an API without multipart routes; the form still works
                    raise
        ticket = self.api.json("POST", "/api/v1/images/upload-url", json=payload)
        image_id = str(ticket["id"])
        delete_token = ticket.get("delete_token")
        if delete_token:
            self._remember_delete_token(image_id, str(delete_token))
        self._post_form(path, ticket["upload"], content_type, size)
        return self._result(path, image_id, delete_token)

    def _upload_multipart(self, path: Path, payload: dict[str, Any]) -> FileResult:
        key = str(path)
        upload = MultipartUpload(
            self.api,
            self.storage,
            self.stop,
            lambda position: self.reporter.advance(key, position),
            self.state_lock,
        )
        outcome = upload.run(path, payload, resume=self.options.resume)
        if outcome.delete_token:
            self._remember_delete_token(outcome.image_id, outcome.delete_token)
        return self._result(path, outcome.image_id, outcome.delete_token)

    def _post_form(self, path: Path, form: dict[str, Any], content_type: str, size: int) -> None:
        key = str(path)
        stream: Any = ProgressFile(path, lambda position: self.reporter.advance(key, position), self.stop)
        try:
            response = self.storage.post(
                form["url"], data=form["fields"], files={"file": (path.name, stream, content_type)}
            )
        except httpx.TransportError as exc:
            raise CliError(f"The upload to storage failed: {exc.__class__.__name__}.", Exit.FILES_FAILED) from exc
        finally:
            stream.close()
        if response.status_code >= 300:
            raise CliError(_storage_error(response), Exit.FILES_FAILED, "STORAGE_REFUSED")
        self.reporter.advance(key, size)

    def _result(self, path: Path, image_id: str, delete_token: str | None) -> FileResult:
        image = self.wait_until_processed(image_id) if self.options.wait else self.api.image(image_id)
        status = str(image.get("status"))
        result = FileResult(
            path=str(path),
            status=status,
            id=image_id,
            filename=image.get("filename"),
            size=image.get("file_size"),
            width=image.get("width"),
            height=image.get("height"),
            visibility=image.get("visibility"),
            delete_token=delete_token,
        )
        if status == "ready":
            result.direct_url = self.api.url(str(image["url"]))
            if image.get("thumbnail_url"):
                result.thumbnail_url = self.api.url(str(image["thumbnail_url"]))
            if self.options.site_url:
                result.share_url = f"{self.options.site_url}/image.html?id={image_id}"
        elif status == "rejected":
            reason = image.get("reject_reason") or "unknown reason"
            result.error = f"The file was rejected: {reason}."
            result.code = str(reason)
            result.exit_code = Exit.FILES_FAILED
        elif self.options.wait:
            result.error = f"Still processing after {self.options.timeout:.0f} s."
            result.exit_code = Exit.FILES_FAILED
        return result

    def wait_until_processed(self, image_id: str) -> dict[str, Any]:
        deadline = time.monotonic() + self.options.timeout
        delay = 0.25
        while True:
            image = self.api.image(image_id)
            if image.get("status") != "pending" or time.monotonic() > deadline:
                return image
            if self.stop.wait(delay):
                raise Interrupted()
            delay = min(delay * 1.5, 2.0)

    def _remember_delete_token(self, image_id: str, token: str) -> None:
        """Anonymous uploads: keep the delete token (0600) so ``chitram rm ID`` works later from this account."""
        with self.tokens_lock:
            tokens = config.load_state(DELETE_TOKENS_STATE)
            tokens[image_id] = token
            config.save_state(DELETE_TOKENS_STATE, tokens)


def _storage_error(response: httpx.Response) -> str:
    """S3 answers in XML: ``<Error><Code>EntityTooLarge</Code><Message>...</Message></Error>``."""
    text = response.text
    code = _between(text, "<Code>", "</Code>")
    message = _between(text, "<Message>", "</Message>")
    if code or message:
        return f"Storage refused the upload ({code or response.status_code}): {message or ''}".strip()
    return f"Storage refused the upload (HTTP {response.status_code})."


def _between(text: str, start: str, end: str) -> str | None:
    begin = text.find(start)
    if begin < 0:
        return None
    stop = text.find(end, begin)
    return text[begin + len(start) : stop] if stop > begin else None
