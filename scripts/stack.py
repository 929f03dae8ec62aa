"""The whole product on one machine, no account and no Docker: ``make run`` calls this; the tests import it.

Starts, in order, each as its own process on 127.0.0.1: moto's server (S3, SQS, DynamoDB), the resources
(``scripts/provision.py``), three ``redis-server`` nodes, the API (``chalice local --no-autoreload``, through
``scripts/local_api.py`` for a real listen backlog), the worker (``scripts/worker.py``, the SQS event source), the
site's origin (``scripts/webserver.py``) and the edge (``scripts/edge.py``): the one origin a browser opens, with
CloudFront's path rules (``/api/*`` the API, ``/i/*`` the bucket's public prefix, ``/{short_id}`` share pages, the
rest the site). The API and the site listen behind it. Ctrl-C or SIGTERM stops all of them; each child also gets
SIGTERM from the kernel if this process dies (PR_SET_PDEATHSIG), so no orphan survives. With ``--s3-sqs-endpoint``
(LocalStack), S3 and SQS go there and DynamoDB stays on moto. Before starting anything it checks that every port it
needs is free, and says which one is not and how to choose another.

    python scripts/stack.py [--port 8000] [--moto-port 5000] [--redis-ports 6391,6392,6393] [--s3-sqs-endpoint URL]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import IO, Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from scripts.processes import die_with_parent  # noqa: E402
from scripts.redis_servers import RedisProcess, start_redis  # noqa: E402

BIN = Path(sys.executable).parent
HOST = "127.0.0.1"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def free_ports(count: int) -> list[int]:
    """``count`` distinct free ports (each socket stays bound until all are chosen, so none repeats)."""
    with contextlib.ExitStack() as held:
        socks = [held.enter_context(socket.socket()) for _ in range(count)]
        for sock in socks:
            sock.bind((HOST, 0))
        return [int(sock.getsockname()[1]) for sock in socks]


@dataclass
class Child:
    name: str
    process: subprocess.Popen[bytes]
    log_path: Path
    log_file: IO[bytes]

    def alive(self) -> bool:
        return self.process.poll() is None

    def stop(self, timeout: float = 5.0) -> None:
        if self.alive():
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        self.log_file.close()

    def tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""


def port_taken(port: int) -> bool:
    """Whether something listens on ``port`` (SO_REUSEADDR as our servers use it, so TIME_WAIT does not count)."""
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((HOST, port))
        except OSError:
            return True
    return False


class PortsTaken(RuntimeError):
    """Ports the stack needs are in use; the message names each one and how to choose another."""


@dataclass
class StackConfig:
    edge_port: int = 8000  # the one origin: site, API (/api), images (/i), share pages
    api_port: int = 0  # behind the edge; 0 picks a free port
    web_port: int = 0  # the site's origin behind the edge; 0 picks a free port
    moto_port: int = 5000
    redis_ports: tuple[int, ...] = (6391, 6392, 6393)
    s3_sqs_endpoint: str | None = None  # LocalStack; None keeps S3 and SQS on moto
    run_dir: Path | None = None
    extra_env: dict[str, str] = field(default_factory=dict)
    worker_concurrency: int | None = None  # None: the worker's own default (scripts/worker.py)
    worker_batch_size: int | None = None  # None: the worker's own default
    worker_profile_dir: Path | None = None  # cProfile each worker process into this directory (benchmarks)
    # The operator's token for GET /health/details: OPERATOR_TOKEN from the environment, else one per stack.
    operator_token: str = field(default_factory=lambda: os.environ.get("OPERATOR_TOKEN") or secrets.token_urlsafe(24))

    @classmethod
    def ephemeral(cls, **overrides: Any) -> StackConfig:
        """Free ports everywhere, for tests that start their own stack beside a developer's ``make run``."""
        edge, api, web, moto, *redis = free_ports(7)
        ports = {"edge_port": edge, "api_port": api, "web_port": web, "moto_port": moto, "redis_ports": tuple(redis)}
        return cls(**{**ports, **overrides})


# How a developer moves each port: (what it is, the make variable, the flag of this script).
PORT_CHOICES = {
    "edge_port": ("the edge (the address you open)", "PORT", "--port"),
    "api_port": ("the API behind the edge", "API_PORT", "--api-port"),
    "web_port": ("the site's origin behind the edge", "WEB_PORT", "--web-port"),
    "moto_port": ("moto's server (S3, SQS, DynamoDB)", "MOTO_PORT", "--moto-port"),
    "redis_ports": ("a redis-server node", "REDIS_PORTS", "--redis-ports"),
}


def check_ports(config: StackConfig) -> None:
    """Raise ``PortsTaken`` naming every port in use, with the variable or flag that chooses another."""
    problems = []
    for name, (what, variable, flag) in PORT_CHOICES.items():
        value = getattr(config, name)
        for port in value if isinstance(value, tuple) else (value,):
            if port and port_taken(port):
                example = f"{variable}={port + 10}" if variable != "REDIS_PORTS" else f"{variable}=7391,7392,7393"
                problems.append(
                    f"port {port} ({what}) is in use by another process; choose another with "
                    f"`{example} make run` (or scripts/stack.py {flag} ...)"
                )
    if problems:
        raise PortsTaken("\n".join(problems))


class Stack:
    def __init__(self, config: StackConfig) -> None:
        # Ports left at 0 are chosen now, so every address is known before anything starts.
        config.api_port = config.api_port or free_port()
        config.web_port = config.web_port or free_port()
        config.edge_port = config.edge_port or free_port()
        self.config = config
        self.children: list[Child] = []
        self.redis: list[RedisProcess] = []
        self.run_dir = config.run_dir or Path(tempfile.mkdtemp(prefix="chitram-stack-"))
        self.run_dir.mkdir(parents=True, exist_ok=True)

    # --- addresses --------------------------------------------------------------------------------

    @property
    def url(self) -> str:
        """The one origin (the edge): the site, ``/api/...``, ``/i/...`` and share pages."""
        return f"http://{HOST}:{self.config.edge_port}"

    @property
    def web_url(self) -> str:
        """Where a browser opens the site: the edge."""
        return self.url

    @property
    def api_url(self) -> str:
        """The API itself, behind the edge (tests use it to set things up without touching the edge)."""
        return f"http://{HOST}:{self.config.api_port}"

    @property
    def site_url(self) -> str:
        """The site's origin behind the edge (the site bucket's stand-in)."""
        return f"http://{HOST}:{self.config.web_port}"

    @property
    def moto_url(self) -> str:
        return f"http://{HOST}:{self.config.moto_port}"

    @property
    def redis_urls(self) -> list[str]:
        return [node.url for node in self.redis]

    def env(self) -> dict[str, str]:
        """The environment every part of the stack runs with (and that tests use to talk to the emulators)."""
        env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_ENDPOINT_URL", "AWS_PROFILE"))}
        env.update(
            {
                "AWS_ACCESS_KEY_ID": "testing",
                "AWS_SECRET_ACCESS_KEY": "testing",
                "AWS_DEFAULT_REGION": "us-east-1",
                "AWS_EC2_METADATA_DISABLED": "true",
                "AWS_ENDPOINT_URL": self.moto_url,
                "STAGE": "local",
                # The public origin: absolute links (share pages, oEmbed) and CORS name it.
                "SITE_ORIGIN": self.url,
                "REDIS_NODES": ",".join(f"redis://{HOST}:{p}/0" for p in self.config.redis_ports),
                "JWT_SECRET": os.environ.get("JWT_SECRET", "local-development-secret-not-for-deployment"),
                "PYTHONUNBUFFERED": "1",
                # Password-reset mail lands here as readable files (the local stand-in for SES).
                "MAIL_OUTBOX_DIR": str(self.run_dir / "outbox"),
                "OPERATOR_TOKEN": self.config.operator_token,
            }
        )
        if self.config.s3_sqs_endpoint:
            env["AWS_ENDPOINT_URL_S3"] = self.config.s3_sqs_endpoint
            env["AWS_ENDPOINT_URL_SQS"] = self.config.s3_sqs_endpoint
            env["AWS_ENDPOINT_URL_DYNAMODB"] = self.moto_url
            # LocalStack checks a presigned GET's signature against the secret of a key registered in its IAM,
            # else against the fixed secret "test": any other secret makes every presigned URL a 403.
            env["AWS_SECRET_ACCESS_KEY"] = "test"  # noqa: S105 - LocalStack's public default, not a secret
        env.update(self.config.extra_env)
        return env

    # --- lifecycle --------------------------------------------------------------------------------

    def spawn(self, name: str, argv: list[str]) -> Child:
        log_path = self.run_dir / f"{name}.log"
        log_file = log_path.open("ab")
        process = subprocess.Popen(
            argv,
            cwd=ROOT,
            env=self.env(),
            stdin=subprocess.DEVNULL,
            stdout=log_file,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # Ctrl-C reaches only the launcher, which stops children in order
            preexec_fn=die_with_parent,
        )
        child = Child(name, process, log_path, log_file)
        self.children.append(child)
        return child

    def start(self, *, timeout: float = 60.0) -> Stack:
        check_ports(self.config)
        # Each run's logs (and so `make metrics`) describe that run only.
        for old_log in self.run_dir.glob("*.log"):
            old_log.unlink()
        try:
            self._start(timeout)
        except BaseException:
            self.stop()
            raise
        return self

    def _start(self, timeout: float) -> None:
        # moto with each DynamoDB write atomic, as DynamoDB's are (scripts/moto_server.py).
        moto = self.spawn(
            "moto", [sys.executable, "scripts/moto_server.py", "-H", HOST, "-p", str(self.config.moto_port)]
        )
        self._wait_http(f"{self.moto_url}/moto-api/", moto, timeout)
        provision = self.spawn("provision", [sys.executable, "scripts/provision.py"])
        if provision.process.wait(timeout) != 0:
            raise RuntimeError(f"provisioning failed:\n{provision.tail()}")
        for port in self.config.redis_ports:
            self.redis.append(start_redis(port=port, dir=self.run_dir / f"redis-{port}"))
        api = self.spawn(
            "api",
            [
                sys.executable,
                "scripts/local_api.py",  # chalice local with a listen backlog for concurrent clients
                "--no-autoreload",
                "--stage",
                "local",
                "--host",
                HOST,
                "--port",
                str(self.config.api_port),
            ],
        )
        worker_options = {
            "--concurrency": self.config.worker_concurrency,
            "--batch-size": self.config.worker_batch_size,
            "--profile-dir": self.config.worker_profile_dir,
        }
        self.spawn(
            "worker",
            [
                sys.executable,
                "scripts/worker.py",
                *(f"{name}={value}" for name, value in worker_options.items() if value),
            ],
        )
        # Behind the edge the site and the API share one origin, so the pages call the API by relative paths.
        web = self.spawn(
            "web", [sys.executable, "scripts/webserver.py", "--port", str(self.config.web_port), "--api", ""]
        )
        edge = self.spawn(
            "edge",
            [
                sys.executable,
                "scripts/edge.py",
                "--port",
                str(self.config.edge_port),
                "--api",
                self.api_url,
                "--site",
                self.site_url,
            ],
        )
        self._wait_http(f"{self.api_url}/health", api, timeout)
        self._wait_http(f"{self.site_url}/", web, timeout)
        self._wait_http(f"{self.url}/", edge, timeout)

    def _wait_http(self, url: str, child: Child, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not child.alive():
                raise RuntimeError(f"{child.name} exited with {child.process.returncode}:\n{child.tail()}")
            try:
                with urllib.request.urlopen(url, timeout=2):
                    return
            except urllib.error.HTTPError:
                return  # it answered
            except (urllib.error.URLError, OSError):
                time.sleep(0.2)
        raise TimeoutError(f"{child.name} did not answer at {url} within {timeout:.0f}s:\n{child.tail()}")

    def check_alive(self) -> Child | None:
        """The first service that died, if any (``redis`` nodes may be stopped on purpose by tests)."""
        return next((c for c in self.children if c.name != "provision" and not c.alive()), None)

    def stop(self) -> None:
        for child in reversed(self.children):
            child.stop()
        for node in self.redis:
            node.stop()
        self.children.clear()
        self.redis.clear()

    def __enter__(self) -> Stack:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "--port", type=int, default=int(os.environ.get("PORT", "8000")), help="the edge: the one address you open"
    )
    parser.add_argument(
        "--api-port",
        type=int,
        default=int(os.environ.get("API_PORT", "8001")),
        help="the API itself, behind the edge (0: any free port); `make smoke-test` talks to it",
    )
    parser.add_argument(
        "--web-port", type=int, default=int(os.environ.get("WEB_PORT", "0")), help="the site behind the edge (0: any)"
    )
    parser.add_argument("--moto-port", type=int, default=int(os.environ.get("MOTO_PORT", "5000")))
    parser.add_argument(
        "--redis-ports",
        default=os.environ.get("REDIS_PORTS", "6391,6392,6393"),
        help="comma-separated ports of the redis-server nodes",
    )
    parser.add_argument("--s3-sqs-endpoint", default=os.environ.get("S3_SQS_ENDPOINT"))
    parser.add_argument("--run-dir", type=Path, default=ROOT / ".run", help="where each part writes its log")
    parser.add_argument(
        "--worker-concurrency",
        type=int,
        default=int(os.environ.get("WORKER_CONCURRENCY", "0")) or None,
        help="processor invocations at once (default: the worker's, one per CPU)",
    )
    args = parser.parse_args(argv)
    config = StackConfig(
        edge_port=args.port,
        api_port=args.api_port,
        web_port=args.web_port,
        moto_port=args.moto_port,
        redis_ports=tuple(int(port) for port in args.redis_ports.split(",") if port.strip()),
        s3_sqs_endpoint=args.s3_sqs_endpoint,
        run_dir=args.run_dir,
        worker_concurrency=args.worker_concurrency,
    )
    stop_requested = False

    def request_stop(*_: Any) -> None:
        nonlocal stop_requested
        stop_requested = True

    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)
    try:
        check_ports(config)
    except PortsTaken as exc:
        print(f"cannot start: {exc}", file=sys.stderr)
        return 2
    stack = Stack(config)
    print("starting moto server, redis nodes, API, worker, site and edge ...", flush=True)
    try:
        stack.start()
    except PortsTaken as exc:  # taken between the check and the start
        print(f"cannot start: {exc}", file=sys.stderr)
        return 2
    except (RuntimeError, TimeoutError) as exc:
        print(f"could not start the stack: {exc}", file=sys.stderr)
        return 1
    print(
        json.dumps(
            {
                "url": stack.url,
                "api": f"{stack.url}/api/v1",
                "api_direct": stack.api_url,
                "openapi": f"{stack.url}/api/v1/openapi.json",
                "aws_endpoint": stack.moto_url,
                "redis_nodes": stack.redis_urls,
                "operator_token": stack.config.operator_token,  # header X-Operator-Token on /health/details
                "logs": str(stack.run_dir),
            },
            indent=2,
        ),
        flush=True,
    )
    print(
        f"Chitram is up: open {stack.url} (site; the API under /api, images under /i). Ctrl-C stops everything.",
        flush=True,
    )
    exit_code = 0
    try:
        while not stop_requested:
            dead = stack.check_alive()
            if dead:
                print(f"{dead.name} stopped unexpectedly:\n{dead.tail()}", file=sys.stderr)
                exit_code = 1
                break
            time.sleep(0.5)
    finally:
        print("stopping ...", flush=True)
        stack.stop()
    return exit_code


if __name__ == "__main__":
    sys.exit(main())
