"""Start and stop real ``redis-server`` processes on loopback ports, for tests and the local stack.

Standard library only (the local-stack launcher imports it too). Each server runs in the foreground as our
child, bound to 127.0.0.1, with persistence off (``--save '' --appendonly no``) in its own directory, and
``start_redis`` returns only once it answers PING.

    server = start_redis()            # a free port, a temporary directory
    server.url                        # "redis://127.0.0.1:PORT/0"
    server.kill()                     # SIGKILL, as a crash would
    server.restart()                  # same port, same directory, empty dataset
    server.stop()                     # SIGTERM (then SIGKILL), and the temporary directory goes

``python -m scripts.redis_servers 3`` starts three and prints ``REDIS_NODES=...`` until interrupted.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from types import TracebackType

from scripts.processes import die_with_parent

__all__ = ["RedisProcess", "RedisStartError", "redis_servers", "start_redis"]

HOST = "127.0.0.1"
REDIS_SERVER = os.environ.get("REDIS_SERVER_BIN") or shutil.which("redis-server") or "/usr/bin/redis-server"


class RedisStartError(RuntimeError):
    """redis-server did not start (missing binary, port taken, or no PING answer in time)."""


def free_port() -> int:
    """A TCP port nobody listens on right now (the OS picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        port: int = sock.getsockname()[1]
        return port


def ping(port: int, timeout: float = 0.2) -> bool:
    """True when a Redis server on ``port`` answers ``PING`` (raw RESP, so no client library needed)."""
    try:
        with socket.create_connection((HOST, port), timeout=timeout) as sock:
            sock.sendall(b"PING\r\n")
            return sock.recv(64).startswith(b"+PONG")
    except OSError:
        return False


class RedisProcess:
    """One redis-server child process. Use ``start_redis`` to make one."""

    def __init__(self, port: int, directory: Path, *, owns_directory: bool, executable: str = REDIS_SERVER):
        self.port = port
        self.dir = directory
        self._owns_directory = owns_directory
        self._executable = executable
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://{HOST}:{self.port}/0"

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process else None

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def __repr__(self) -> str:
        return f"RedisProcess(url={self.url!r}, running={self.running})"

    def start(self, timeout: float = 10.0) -> RedisProcess:
        """Start the server (if it is not running) and wait until it answers PING."""
        if self.running:
            return self
        log = self.dir / "redis.log"
        # fmt: off
        args = [
            self._executable,
            "--port", str(self.port), "--bind", HOST,
            "--save", "", "--appendonly", "no",
            "--dir", str(self.dir), "--logfile", str(log),
            "--daemonize", "no", "--protected-mode", "yes",
        ]
        # fmt: on
        try:
            self._process = subprocess.Popen(
                args,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                preexec_fn=die_with_parent,  # a killed launcher or test run leaves no server behind
            )
        except OSError as exc:
            raise RedisStartError(f"cannot run {self._executable}: {exc}") from exc
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                self._process = None
                tail = log.read_text(errors="replace")[-2000:] if log.exists() else ""
                raise RedisStartError(f"redis-server on port {self.port} exited at start:\n{tail}")
            if ping(self.port):
                return self
            time.sleep(0.01)
        self.kill()
        raise RedisStartError(f"redis-server on port {self.port} did not answer PING within {timeout}s")

    def kill(self) -> None:
        """SIGKILL the server (a crash: no shutdown, connections drop) and reap it."""
        self._signal(signal.SIGKILL, wait=5.0)

    def terminate(self, timeout: float = 5.0) -> None:
        """SIGTERM the server, SIGKILL it if it has not exited after ``timeout``."""
        if not self._signal(signal.SIGTERM, wait=timeout):
            self.kill()

    def restart(self, timeout: float = 10.0) -> RedisProcess:
        """Stop (if running) and start again on the same port: an empty server, as after a crash."""
        self.terminate()
        return self.start(timeout)

    def stop(self) -> None:
        """Stop the server for good and remove the directory if ``start_redis`` created it."""
        self.terminate()
        if self._owns_directory:
            shutil.rmtree(self.dir, ignore_errors=True)

    def _signal(self, signum: int, wait: float) -> bool:
        """Send ``signum`` and wait; True when the process is gone (or was never running)."""
        process = self._process
        if process is None:
            return True
        if process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                process.send_signal(signum)
            try:
                process.wait(wait)
            except subprocess.TimeoutExpired:
                return False
        self._process = None
        return True

    def __enter__(self) -> RedisProcess:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


def start_redis(
    port: int | None = None,
    dir: str | os.PathLike[str] | None = None,
    *,
    executable: str = REDIS_SERVER,
    timeout: float = 10.0,
) -> RedisProcess:
    """Start a redis-server on ``port`` (default: a free one) with its files in ``dir`` (default: a new
    temporary directory, removed by ``stop()``), and return once it answers PING."""
    attempts = 1 if port is not None else 3  # a free port can be taken between picking and binding it
    for attempt in range(attempts):
        owns = dir is None
        directory = Path(tempfile.mkdtemp(prefix="chitram-redis-")) if dir is None else Path(dir)
        directory.mkdir(parents=True, exist_ok=True)
        server = RedisProcess(port or free_port(), directory, owns_directory=owns, executable=executable)
        try:
            return server.start(timeout)
        except RedisStartError:
            server.stop()
            if attempt == attempts - 1:
                raise
    raise AssertionError("unreachable")  # pragma: no cover


@contextlib.contextmanager
def redis_servers(count: int, *, timeout: float = 10.0) -> Iterator[list[RedisProcess]]:
    """``count`` servers, all stopped on exit (even if starting one of them fails)."""
    servers: list[RedisProcess] = []
    try:
        for _ in range(count):
            servers.append(start_redis(timeout=timeout))
        yield servers
    finally:
        for server in servers:
            server.stop()


def main(argv: list[str]) -> int:
    count = int(argv[0]) if argv else 3
    with redis_servers(count) as servers:
        sys.stdout.write("REDIS_NODES=" + ",".join(server.url for server in servers) + "\n")
        sys.stdout.flush()
        # SIGTERM leaves through SystemExit, so the context manager still stops the servers.
        signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
        with contextlib.suppress(KeyboardInterrupt):
            while True:
                time.sleep(3600)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
