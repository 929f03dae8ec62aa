"""Run one command beside a private LocalStack (S3 + SQS), then stop LocalStack whatever happens.

Starts LocalStack in host mode from ``.venv-localstack`` (made by ``scripts/localstack/install.sh``) on a free
loopback port, with its state in a temporary directory, waits until S3 and SQS answer, runs the command with
``CHITRAM_S3_SQS_ENDPOINT`` pointing at it (the integration tier's ``stack`` fixture then puts S3 and SQS there and
keeps DynamoDB on moto), stops LocalStack and its process group, and exits with the command's exit code.

    scripts/localstack/run.sh [--port N] [--log FILE] [--] COMMAND [ARG ...]
    scripts/localstack/run.sh .venv/bin/pytest -m "integration or localstack" tests/integration
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import FrameType

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from scripts.processes import die_with_parent  # noqa: E402
from scripts.stack import HOST, free_port  # noqa: E402

log = logging.getLogger("localstack")

DEFAULT_VENV = ROOT / ".venv-localstack"
DEFAULT_LOG = ROOT / ".run" / "localstack.log"  # kept after the run, for a failure's post-mortem
ENDPOINT_VARIABLE = "CHITRAM_S3_SQS_ENDPOINT"
SERVICES = ("s3", "sqs")
READY_TIMEOUT_SECONDS = 90.0
# LocalStack's own shutdown takes ~10 s; its state is a throwaway temp dir, so do not wait much longer.
STOP_GRACE_SECONDS = 15.0


def localstack_env(port: int, state_dir: Path, base: Mapping[str, str]) -> dict[str, str]:
    """The environment LocalStack runs with: S3 + SQS only, signatures checked, offline and quiet."""
    # Nothing of the caller's AWS set-up or Python path may leak into LocalStack's own interpreter.
    env = {
        k: v
        for k, v in base.items()
        if not k.startswith(("AWS_", "PYTHON", "VIRTUAL_ENV", "LOCALSTACK_", ENDPOINT_VARIABLE))
    }
    env.update(
        {
            "GATEWAY_LISTEN": f"{HOST}:{port}",
            "LOCALSTACK_HOST": f"{HOST}:{port}",  # the host in the URLs it hands out (queue URLs)
            "SERVICES": ",".join(SERVICES),
            "EAGER_SERVICE_LOADING": "1",  # load S3 and SQS before "ready", not on the first request of a test
            "S3_SKIP_SIGNATURE_VALIDATION": "0",  # check presigned GET signatures and expiry, as S3 does
            "DNS_ADDRESS": "0",  # no DNS server (it would want port 53)
            "DISABLE_EVENTS": "1",  # no analytics calls home
            "SKIP_SSL_CERT_DOWNLOAD": "1",  # plain HTTP on loopback; there is nothing to download offline
            "SKIP_INFRA_DOWNLOADS": "1",
            "FILESYSTEM_ROOT": str(state_dir),  # private state, not the shared venv's .filesystem
            "PERSISTENCE": "0",
        }
    )
    return env


def wait_ready(endpoint: str, process: subprocess.Popen[bytes], log_path: Path, timeout: float) -> None:
    """Until ``/_localstack/health`` reports S3 and SQS up; raises if LocalStack exits or takes too long."""
    deadline = time.monotonic() + timeout
    states: dict[str, str] = {}
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"LocalStack exited with {process.returncode}:\n{tail(log_path)}")
        try:
            with urllib.request.urlopen(f"{endpoint}/_localstack/health", timeout=2) as response:
                states = json.load(response).get("services", {})
        except (urllib.error.URLError, OSError, ValueError):
            states = {}
        if all(states.get(name) in {"running", "available"} for name in SERVICES):
            return
        time.sleep(0.25)
    raise TimeoutError(f"LocalStack not ready within {timeout:.0f}s (services: {states}):\n{tail(log_path)}")


def tail(path: Path, lines: int = 40) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


def stop_group(process: subprocess.Popen[bytes], grace: float = STOP_GRACE_SECONDS) -> None:
    """SIGTERM the process group, SIGKILL it if it lingers: nothing LocalStack started survives."""
    if process.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(grace)
        except subprocess.TimeoutExpired:
            log.warning("LocalStack ignored SIGTERM for %.0fs; killing it", grace)
    # The leader may be gone while helpers it started in its group are not.
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signal.SIGKILL)
    process.wait()


def run(command: Sequence[str], *, venv: Path, port: int, log_path: Path) -> int:
    python = venv / "bin" / "python"
    if not python.exists():
        log.error("%s not found: run scripts/localstack/install.sh (make localstack-install) first", python)
        return 2
    state_dir = Path(tempfile.mkdtemp(prefix="chitram-localstack-"))
    log_path.parent.mkdir(parents=True, exist_ok=True)
    endpoint = f"http://{HOST}:{port}"
    child: subprocess.Popen[bytes] | None = None
    stopping: list[int] = []

    def forward(signum: int, _frame: FrameType | None) -> None:
        # Ctrl-C already reaches the command (the terminal signals our whole process group; a second SIGINT
        # would cut pytest's teardown short), but a SIGTERM (CI's timeout, kill) reaches only us.
        stopping.append(signum)
        if signum == signal.SIGTERM and child is not None and child.poll() is None:
            child.send_signal(signum)

    previous = {sig: signal.signal(sig, forward) for sig in (signal.SIGTERM, signal.SIGINT)}
    with log_path.open("wb") as log_file:
        localstack = subprocess.Popen(
            [str(python), "-m", "localstack.runtime.main"],
            cwd=state_dir,
            env=localstack_env(port, state_dir, os.environ),
            stdin=subprocess.DEVNULL,
            stdout=log_file,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            preexec_fn=die_with_parent,
        )
    try:
        started = time.monotonic()
        wait_ready(endpoint, localstack, log_path, READY_TIMEOUT_SECONDS)
        log.info("LocalStack ready at %s in %.1fs (log: %s)", endpoint, time.monotonic() - started, log_path)
        if stopping:
            return 128 + stopping[0]
        # Same process group as us, so Ctrl-C reaches it; dies with us if we are SIGKILLed.
        child = subprocess.Popen(command, env={**os.environ, ENDPOINT_VARIABLE: endpoint}, preexec_fn=die_with_parent)
        code = child.wait()
        if localstack.poll() is not None:
            log.error("LocalStack died during the run (exit %s):\n%s", localstack.returncode, tail(log_path))
            code = code or 1
        elif code != 0:
            log.info("command failed (exit %s); LocalStack log: %s", code, log_path)
        return code if code >= 0 else 128 - code
    except (RuntimeError, TimeoutError, OSError) as exc:
        log.error("%s", exc)
        return 1
    finally:
        stop_group(localstack)
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        shutil.rmtree(state_dir, ignore_errors=True)  # throwaway state; the log is kept


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--port", type=int, default=0, help="LocalStack's gateway port (default: a free one)")
    parser.add_argument("--venv", type=Path, default=Path(os.environ.get("LOCALSTACK_VENV", DEFAULT_VENV)))
    parser.add_argument("--log", type=Path, default=DEFAULT_LOG, help="LocalStack's log (default: %(default)s)")
    parser.add_argument("command", nargs=argparse.REMAINDER, help="the command to run (after an optional --)")
    args = parser.parse_args(argv)
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    if not command:
        parser.error("no command given")
    logging.basicConfig(level=logging.INFO, format="localstack-run: %(message)s")
    return run(command, venv=args.venv, port=args.port or free_port(), log_path=args.log)


if __name__ == "__main__":
    sys.exit(main())
