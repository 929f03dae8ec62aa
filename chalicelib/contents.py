"""Content items: one per distinct served content, shared by every record that serves it, with a reference count.

An item (``ContentRecord``, id ``content#<content id>`` in the images table) names a *generation* ``cref``: the
renditions live under ``content/{cref}/``. A generation is random and never reused, which is what makes the
races safe (ADR 0013):

- acquire (a record becomes ready): one transaction writes the record and either increments ``refs`` of the item
  it read (condition: same ``cref``) or creates the item with this run's generation (condition: no item). A lost
  race fails the condition (:class:`ContentChanged`) and the caller retries against the current item.
- release (a record is deleted): one transaction deletes the record and decrements ``refs`` (condition: same
  ``cref``). When ``refs`` reached 0, a conditional delete (``refs = 0`` and same ``cref``) removes the item, and
  only then are the generation's objects deleted. An uploader that read the old item fails its condition and
  makes a new generation, so deleting an old generation never removes an object a live record needs.

The content id is the SHA-256 of every rendition's name, extension and digest: two uploads share an item exactly
when everything served would be byte-identical (identical originals always are, processing being deterministic;
a change to the processing makes new items rather than serving old renditions under new rules).
"""

from __future__ import annotations

import hashlib
import logging
import secrets
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Final, Protocol

from pynamodb.exceptions import DoesNotExist, PynamoDBException
from pynamodb.expressions.update import Action

from chalicelib import delivery
from chalicelib.errors import MetadataUnavailable
from chalicelib.models import ContentRecord

log = logging.getLogger(__name__)

ID_PREFIX: Final = "content#"
CREF_BYTES: Final = 12  # 96 random bits, 16 URL-safe characters: never reused in practice


class Transaction(Protocol):
    """What a content change adds to a record's transaction (``TransactWrite``'s writes)."""

    def save(self, model: Any, condition: Any = None) -> None: ...
    def update(self, model: Any, actions: list[Action], condition: Any = None) -> None: ...
    def delete(self, model: Any, condition: Any = None) -> None: ...


# Adds this content's side to a record's transaction.
ContentOp = Callable[[Transaction], None]


class ContentChanged(Exception):
    """The item is not what this run read (another run created, removed or replaced it): read again, retry."""


def new_cref() -> str:
    return secrets.token_urlsafe(CREF_BYTES)


def content_id_of(digests: dict[str, str], keys: dict[str, str]) -> str:
    """The identity of a served content: every rendition's name, extension and digest (``keys`` by name)."""
    lines = sorted(f"{name}:{delivery.extension_of(keys[name])}:{digest}" for name, digest in digests.items())
    return hashlib.sha256("\n".join(lines).encode()).hexdigest()


def is_content_item(item_id: str) -> bool:
    return item_id.startswith(ID_PREFIX)


@dataclass(frozen=True)
class Content:
    content_id: str
    cref: str
    file_key: str
    thumbnails: dict[str, str] = field(default_factory=dict)
    display_key: str | None = None
    digests: dict[str, str] = field(default_factory=dict)
    refs: int = 0
    created_at: str = ""
    # The thumbnails' companion encodings by size then extension (``Image.thumbnail_variants``).
    thumbnail_variants: dict[str, dict[str, str]] = field(default_factory=dict)

    def all_keys(self) -> list[str]:
        variants = [key for by_format in self.thumbnail_variants.values() for key in by_format.values()]
        return [k for k in (self.file_key, *self.thumbnails.values(), self.display_key, *variants) if k]


def _to_content(record: ContentRecord) -> Content:
    return Content(
        content_id=record.id[len(ID_PREFIX) :],
        cref=record.cref,
        file_key=record.file_key,
        thumbnails=dict(record.thumbnails.as_dict()) if record.thumbnails is not None else {},  # type: ignore[no-untyped-call]
        display_key=record.display_key,
        digests=dict(record.digests.as_dict()) if record.digests is not None else {},  # type: ignore[no-untyped-call]
        refs=int(record.refs),
        created_at=record.created_at,
        thumbnail_variants=_variants(record.thumbnail_variants),
    )


def _variants(attribute: Any) -> dict[str, dict[str, str]]:
    if attribute is None:
        return {}
    raw = attribute.as_dict() if hasattr(attribute, "as_dict") else dict(attribute)
    return {str(size): {str(e): str(k) for e, k in dict(by_format).items()} for size, by_format in raw.items()}


@contextmanager
def _translate() -> Iterator[None]:
    try:
        yield
    except PynamoDBException as exc:
        if getattr(exc, "cause_response_code", None) == "ConditionalCheckFailedException":
            raise ContentChanged() from exc
        log.warning("content item store error", extra={"error": type(exc).__name__})
        raise MetadataUnavailable() from exc


class Contents:
    """The content items of the images table."""

    def get(self, content_id: str) -> Content | None:
        with _translate():
            try:
                return _to_content(ContentRecord.get(ID_PREFIX + content_id, consistent_read=True))
            except DoesNotExist:
                return None

    def acquire_op(self, existing: Content | None, mine: Content) -> ContentOp:
        """One more reference to ``existing`` (still the generation read), or ``mine`` created with one."""

        def op(transaction: Transaction) -> None:
            if existing is not None:
                transaction.update(
                    ContentRecord(id=ID_PREFIX + existing.content_id),
                    actions=[ContentRecord.refs.add(1)],
                    condition=ContentRecord.cref == existing.cref,
                )
                return
            # An update that creates the item (the processor may update items, never put them: least privilege).
            transaction.update(
                ContentRecord(id=ID_PREFIX + mine.content_id),
                actions=[
                    ContentRecord.kind.set("content"),
                    ContentRecord.cref.set(mine.cref),
                    ContentRecord.refs.set(1),
                    ContentRecord.file_key.set(mine.file_key),
                    ContentRecord.thumbnails.set(mine.thumbnails),
                    ContentRecord.digests.set(mine.digests),
                    ContentRecord.created_at.set(mine.created_at),
                    *(
                        [ContentRecord.thumbnail_variants.set(mine.thumbnail_variants)]
                        if mine.thumbnail_variants
                        else []
                    ),
                    *([ContentRecord.display_key.set(mine.display_key)] if mine.display_key else []),
                ],
                condition=ContentRecord.id.does_not_exist(),
            )

        return op

    def release_op(self, content_id: str, cref: str) -> ContentOp:
        """One reference fewer (the generation must be the one the record names, with a reference to give)."""

        def op(transaction: Transaction) -> None:
            transaction.update(
                ContentRecord(id=ID_PREFIX + content_id),
                actions=[ContentRecord.refs.add(-1)],
                condition=(ContentRecord.cref == cref) & (ContentRecord.refs >= 1),
            )

        return op

    def remove_if_unreferenced(self, content_id: str, cref: str) -> bool:
        """Delete the item if it is still this generation with no references; True when it was deleted (its
        objects may then go), False when someone holds it again, or it is gone or replaced already."""
        try:
            with _translate():
                ContentRecord(id=ID_PREFIX + content_id).delete(
                    condition=(ContentRecord.cref == cref) & (ContentRecord.refs == 0)
                )
        except ContentChanged:
            return False
        return True

    def set_refs(self, content_id: str, cref: str, refs: int, *, expected: int) -> None:
        """Correct a count (the sweeper's repair), only while the item is still this generation with the count
        seen (``ContentChanged`` otherwise: a concurrent upload or delete changed it, and is right)."""
        with _translate():
            ContentRecord(id=ID_PREFIX + content_id).update(
                actions=[ContentRecord.refs.set(refs)],
                condition=(ContentRecord.cref == cref) & (ContentRecord.refs == expected),
            )

    def recreate(self, content: Content) -> None:
        """Put back an item its records still name (the sweeper's repair); ``ContentChanged`` if one is there."""
        with _translate():
            _record_of(content, refs=content.refs).save(condition=ContentRecord.id.does_not_exist())

    def scan(self) -> Iterator[Content]:
        with _translate():
            for record in ContentRecord.scan(ContentRecord.id.startswith(ID_PREFIX)):
                yield _to_content(record)


def _record_of(content: Content, *, refs: int) -> ContentRecord:
    return ContentRecord(
        id=ID_PREFIX + content.content_id,
        cref=content.cref,
        refs=refs,
        file_key=content.file_key,
        thumbnails=content.thumbnails or None,
        display_key=content.display_key,
        digests=content.digests or None,
        thumbnail_variants=content.thumbnail_variants or None,
        created_at=content.created_at,
    )


def describe(content: Content) -> dict[str, Any]:
    """For logs and the sweeper's report (no owner, nothing personal: there is none to give)."""
    return {"content_id": content.content_id, "cref": content.cref, "refs": content.refs}
