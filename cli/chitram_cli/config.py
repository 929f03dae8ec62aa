"""Where the CLI keeps its settings, credentials and upload state, and the exit codes it answers with.

- ``config.json`` in the user's config directory (``$CHITRAM_CONFIG_DIR``, else ``$XDG_CONFIG_HOME/chitram``, else
  ``~/.config/chitram``; ``%APPDATA%\\chitram`` on Windows): the API URL, the web front end's URL, and the
  credential (a JWT from ``login`` with a password, or a personal API token). The directory is 0700 and the file
  0600, written atomically, because it holds a credential.
- ``CHITRAM_API_URL`` / ``CHITRAM_SITE_URL`` / ``CHITRAM_TOKEN`` override the file (CI and scripts).
- ``state/``: delete tokens of anonymous uploads (so ``rm`` works for them too) and multipart uploads in flight
  (so ``upload --resume`` can finish them).
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
import tempfile
from dataclasses import asdict, dataclass
from enum import IntEnum
from pathlib import Path
from typing import Any

DEFAULT_API_URL = "http://127.0.0.1:8000"


class Exit(IntEnum):
    """The CLI's exit codes (documented in cli/README.md)."""

    OK = 0
    FILES_FAILED = 1  # some (or all) files or ids failed: bad file, rejected, too large, not found
    USAGE = 2  # bad arguments, nothing to do, not configured
    AUTH = 3  # no, invalid, expired or revoked credential, or a token without the needed scope
    UNREACHABLE = 4  # the API could not be reached (refused, DNS, timeout)
    API_ERROR = 5  # the API answered with a server error or something unexpected
    INTERRUPTED = 130  # Ctrl-C: what finished is reported; ``upload --resume`` continues large files


def config_dir() -> Path:
    explicit = os.environ.get("CHITRAM_CONFIG_DIR")
    if explicit:
        return Path(explicit)
    if sys.platform == "win32" and os.environ.get("APPDATA"):
        return Path(os.environ["APPDATA"]) / "chitram"
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "chitram"


@dataclass
class Config:
    api_url: str = DEFAULT_API_URL
    site_url: str | None = None
    token: str | None = None
    email: str | None = None  # who signed in (for display only)

    @property
    def token_kind(self) -> str | None:
        if not self.token:
            return None
        return "api token" if self.token.startswith("chi_") else "session"


def _file() -> Path:
    return config_dir() / "config.json"


def load(*, apply_env: bool = True) -> Config:
    """The stored configuration, with the environment's overrides unless ``apply_env`` is False (before saving)."""
    stored: dict[str, Any] = {}
    with contextlib.suppress(FileNotFoundError):
        raw = json.loads(_file().read_text())
        if isinstance(raw, dict):
            stored = raw
    config = Config(
        api_url=str(stored.get("api_url") or DEFAULT_API_URL),
        site_url=stored.get("site_url") or None,
        token=stored.get("token") or None,
        email=stored.get("email") or None,
    )
    if apply_env:
        config.api_url = os.environ.get("CHITRAM_API_URL") or config.api_url
        config.site_url = os.environ.get("CHITRAM_SITE_URL") or config.site_url
        config.token = os.environ.get("CHITRAM_TOKEN") or config.token
    config.api_url = config.api_url.rstrip("/")
    config.site_url = config.site_url.rstrip("/") if config.site_url else None
    return config


def save(config: Config) -> Path:
    """Write the configuration as 0600 (load it with ``apply_env=False`` first, so overrides are not persisted)."""
    path = _file()
    write_private(path, json.dumps(asdict(config), indent=2) + "\n")
    return path


def write_private(path: Path, text: str) -> None:
    """Write ``text`` atomically to a file only this user may read (0600), in a directory only they may enter."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    with contextlib.suppress(OSError):
        path.parent.chmod(0o700)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        os.fchmod(handle, 0o600)
        with os.fdopen(handle, "w") as out:
            out.write(text)
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise


def state_dir() -> Path:
    return config_dir() / "state"


def load_state(name: str) -> dict[str, Any]:
    try:
        raw = json.loads((state_dir() / name).read_text())
    except (FileNotFoundError, json.JSONDecodeError):
        return {}
    return raw if isinstance(raw, dict) else {}


def save_state(name: str, data: dict[str, Any]) -> None:
    write_private(state_dir() / name, json.dumps(data, indent=2) + "\n")
