"""A short, bounded atheris run of every fuzz target, and a replay of every saved crash.

The short run (``FUZZ_CI_SECONDS`` each, default 4) is the CI version; ``make fuzz`` runs the same targets for
longer. A target that finds a crash exits non-zero and leaves the input in ``build/fuzz/crashes/<target>/``.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.fuzz.targets import TARGETS

ROOT = Path(__file__).resolve().parents[2]
REGRESSIONS = Path(__file__).parent / "regressions"
SECONDS = int(os.environ.get("FUZZ_CI_SECONDS", "4"))

pytestmark = pytest.mark.fuzz


@pytest.mark.parametrize("target", sorted(TARGETS))
def test_fuzz_target_survives_a_short_atheris_run(target: str) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "tests.fuzz.run", target, f"--seconds={SECONDS}"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=SECONDS + 120,
        check=False,
    )
    tail = "\n".join(proc.stderr.splitlines()[-25:])
    assert proc.returncode == 0, f"fuzz target {target} crashed:\n{tail}"
    assert "stat::number_of_executed_units" in proc.stderr, tail


def test_saved_fuzz_crashes_no_longer_crash() -> None:
    replayed = 0
    for target, fn in sorted(TARGETS.items()):
        for path in sorted((REGRESSIONS / target).glob("*")):
            fn(path.read_bytes())
            replayed += 1
    assert replayed == sum(1 for p in REGRESSIONS.glob("*/*") if p.is_file())
