"""Outgoing mail (password reset links) behind one small interface, chosen by ``MAILER``.

- ``memory``: kept in a list (tests read ``MemoryOutbox.sent``).
- ``outbox``: one JSON file per message in ``MAIL_OUTBOX_DIR`` (local stack: read the link from the file).
- ``ses``: Amazon SES ``SendEmail`` from ``MAIL_FROM`` (deployed stages; ``Settings.validate`` insists on it).

A mail that cannot be sent is logged and swallowed by the caller's design: the reset endpoint answers 202
whatever happens, so its answer never says whether an address is registered.
"""

from __future__ import annotations

import json
import logging
import os
import uuid
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

from chalicelib.settings import Settings

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Message:
    to: str
    subject: str
    body: str
    # What the message is for ("password_reset"), so tests and the local outbox can find it without parsing.
    kind: str = ""
    data: dict[str, str] | None = None


class Mailer(Protocol):
    def send(self, message: Message) -> None: ...


class MemoryOutbox:
    def __init__(self) -> None:
        self.sent: list[Message] = []

    def send(self, message: Message) -> None:
        self.sent.append(message)


class DirectoryOutbox:
    """Writes ``<utc time>-<id>.json`` files; readable by people and by the integration tests."""

    def __init__(self, directory: str | os.PathLike[str]) -> None:
        self.directory = Path(directory)

    def send(self, message: Message) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        stamp = datetime.now(tz=UTC).strftime("%Y%m%dT%H%M%S%f")
        path = self.directory / f"{stamp}-{uuid.uuid4().hex[:8]}.json"
        # Write then rename, so a reader never sees half a message.
        partial = path.with_suffix(".tmp")
        partial.write_text(json.dumps(asdict(message), indent=2))
        partial.replace(path)
        log.info("mail written to the local outbox", extra={"path": str(path), "kind": message.kind})


class SesMailer:
    def __init__(self, sender: str, region: str, client: Any = None) -> None:
        self.sender = sender
        self.region = region
        self._client = client

    def send(self, message: Message) -> None:
        if self._client is None:
            from chalicelib import clients

            self._client = clients.session().create_client("ses", region_name=self.region, config=clients.AWS_CONFIG)
        self._client.send_email(
            Source=self.sender,
            Destination={"ToAddresses": [message.to]},
            Message={"Subject": {"Data": message.subject}, "Body": {"Text": {"Data": message.body}}},
        )


def build_mailer(settings: Settings) -> Mailer:
    if settings.mailer == "memory":
        return MemoryOutbox()
    if settings.mailer == "ses":
        return SesMailer(settings.mail_from, settings.region)
    return DirectoryOutbox(settings.mail_outbox_dir)
