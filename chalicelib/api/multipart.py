"""Parse a ``multipart/form-data`` upload body (``python-multipart``; the stdlib ``cgi`` module is gone)."""

from __future__ import annotations

import io
from dataclasses import dataclass
from typing import Any

from python_multipart import parse_form
from python_multipart.exceptions import FormParserError

from chalicelib.errors import FileTooLarge, ValidationFailed


@dataclass(frozen=True)
class UploadedFile:
    filename: str
    data: bytes


def parse_upload(body: bytes, content_type: str | None, *, field: str, max_bytes: int) -> UploadedFile:
    """The file in form field ``field``. Refuses bodies larger than ``max_bytes`` before parsing them."""
    if not content_type or not content_type.lower().startswith("multipart/form-data"):
        raise ValidationFailed("Send the file as multipart/form-data.", field=field)
    # The whole body (file plus boundaries and headers) may exceed the file by a little, never by much.
    if len(body) > max_bytes + 64 * 1024:
        raise FileTooLarge(max_bytes=max_bytes)
    files: dict[str, Any] = {}

    def on_file(part: Any) -> None:
        files.setdefault(part.field_name.decode(errors="replace") if part.field_name else "", part)

    try:
        parse_form(
            {"Content-Type": content_type.encode(), "Content-Length": str(len(body)).encode()},
            io.BytesIO(body),
            lambda _field: None,
            on_file,
            config={"MAX_MEMORY_FILE_SIZE": max_bytes + 1, "UPLOAD_KEEP_FILENAME": False},
        )
    except (FormParserError, ValueError) as exc:
        raise ValidationFailed("The multipart body could not be parsed.", field=field) from exc
    part = files.get(field)
    if part is None:
        raise ValidationFailed(f"The form has no file field named {field!r}.", field=field)
    part.file_object.seek(0)
    data = part.file_object.read(max_bytes + 1)
    part.close()
    if len(data) > max_bytes:
        raise FileTooLarge(max_bytes=max_bytes)
    raw_name = part.file_name.decode("utf-8", errors="replace") if part.file_name else ""
    return UploadedFile(filename=raw_name, data=data)
