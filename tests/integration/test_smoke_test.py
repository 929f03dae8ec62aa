"""scripts/smoke-test passes against the running stack and fails with a clear message when it cannot."""

from __future__ import annotations

import subprocess
import sys

import pytest

from scripts.stack import Stack, free_port
from tests.conftest import ROOT

pytestmark = pytest.mark.integration

SMOKE_TEST = str(ROOT / "scripts" / "smoke-test")


def test_smoke_test_passes_against_the_running_stack(stack: Stack) -> None:
    result = subprocess.run(
        [sys.executable, SMOKE_TEST, stack.api_url, "--timeout", "60"],
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "smoke-test passed" in result.stderr
    for step in ("health", "upload-url", "presigned POST", "processed: ready", "file", "thumbnail", "delete"):
        assert f"ok  {step}" in result.stderr


def test_smoke_test_fails_clearly_when_the_api_is_unreachable() -> None:
    result = subprocess.run(
        [sys.executable, SMOKE_TEST, f"http://127.0.0.1:{free_port()}"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 1
    assert "smoke-test FAILED at health: cannot reach" in result.stderr
