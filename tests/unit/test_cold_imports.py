"""Cold start: the API function's import loads no library only some requests need (measured in
scripts/bench/cold_start.py; this guards the laziness, not a time)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def top_level_modules_after(code: str) -> set[str]:
    probe = f"{code}\nimport sys, json\nprint(json.dumps(sorted({{m.split('.')[0] for m in sys.modules}})))"
    out = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, check=True, capture_output=True, text=True)
    return set(json.loads(out.stdout.strip().splitlines()[-1]))


def test_importing_the_app_loads_neither_pillow_nor_pyjwt_nor_the_multipart_parser() -> None:
    loaded = top_level_modules_after("import app")
    assert not loaded & {"PIL", "pillow_heif", "jwt", "python_multipart"}


def test_the_imaging_package_is_what_brings_pillow() -> None:
    assert "PIL" in top_level_modules_after("import app; from chalicelib import imaging")
