"""The HTTP API as the CLI uses it: one ``httpx.Client``, errors turned into ``CliError`` with an exit code.

Every failure a user can meet becomes one sentence: the API's own ``detail.message`` (it is written for people),
or what went wrong on the way (unreachable, timed out, not JSON). ``429`` is waited out (``Retry-After``) a few
times before it counts as a failure, because the upload limit is per address and a parallel upload meets it.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import httpx

from chitram_cli import __version__
from chitram_cli.config import Exit

AUTH_CODES = frozenset({"AUTHENTICATION_REQUIRED", "INVALID_TOKEN", "TOKEN_EXPIRED", "INSUFFICIENT_SCOPE"})
MAX_RATE_LIMIT_WAITS = 6


class CliError(Exception):
    """A failure with a message for people and the exit code it maps to."""

    def __init__(self, message: str, exit_code: Exit = Exit.API_ERROR, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.exit_code = exit_code
        self.code = code


def describe_http_error(response: httpx.Response) -> CliError:
    """The API's envelope ``{"detail": {"code", "message"}}`` as a ``CliError``; anything else summarised."""
    code: str | None = None
    message = f"HTTP {response.status_code}"
    try:
        detail = response.json().get("detail")
    except (ValueError, AttributeError):
        detail = None
    if isinstance(detail, dict):
        code = str(detail.get("code") or "") or None
        message = str(detail.get("message") or message)
    if code in AUTH_CODES or response.status_code == 401:
        hint = {
            "TOKEN_EXPIRED": " Sign in again with 'chitram login' (or make a new API token).",
            "INVALID_TOKEN": " Sign in again with 'chitram login'.",
            "AUTHENTICATION_REQUIRED": " Sign in with 'chitram login'.",
            "INSUFFICIENT_SCOPE": "",
        }.get(code or "", "")
        return CliError(message + hint, Exit.AUTH, code)
    if response.status_code >= 500:
        return CliError(f"The API failed: {message}", Exit.API_ERROR, code)
    return CliError(message, Exit.FILES_FAILED, code)


def unreachable(api_url: str, exc: Exception) -> CliError:
    reason = "timed out" if isinstance(exc, httpx.TimeoutException) else "could not connect"
    return CliError(
        f"Cannot reach the Chitram API at {api_url} ({reason}). Check 'chitram config --api-url'.",
        Exit.UNREACHABLE,
    )


class Api:
    def __init__(
        self,
        api_url: str,
        token: str | None = None,
        *,
        timeout: float = 30.0,
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.api_url = api_url.rstrip("/")
        self.token = token
        self.sleep = sleep
        headers = {"User-Agent": f"chitram-cli/{__version__}"}
        self.client = httpx.Client(timeout=timeout, headers=headers, transport=transport, follow_redirects=False)

    def close(self) -> None:
        self.client.close()

    def url(self, path: str) -> str:
        return path if path.startswith(("http://", "https://")) else self.api_url + path

    def request(self, method: str, path: str, *, auth: bool = True, **kwargs: Any) -> httpx.Response:
        """One API call; retries 429s after ``Retry-After``; raises ``CliError`` for anything but 2xx/3xx."""
        headers = dict(kwargs.pop("headers", None) or {})
        if auth and self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        for attempt in range(MAX_RATE_LIMIT_WAITS + 1):
            try:
                response = self.client.request(method, self.url(path), headers=headers, **kwargs)
            except httpx.TransportError as exc:
                raise unreachable(self.api_url, exc) from exc
            if response.status_code == 429 and attempt < MAX_RATE_LIMIT_WAITS:
                self.sleep(_retry_after(response))
                continue
            if response.status_code >= 400:
                raise describe_http_error(response)
            return response
        raise AssertionError("unreachable")  # pragma: no cover

    def json(self, method: str, path: str, **kwargs: Any) -> Any:
        response = self.request(method, path, **kwargs)
        try:
            return response.json()
        except ValueError as exc:
            raise CliError(f"The API answered {method} {path} with something that is not JSON.") from exc

    # --- the calls the commands make -----------------------------------------------------------------

    def me(self) -> dict[str, Any]:
        return dict(self.json("GET", "/api/v1/auth/me"))

    def login(self, email: str, password: str) -> dict[str, Any]:
        return dict(self.json("POST", "/api/v1/auth/login", auth=False, json={"email": email, "password": password}))

    def image(self, image_id: str) -> dict[str, Any]:
        return dict(self.json("GET", f"/api/v1/images/{image_id}"))

    def delete(self, image_id: str, delete_token: str | None = None) -> None:
        headers = {"X-Delete-Token": delete_token} if delete_token else {}
        self.request("DELETE", f"/api/v1/images/{image_id}", headers=headers)

    def my_images(self, *, limit: int, cursor: str | None) -> dict[str, Any]:
        params: dict[str, Any] = {"limit": limit}
        if cursor:
            params["cursor"] = cursor
        return dict(self.json("GET", "/api/v1/users/me/images", params=params))

    def create_token(self, name: str, scope: str, expires_in_days: int | None = None) -> dict[str, Any]:
        payload: dict[str, Any] = {"name": name, "scope": scope}
        if expires_in_days is not None:
            payload["expires_in_days"] = expires_in_days
        return dict(self.json("POST", "/api/v1/users/me/tokens", json=payload))


def _retry_after(response: httpx.Response) -> float:
    try:
        return max(1.0, min(60.0, float(response.headers.get("Retry-After", "1"))))
    except ValueError:
        return 1.0
