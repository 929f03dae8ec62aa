"""``make run``'s launcher: it serves, and Ctrl-C (or its own death) leaves no process behind."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from scripts.stack import ROOT, free_port

pytestmark = pytest.mark.integration


def port_open(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.2)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def wait_until(predicate: object, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():  # type: ignore[operator]
            return True
        time.sleep(0.1)
    return False


def command(ports: list[int], tmp_path: Path) -> list[str]:
    edge, api, web, moto, *redis = ports
    return [
        sys.executable,
        "scripts/stack.py",
        f"--port={edge}",
        f"--api-port={api}",
        f"--web-port={web}",
        f"--moto-port={moto}",
        f"--redis-ports={','.join(map(str, redis))}",
        f"--run-dir={tmp_path}",
    ]


def launch(tmp_path: Path) -> tuple[subprocess.Popen[str], list[int]]:
    ports = [free_port() for _ in range(7)]
    process = subprocess.Popen(
        command(ports, tmp_path),
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    assert process.stdout is not None
    deadline = time.monotonic() + 90
    for line in process.stdout:
        if "Chitram is up" in line:
            break
        assert time.monotonic() < deadline, "the stack did not come up"
    else:
        pytest.fail(f"the launcher exited with {process.wait()} before it was up")
    return process, ports


def test_run_serves_one_origin_and_ctrl_c_stops_every_part(tmp_path: Path) -> None:
    process, ports = launch(tmp_path)
    edge, api = ports[0], ports[1]
    assert requests.get(f"http://127.0.0.1:{api}/health", timeout=10).json()["status"] == "ok"
    # The one origin serves the site and, under /api, the API.
    assert requests.get(f"http://127.0.0.1:{edge}/", timeout=10).status_code == 200
    assert requests.get(f"http://127.0.0.1:{edge}/api/v1/images", timeout=10).json()["items"] == []
    process.send_signal(signal.SIGINT)
    output, _ = process.communicate(timeout=30)
    assert process.returncode == 0, output
    assert wait_until(lambda: not any(port_open(port) for port in ports), timeout=10), [
        port for port in ports if port_open(port)
    ]


def test_children_die_with_the_launcher_even_when_it_is_killed(tmp_path: Path) -> None:
    process, ports = launch(tmp_path)
    process.kill()  # SIGKILL: no chance to clean up; the kernel tells each child (PR_SET_PDEATHSIG)
    process.communicate(timeout=30)
    assert wait_until(lambda: not any(port_open(port) for port in ports), timeout=15), [
        port for port in ports if port_open(port)
    ]


@pytest.mark.parametrize("which", [0, 3, 4])  # the edge, moto, a redis node
def test_a_taken_port_is_named_before_anything_starts(tmp_path: Path, which: int) -> None:
    ports = [free_port() for _ in range(7)]
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", ports[which]))
        squatter.listen()
        result = subprocess.run(
            command(ports, tmp_path), cwd=ROOT, capture_output=True, text=True, timeout=60, check=False
        )
    output = result.stdout + result.stderr
    assert result.returncode == 2, output
    assert f"port {ports[which]} " in output
    assert "choose another with" in output
    assert "Chitram is up" not in output
    assert "Traceback" not in output
    assert not (tmp_path / "moto.log").exists(), "nothing was started"
