"""Benchmark: three thumbnails (600/300/150) from a 12 MP and a 24 MP JPEG, three ways.

    .venv/bin/python scripts/bench/thumbnails.py

(a) naive Pillow: per size, a full decode then ``resize`` (three full decodes);
(b) ours: ``chalicelib.imaging.process`` itself, i.e. everything the processor does (structure walk, header
    check, one ``draft()`` decode, the 600 -> 300 -> 150 cascade, JPEG encodes, sha256, the served copy);
(c) pyvips ``thumbnail_buffer`` per size (shrink-on-load; needs libvips, e.g. Debian's ``libvips42``).

Every variant encodes its thumbnails as JPEG quality 85. Times are best-of-N after a warm-up, all in this
process, on the same bytes. Peak extra memory is measured per variant in a fresh subprocess (see ``_child``).
Always exits 0: it is a benchmark, not a test; the goals are printed next to the numbers, met or not.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

import PIL  # noqa: E402
from PIL import Image  # noqa: E402

from chalicelib import imaging  # noqa: E402

SIZES = imaging.THUMBNAIL_SIZES
IMAGES = {"12MP": (4000, 3000), "24MP": (6000, 4000)}
MAX_BYTES, MAX_PIXELS = 200 * 1024 * 1024, 100_000_000
GOAL_VS_NAIVE = 3.5  # ours at least this many times faster than naive
GOAL_VS_PYVIPS = 1.1  # ours/pyvips time at most this
GOAL_PEAK_MIB = 16.0  # extra peak memory of ours for 24 MP


def make_jpeg(size: tuple[int, int]) -> bytes:
    """Photo-like content: gaussian noise over gradients and shapes, so entropy decoding does real work."""
    w, h = size
    across = Image.linear_gradient("L").resize((h, w)).transpose(Image.Transpose.ROTATE_90)
    down = Image.linear_gradient("L").resize(size)
    noise = Image.effect_noise(size, 40)
    im = Image.merge("RGB", (across, down, noise))
    im = Image.blend(im, Image.merge("RGB", (noise, across, down)), 0.3)
    out = io.BytesIO()
    im.save(out, "JPEG", quality=90)
    return out.getvalue()


def naive(data: bytes) -> list[bytes]:
    out = []
    for size in SIZES:
        with Image.open(io.BytesIO(data)) as im:
            im.load()  # full-size decode, every time
            scale = size / max(im.size)
            thumb = im.resize((round(im.width * scale), round(im.height * scale)), Image.Resampling.LANCZOS)
        buf = io.BytesIO()
        thumb.save(buf, "JPEG", quality=85)
        out.append(buf.getvalue())
    return out


def ours(data: bytes) -> list[bytes]:
    result = imaging.process(data, max_bytes=MAX_BYTES, max_pixels=MAX_PIXELS)
    return [result.thumbnails[size].data for size in SIZES]


def pyvips_thumbs(data: bytes) -> list[bytes]:
    import pyvips

    return [pyvips.Image.thumbnail_buffer(data, size).write_to_buffer(".jpg[Q=85]") for size in SIZES]


VARIANTS: dict[str, Callable[[bytes], list[bytes]]] = {"naive": naive, "ours": ours, "pyvips": pyvips_thumbs}


def pyvips_available() -> str | None:
    """None if pyvips works, else why not."""
    try:
        import pyvips

        return None if pyvips.version(0) >= 8 else "libvips too old"
    except Exception as exc:  # a missing libvips shows up as OSError, ImportError, ...
        return f"{type(exc).__name__}: {exc}"


def best_of(fn: Callable[[bytes], list[bytes]], data: bytes, repeat: int) -> float:
    fn(data)  # warm-up: first-call costs (plugin registration, libvips start-up) are not what we compare
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn(data)
        times.append(time.perf_counter() - start)
    return min(times)


def _peak_rss_kib() -> int:
    """This process's resident-set high-water mark, in KiB.

    Linux's ``VmHWM`` belongs to the address space, which ``exec`` replaces, so it starts fresh in the child.
    ``ru_maxrss`` would not do: Linux carries the parent's high-water mark across ``exec`` (and the parent has
    just built 24 MP images), so the child's mark starts hundreds of MiB up and a variant's peak never shows.
    """
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # other OSes: only right from a small parent


def _child(variant: str, path: str) -> None:
    """Run one variant once in this fresh process and print its peak memory as JSON.

    The resident-set high-water mark includes Pillow's and libvips's C allocations
    (pixel buffers are malloc'd in C, invisible to tracemalloc). The delta between the mark taken just before
    the call (imports done, JPEG bytes already read) and just after is the extra peak this variant needed.
    tracemalloc is then run separately for the Python-heap peak, since tracing would distort the first
    measurement.
    """
    data = Path(path).read_bytes()
    fn = VARIANTS[variant]
    if variant == "pyvips":
        import pyvips  # noqa: F401 - load libvips before the baseline mark

    before = _peak_rss_kib()
    fn(data)
    after = _peak_rss_kib()
    tracemalloc.start()
    fn(data)
    _, py_peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    print(json.dumps({"rss_kib": after - before, "py_peak_bytes": py_peak}))


def peak_memory(variant: str, data: bytes) -> dict[str, float] | None:
    with tempfile.NamedTemporaryFile(suffix=".jpg") as tmp:
        tmp.write(data)
        tmp.flush()
        proc = subprocess.run(
            [sys.executable, __file__, "--child", variant, tmp.name],
            capture_output=True,
            text=True,
            check=False,
            timeout=300,
        )
    if proc.returncode != 0:
        print(f"  ! {variant} memory child failed: {proc.stderr.strip().splitlines()[-1:]}")
        return None
    raw = json.loads(proc.stdout.strip().splitlines()[-1])
    return {"rss_mib": raw["rss_kib"] / 1024, "py_mib": raw["py_peak_bytes"] / 2**20}


def verdict(ok: bool) -> str:
    return "goal met" if ok else "GOAL NOT MET"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=7, help="timed runs per variant (best is kept)")
    parser.add_argument("--child", nargs=2, metavar=("VARIANT", "PATH"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        _child(*args.child)
        return

    vips_problem = pyvips_available()
    variants = [v for v in VARIANTS if v != "pyvips" or vips_problem is None]
    print(f"Pillow {PIL.__version__}; python {sys.version.split()[0]}; {os.cpu_count()} CPUs; best of {args.repeat}")
    if vips_problem:
        print(f"pyvips unavailable ({vips_problem}); install libvips (Debian: apt-get install -y libvips42)")
    else:
        import pyvips

        print(f"libvips {pyvips.version(0)}.{pyvips.version(1)}.{pyvips.version(2)} (default thread pool)")
    print("ours = chalicelib.imaging.process() end to end (validation, draft decode, cascade, encodes, served copy)")

    for label, size in IMAGES.items():
        data = make_jpeg(size)
        print(f"\n{label} JPEG {size[0]}x{size[1]}, quality 90, {len(data) / 2**20:.1f} MiB; sizes {SIZES}")
        times = {v: best_of(VARIANTS[v], data, args.repeat) for v in variants}
        for v in variants:
            print(f"  {v:<7} {times[v] * 1000:8.1f} ms")
        vs_naive = times["naive"] / times["ours"]
        print(
            f"  ours vs naive:  {vs_naive:.2f}x faster"
            f"  (goal >= {GOAL_VS_NAIVE}x: {verdict(vs_naive >= GOAL_VS_NAIVE)})"
        )
        if "pyvips" in times:
            vs_vips = times["ours"] / times["pyvips"]
            print(f"  ours / pyvips:  {vs_vips:.2f}  (goal <= {GOAL_VS_PYVIPS}: {verdict(vs_vips <= GOAL_VS_PYVIPS)})")
        print("  peak extra memory, one run in a fresh process (RSS high-water delta; Python heap via tracemalloc):")
        for v in variants:
            mem = peak_memory(v, data)
            if mem is None:
                continue
            goal = ""
            if v == "ours" and label == "24MP":
                goal = f"  (goal <= {GOAL_PEAK_MIB:.0f} MiB RSS: {verdict(mem['rss_mib'] <= GOAL_PEAK_MIB)})"
            print(f"    {v:<7} RSS +{mem['rss_mib']:6.1f} MiB   Python heap peak {mem['py_mib']:6.1f} MiB{goal}")


if __name__ == "__main__":
    try:
        main()
    except Exception as exc:  # a benchmark reports and exits 0; it never fails a build
        print(f"benchmark error: {type(exc).__name__}: {exc}")
    sys.exit(0)
