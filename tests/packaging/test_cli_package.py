"""The CLI installs with ``pip install ./cli``: a wheel with the ``chitram`` console script and its two dependencies."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

from tests.conftest import ROOT


def test_cli_builds_a_wheel_with_the_chitram_console_script(tmp_path: Path) -> None:
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(tmp_path), "./cli"],
        cwd=ROOT,
        check=True,
        capture_output=True,
    )
    (wheel,) = tmp_path.glob("chitram_cli-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        info = next(name for name in names if name.endswith(".dist-info/METADATA"))
        metadata = archive.read(info).decode()
        entry_points = archive.read(info.replace("METADATA", "entry_points.txt")).decode()
    assert {f"chitram_cli/{module}.py" for module in ("main", "api", "upload", "multipart", "sharex")} <= names
    assert "chitram = chitram_cli.main:main" in entry_points
    requires = {
        line.split(":", 1)[1].strip().split(">")[0].split("<")[0]
        for line in metadata.splitlines()
        if line.startswith("Requires-Dist:")
    }
    assert requires == {"httpx", "rich"}
