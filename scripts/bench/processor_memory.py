"""Benchmark: the processor's peak memory for one upload, 12 MP (baseline) to 48 MP, to size its Lambda memory.

    .venv/bin/python scripts/bench/processor_memory.py

Each case runs in a fresh subprocess that imports the processor's modules, reads the upload's bytes (as the
processor holds them after ``storage.read``) and runs ``chalicelib.imaging.process`` on them (the one decode,
thumbnails, the served copy, a display rendition where the format gets one). Reported: the process's RSS
high-water mark (``VmHWM``) after imports, and after processing; ratios are against the 12 MP JPEG baseline of the
same run. Inputs are made in memory from a camera fixture (tests/fixtures/Canon_40D.jpg) scaled up, with noise
so the JPEGs weigh what camera files of that size weigh. Always exits 0: a benchmark, not a test.
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

CASES = {
    # name: (width, height, format)
    "12MP JPEG": (4000, 3000, "JPEG"),
    "24MP JPEG": (6000, 4000, "JPEG"),
    "48MP JPEG": (8000, 6000, "JPEG"),
    "40 MiB JPEG (13 MP, noisy)": (0, 0, "JPEG-40MiB"),  # the acceptance test's file: size, not pixels
    "48MP PNG": (8000, 6000, "PNG"),  # no draft(): a full decode, the worst case the pixel limit allows
    "iPhone HEIC (8.5 MP)": (0, 0, "HEIF"),
}


def _vm_hwm_mib() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def make_input(width: int, height: int, fmt: str) -> bytes:
    from PIL import Image

    if fmt == "HEIF":
        return (ROOT / "tests" / "fixtures" / "IMG_5195.HEIC").read_bytes()
    if fmt == "JPEG-40MiB":
        from tests.large_files import MIB, make_large_jpeg

        return make_large_jpeg(40 * MIB)
    with Image.open(ROOT / "tests" / "fixtures" / "Canon_40D.jpg") as photo:
        scaled = photo.convert("RGB").resize((width, height), Image.Resampling.BILINEAR)
    if fmt == "JPEG":
        noise = Image.effect_noise((width, height), 24).convert("RGB")
        scaled = Image.blend(scaled, noise, 0.15)
    out = io.BytesIO()
    scaled.save(out, fmt, **({"quality": 92} if fmt == "JPEG" else {"compress_level": 1}))
    return out.getvalue()


def child(path: str) -> None:
    """In a fresh process: import, read, process; print the high-water marks as JSON."""
    from chalicelib import imaging

    data = Path(path).read_bytes()
    imports = _vm_hwm_mib()
    processed = imaging.process(data, max_bytes=5 * 1024**3, max_pixels=50_000_000)
    print(
        json.dumps(
            {
                "imports_mib": round(imports, 1),
                "peak_mib": round(_vm_hwm_mib(), 1),
                "file_mib": round(len(data) / 1024**2, 1),
                "size": [processed.width, processed.height],
                "display": processed.display is not None,
            }
        )
    )


def main() -> None:
    import tempfile

    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        for name, (width, height, fmt) in CASES.items():
            path = Path(tmp) / "input"
            path.write_bytes(make_input(width, height, fmt))
            out = subprocess.run(
                [sys.executable, __file__, "--child", str(path)],
                capture_output=True,
                text=True,
                check=True,
                env={**os.environ, "PYTHONPATH": str(ROOT)},
            )
            results[name] = json.loads(out.stdout.strip().splitlines()[-1])
    base = results["12MP JPEG"]
    base_extra = base["peak_mib"] - base["imports_mib"]
    print("| Case | file | RSS after imports and the read | peak RSS | extra for processing | extra vs 12 MP |")
    print("| --- | --- | --- | --- | --- | --- |")
    for name, r in results.items():
        extra = r["peak_mib"] - r["imports_mib"]
        print(
            f"| {name} | {r['file_mib']} MiB | {r['imports_mib']} MiB | {r['peak_mib']} MiB | +{extra:.1f} MiB "
            f"| {extra / base_extra:.2f}x |"
        )


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--child":
        child(sys.argv[2])
    else:
        main()
