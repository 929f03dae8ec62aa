"""Shared test set-up: every test starts with a clean, offline AWS environment and fresh settings."""

from __future__ import annotations

import io
import os
import secrets
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any

import pytest
from PIL import Image

if TYPE_CHECKING:
    from scripts.stack import Stack
    from tests.http_api import Api

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "tests" / "fixtures"

OFFLINE_AWS_ENV = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_EC2_METADATA_DISABLED": "true",
    "STAGE": "test",
}


# --- parallel runs (``make test`` runs ``pytest -n 2 --dist loadgroup``) ---------------------------------------

# Tests that talk to the session's running stack (the ``stack`` fixture below): one group, so a parallel run still
# starts one stack and one chromium. These files start servers of their own instead and may run beside it.
STACK_TIERS = ("tests/integration/", "tests/browser/", "tests/load/")
OWN_SERVERS = (
    "tests/integration/test_faults.py",
    "tests/integration/test_run_command.py",
    "tests/integration/test_redis_nodes.py",
)


def xdist_group(nodeid: str) -> str:
    """The unit a parallel run hands to one worker: the shared stack's tests, the packaging tier (one
    ``make package``), else the test's module (module fixtures are made once)."""
    path = nodeid.split("::", 1)[0]
    if path.startswith(STACK_TIERS) and path not in OWN_SERVERS:
        return "stack"
    if path.startswith("tests/packaging/"):
        return "packaging"
    return path


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> Any:
    """``--dist loadgroup`` by ``xdist_group`` above. (pytest-xdist 3.8's own loadgroup reads ``xdist_group``
    marks by renaming test ids, which pytest 9 no longer allows: every test became its own group.)"""
    if config.getvalue("dist") != "loadgroup":
        return None
    from xdist.scheduler import LoadScopeScheduling

    class TierScheduling(LoadScopeScheduling):  # type: ignore[misc]  # xdist is untyped
        def _split_scope(self, nodeid: str) -> str:
            return xdist_group(nodeid)

    return TierScheduling(config, log)


@pytest.fixture(autouse=True)
def _offline_aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """No test reaches a real AWS account or a developer's own endpoints by accident."""
    for name in list(os.environ):
        if name.startswith(("AWS_ENDPOINT_URL", "AWS_PROFILE", "REDIS_", "RATE_LIMIT_")):
            monkeypatch.delenv(name)
    for name, value in OFFLINE_AWS_ENV.items():
        monkeypatch.setenv(name, value)
    from chalicelib import composition

    composition.reset()
    yield
    composition.reset()


def load_script(name: str) -> ModuleType:
    """Import an extensionless operator script (``scripts/sweep``, ``scripts/validate-env``...) as a module."""
    import importlib.machinery
    import importlib.util
    import sys

    module_name = name.replace("-", "_")
    loader = importlib.machinery.SourceFileLoader(module_name, str(ROOT / "scripts" / name))
    spec = importlib.util.spec_from_loader(module_name, loader)
    assert spec is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module  # dataclasses look their module up while the file executes
    loader.exec_module(module)
    return module


def make_jpeg(
    width: int = 640, height: int = 480, *, quality: int = 85, color: tuple[int, int, int] = (200, 80, 40)
) -> bytes:
    """A real JPEG with some structure (a gradient), so encoders and decoders do real work."""
    image = Image.linear_gradient("L").resize((width, height)).convert("RGB")
    overlay = Image.new("RGB", (width, height), color)
    buffer = io.BytesIO()
    Image.blend(image, overlay, 0.5).save(buffer, "JPEG", quality=quality)
    return buffer.getvalue()


def unique_jpeg(width: int = 640, height: int = 480) -> bytes:
    """A JPEG whose pixels (and so every rendition) no other call makes: renditions are shared between identical
    uploads (ADR 0013), so a test that counts or removes one image's objects needs bytes nobody else has."""
    image = Image.linear_gradient("L").resize((width, height)).convert("RGB")
    noise = Image.frombytes("RGB", (32, 32), secrets.token_bytes(32 * 32 * 3))
    image.paste(noise.resize((max(width // 4, 1), max(height // 4, 1))), (0, 0))
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=85)
    return buffer.getvalue()


def make_png(width: int = 64, height: int = 48, *, mode: str = "RGBA") -> bytes:
    buffer = io.BytesIO()
    Image.new(mode, (width, height), (10, 200, 30, 128) if mode == "RGBA" else (10, 200, 30)).save(buffer, "PNG")
    return buffer.getvalue()


def make_png_bomb(width: int = 20_000, height: int = 20_000) -> bytes:
    """A small PNG whose header promises ``width`` x ``height`` 1-bit pixels (a decompression bomb)."""
    import struct
    import zlib

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    row = b"\x00" + b"\x00" * ((width + 7) // 8)
    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(row * height, 9))
        + chunk(b"IEND", b"")
    )


HOSTILE_FILES: dict[str, tuple[bytes, str]] = {
    # name: (bytes, the content type the uploader claims)
    "zero-bytes": (b"", "image/jpeg"),
    "truncated-jpeg": (make_jpeg(400, 300)[:2000], "image/jpeg"),
    "text-named-jpg": (b"just some text, honestly a jpeg\n" * 20, "image/jpeg"),
    "html-claiming-png": (b"<!doctype html><html><body><script>alert(1)</script></body></html>", "image/png"),
    "svg-claiming-png": (
        b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"></svg>',
        "image/png",
    ),
}


# --- the running stack (integration, browser and load tiers) ------------------------------------------


@pytest.fixture(scope="session")
def stack() -> Iterator[Stack]:
    """The whole product on free ports, once per session. If it cannot start, every test using it fails.

    ``CHITRAM_S3_SQS_ENDPOINT`` (set by ``make test-localstack``) puts S3 and SQS on LocalStack instead of moto.
    """
    from scripts.stack import Stack, StackConfig

    config = StackConfig.ephemeral(
        s3_sqs_endpoint=os.environ.get("CHITRAM_S3_SQS_ENDPOINT") or None,
        # Every test comes from 127.0.0.1 (chalice local reports no other address), so the per-address limits
        # are lifted here (0 = unlimited); the functional tier tests them with crafted source addresses
        # (tests/functional/test_rate_limits.py, test_auth_routes.py). Per-email login limits stay on.
        extra_env={
            "RATE_LIMIT_UPLOADS_PER_MINUTE": "0",
            "RATE_LIMIT_LOGIN_PER_IP": "0",
            "RATE_LIMIT_REGISTER_PER_IP": "0",
        },
    )
    running = Stack(config).start(timeout=90)
    try:
        yield running
    finally:
        running.stop()


@pytest.fixture
def api(stack: Stack) -> Api:
    from tests.http_api import Api

    dead = stack.check_alive()
    assert dead is None, f"{dead.name} died:\n{dead.tail()}" if dead else ""
    return Api(stack.api_url, operator_token=stack.config.operator_token)


@pytest.fixture
def aws_clients(stack: Stack, monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """boto3 clients pointed at the stack's emulators (to look behind the API: objects, records, queues)."""
    import boto3

    for name, value in stack.env().items():
        if name.startswith("AWS_"):
            monkeypatch.setenv(name, value)
    return {name: boto3.client(name, region_name="us-east-1") for name in ("s3", "sqs", "dynamodb")}
