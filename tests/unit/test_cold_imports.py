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


def test_pillow_heif_comes_with_the_first_heic_only() -> None:
    jpeg = (ROOT / "tests" / "fixtures" / "jolla.jpg").as_posix()
    heic = (ROOT / "tests" / "fixtures" / "IMG_5195.HEIC").as_posix()
    process = "imaging.process(open({!r}, 'rb').read(), max_bytes=2**26, max_pixels=10**8)"
    after_jpeg = top_level_modules_after("from chalicelib import imaging\n" + process.format(jpeg))
    assert "pillow_heif" not in after_jpeg
    after_heic = top_level_modules_after("from chalicelib import imaging\n" + process.format(heic))
    assert "pillow_heif" in after_heic
