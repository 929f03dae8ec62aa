"""Parse a ``multipart/form-data`` upload body (``python-multipart``; the stdlib ``cgi`` module is gone)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from chalicelib.errors import FileTooLarge, ValidationFailed

# The form has one file and a field or two (visibility); a body of thousands of tiny parts is work for nothing.
MAX_FORM_PARTS = 16


@dataclass(frozen=True)
class UploadedFile:
    filename: str
    data: bytes
    fields: dict[str, str]  # the form's plain (non-file) fields


def parse_upload(body: bytes, content_type: str | None, *, field: str, max_bytes: int) -> UploadedFile:
    """The file in form field ``field``. Refuses bodies larger than ``max_bytes`` before parsing them."""
    if not content_type or not content_type.lower().startswith("multipart/form-data"):
        raise ValidationFailed("Send the file as multipart/form-data.", field=field)
    # The whole body (file plus boundaries and headers) may exceed the file by a little, never by much.
    if len(body) > max_bytes + 64 * 1024:
        raise FileTooLarge(max_bytes=max_bytes)
    # Imported here: only upload requests need the parser, and it costs every cold start ~20-50 ms otherwise.
    from python_multipart import create_form_parser
    from python_multipart.exceptions import FormParserError

    files: dict[str, Any] = {}
    fields: dict[str, str] = {}
    parts = 0

    def count_part() -> None:
        nonlocal parts
        parts += 1
        if parts > MAX_FORM_PARTS:
            raise ValidationFailed(f"The form has more than {MAX_FORM_PARTS} parts.", field=field)

    def on_file(part: Any) -> None:
        count_part()
        files.setdefault(_name(part.field_name), part)

    def on_field(part: Any) -> None:
        count_part()
        fields.setdefault(_name(part.field_name), (part.value or b"").decode("utf-8", errors="replace"))

    try:
        parser = create_form_parser(
            {"Content-Type": content_type.encode(), "Content-Length": str(len(body)).encode()},
            on_field,
            on_file,
            # Keep the file in memory: it is bounded above, and Lambda's /tmp is better left alone.
            config={"MAX_MEMORY_FILE_SIZE": max_bytes + 1},
        )
        parser.write(body)
        parser.finalize()
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
    return UploadedFile(filename=raw_name, data=data, fields=fields)


def _name(raw: bytes | None) -> str:
    return raw.decode("utf-8", errors="replace") if raw else ""
