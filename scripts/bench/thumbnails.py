"""Benchmark: thumbnails (600/300/150) + served copy + SHA-256 on real camera files, ours against four baselines.

    .venv/bin/python scripts/bench/thumbnails.py                 # print the tables
    .venv/bin/python scripts/bench/thumbnails.py --write-docs    # and rewrite our section of docs/benchmarks.md

Variants, all in this process, on the same bytes, interleaved pass by pass (so a noisy spell on this shared
machine hits every variant alike), median of ``--repeat`` passes after a warm-up:

- ``ours`` — ``chalicelib.imaging.process()`` end to end: sniff, structure checks, header pixel bound, one decode
  (``draft()`` for JPEG), the 600 -> 300 -> 150 cascade, EXIF orientation, encodes, the served copy with
  location metadata removed, SHA-256;
- ``naive`` — per size a full Pillow decode + ``resize(LANCZOS)`` (three full decodes);
- ``pillow-cascade`` — one Pillow decode with ``draft()``, then 600 -> 300 -> 150 with ``reducing_gap=2``;
- ``vips-thumbnail`` — pyvips ``thumbnail_buffer`` per size (shrink-on-load for each);
- ``vips-cascade`` — pyvips ``thumbnail_buffer`` to 600, then ``thumbnail_image`` 300 and 150 from it;
- ``ours+companions`` — ``ours`` plus the AVIF/WebP companion of each thumbnail (``catalog.THUMBNAIL_COMPANIONS``),
  as the processor runs it; reported beside the goal, which is about the work the baselines do too;
- ``ours-before`` / ``ours-sequential`` — ours with the speed-ups undone (``scripts/bench/before.py``): the
  per-marker scan walk and the served copy after the decode / only the latter. They give each speed-up's
  before/after ratio in the same run.

Every variant writes its thumbnails as JPEG quality 85, upright (EXIF orientation applied), and hashes the input
with SHA-256. The baselines make no served copy and validate nothing, so ratios against them are conservative.
libvips' operation cache is switched off (else repeated runs on the same buffer would be answered from it);
its thread pool is the default. Peak memory: one run per variant in a fresh subprocess (``VmHWM`` delta).
Always exits 0: it is a benchmark, not a test; the goals are printed next to the numbers, met or not.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import PIL  # noqa: E402
from PIL import Image  # noqa: E402

from chalicelib import catalog, imaging  # noqa: E402
from chalicelib.errors import InvalidImage  # noqa: E402
from scripts.bench import inputs  # noqa: E402

SIZES: tuple[int, ...] = tuple(imaging.THUMBNAIL_SIZES)
MAX_BYTES, MAX_PIXELS = 200 * 1024 * 1024, 100_000_000
QUALITY = 85

# Issue 13's goals.
GOAL_VS_VIPS = 1.0  # ours / min(vips-thumbnail, vips-cascade) at most this
GOAL_VS_NAIVE = 7.0  # naive / ours at least this
GOAL_RSS_MIB = 16.0  # extra peak RSS of ours at 24 MP above the decoded working set
REAL_FILES = ("jolla", "iphone", "iphone-rst4", "24MP", "48MP")  # the goals are judged on these

_ORIENT = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}


class Unsupported(Exception):
    """This variant cannot process this input (reported as such, not timed)."""


def _load_pillow_heif() -> bool:
    """Register pillow-heif's opener; it must load before libvips.

    With Debian's libvips (which links the system libheif) already loaded, pillow-heif 1.8.1 segfaults in
    ``HeifFile.__init__`` on the first HEIC; loaded first, both work side by side.
    """
    try:
        import pillow_heif  # type: ignore[import-not-found,unused-ignore]
    except ImportError:
        return False
    pillow_heif.register_heif_opener()
    return True


HAVE_PILLOW_HEIF = _load_pillow_heif()


def _heif_opener() -> None:
    if not HAVE_PILLOW_HEIF:
        raise Unsupported("pillow-heif not installed")


def _fit(size: tuple[int, int], longest: int) -> tuple[int, int]:
    w, h = size
    if max(w, h) <= longest:
        return size
    if w >= h:
        return longest, max(1, round(h * longest / w))
    return max(1, round(w * longest / h)), longest


def _jpeg(im: Image.Image) -> bytes:
    out = io.BytesIO()
    im.convert("RGB").save(out, "JPEG", quality=QUALITY)
    return out.getvalue()


def _open(data: bytes) -> Image.Image:
    if data[4:8] == b"ftyp":
        _heif_opener()
    return Image.open(io.BytesIO(data))


def _orientation(im: Image.Image) -> int:
    value = im.getexif().get(0x0112, 1)
    return value if isinstance(value, int) else 1


def naive(data: bytes) -> list[bytes]:
    out = []
    for size in SIZES:
        with _open(data) as im:
            im.load()  # a full-size decode, every time
            orientation = _orientation(im)
            thumb = im.resize(_fit(im.size, size), Image.Resampling.LANCZOS)
        if orientation in _ORIENT:
            thumb = thumb.transpose(_ORIENT[orientation])
        out.append(_jpeg(thumb))
    hashlib.sha256(data).hexdigest()
    return out


def pillow_cascade(data: bytes) -> list[bytes]:
    out = []
    with _open(data) as im:
        stored = im.size
        if im.format == "JPEG":
            im.draft("RGB", _fit(stored, max(SIZES)))
        im.load()
        orientation = _orientation(im)
        current: Image.Image = im if im.mode == "RGB" else im.convert("RGB")
        for size in sorted(SIZES, reverse=True):
            target = _fit(stored, size)
            if current.size != target:
                current = current.resize(target, Image.Resampling.LANCZOS, reducing_gap=2.0)
            upright = current.transpose(_ORIENT[orientation]) if orientation in _ORIENT else current
            out.append(_jpeg(upright))
    hashlib.sha256(data).hexdigest()
    return out


def vips_thumbnail(data: bytes) -> list[bytes]:
    import pyvips

    out = [pyvips.Image.thumbnail_buffer(data, size).write_to_buffer(f".jpg[Q={QUALITY}]") for size in SIZES]
    hashlib.sha256(data).hexdigest()
    return out


def vips_cascade(data: bytes) -> list[bytes]:
    import pyvips

    first = pyvips.Image.thumbnail_buffer(data, max(SIZES)).copy_memory()
    out = [first.write_to_buffer(f".jpg[Q={QUALITY}]")]
    for size in sorted(SIZES, reverse=True)[1:]:
        out.append(first.thumbnail_image(size).write_to_buffer(f".jpg[Q={QUALITY}]"))
    hashlib.sha256(data).hexdigest()
    return out


def ours(data: bytes) -> list[bytes]:
    # The goal's work (three thumbnails + served copy + SHA-256), like the baselines: no companion encodings.
    return _ours(data, companions=())


def ours_with_companions(data: bytes) -> list[bytes]:
    """What the processor does in production: ``ours`` plus the catalog's AVIF/WebP companion of each size."""
    return _ours(data, companions=None)


def _ours(data: bytes, *, companions: tuple[catalog.Companion, ...] | None) -> list[bytes]:
    try:
        result = imaging.process(data, max_bytes=MAX_BYTES, max_pixels=MAX_PIXELS, companions=companions)
    except InvalidImage as exc:
        raise Unsupported(f"refused: {exc.reason}") from exc
    _ = result.served.data, result.sha256
    return [result.thumbnails[size].data for size in SIZES]


def ours_before(data: bytes) -> list[bytes]:
    """Ours with the pre-change scan walk (a Python step per marker) and the served copy after the decode."""
    from scripts.bench import before

    with before.patched():
        return ours(data)


def ours_sequential(data: bytes) -> list[bytes]:
    """Ours with the new walk but the served copy made after the decode (isolates the thread's share)."""
    from scripts.bench import before

    with before.patched(walk=False):
        return ours(data)


VARIANTS: dict[str, Callable[[bytes], list[bytes]]] = {
    "ours": ours,
    "ours+companions": ours_with_companions,
    "ours-before": ours_before,
    "ours-sequential": ours_sequential,
    "naive": naive,
    "pillow-cascade": pillow_cascade,
    "vips-thumbnail": vips_thumbnail,
    "vips-cascade": vips_cascade,
}
VIPS_VARIANTS = ("vips-thumbnail", "vips-cascade")


def pyvips_problem() -> str | None:
    """None if pyvips works, else why not."""
    try:
        import pyvips

        pyvips.cache_set_max(0)
        return None if pyvips.version(0) >= 8 else "libvips too old"
    except Exception as exc:  # a missing libvips shows up as OSError, ImportError, ...
        return f"{type(exc).__name__}: {exc}"


@dataclass
class InputResult:
    name: str
    description: str
    mib: float
    restart_markers: int
    times_ms: dict[str, float] = field(default_factory=dict)
    cpu_ms: dict[str, float] = field(default_factory=dict)  # process CPU time, all threads (libvips uses several)
    unsupported: dict[str, str] = field(default_factory=dict)

    def ratio_vs_vips(self, cpu: bool = False) -> float | None:
        times = self.cpu_ms if cpu else self.times_ms
        vips = [times[v] for v in VIPS_VARIANTS if v in times]
        return times["ours"] / min(vips) if vips and "ours" in times else None

    def speedup(self, baseline: str = "ours-before", cpu: bool = False) -> float | None:
        """How many times faster ours is than ``baseline`` (the pipeline before the change)."""
        times = self.cpu_ms if cpu else self.times_ms
        return times[baseline] / times["ours"] if {"ours", baseline} <= times.keys() else None

    def ratio_vs_naive(self) -> float | None:
        return self.times_ms["naive"] / self.times_ms["ours"] if {"ours", "naive"} <= self.times_ms.keys() else None


def measure(item: inputs.BenchInput, variants: list[str], repeat: int) -> InputResult:
    markers = inputs.restart_markers(item.data) if item.data.startswith(b"\xff\xd8") else 0
    result = InputResult(item.name, item.description, item.mib, markers)
    live = []
    for v in variants:  # warm-up, and find out which variants can do this input at all
        try:
            VARIANTS[v](item.data)
            live.append(v)
        except Unsupported as exc:
            result.unsupported[v] = str(exc)
    samples: dict[str, list[float]] = {v: [] for v in live}
    cpu: dict[str, list[float]] = {v: [] for v in live}
    for i in range(repeat):
        order = live[i % len(live) :] + live[: i % len(live)] if live else []  # rotate who goes first
        for v in order:
            start, start_cpu = time.perf_counter(), time.process_time()
            VARIANTS[v](item.data)
            samples[v].append(time.perf_counter() - start)
            cpu[v].append(time.process_time() - start_cpu)
    result.times_ms = {v: statistics.median(s) * 1000 for v, s in samples.items()}
    result.cpu_ms = {v: statistics.median(s) * 1000 for v, s in cpu.items()}
    return result


# --- peak memory, one variant per fresh process --------------------------------------------------------


def _peak_rss_kib() -> int:
    """This process's resident-set high-water mark (``VmHWM``), in KiB.

    ``VmHWM`` belongs to the address space, which ``exec`` replaces, so it starts fresh in the child;
    ``ru_maxrss`` would carry the parent's mark across ``exec``.
    """
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    raise RuntimeError("no VmHWM in /proc/self/status")


def _child(variant: str, path: str) -> None:
    data = Path(path).read_bytes()
    fn = VARIANTS[variant]
    if pyvips_problem() is None:  # libvips loaded before the mark in every variant alike
        import pyvips

        pyvips.Image.black(1, 1).avg()  # start libvips' thread pool and type system
    Image.init()  # Pillow's plugins too

    before = _peak_rss_kib()
    fn(data)
    after = _peak_rss_kib()
    print(json.dumps({"rss_kib": after - before}))


def peak_rss_mib(variant: str, data: bytes) -> float | None:
    with tempfile.NamedTemporaryFile(suffix=".img") as tmp:
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
        return None
    return float(json.loads(proc.stdout.strip().splitlines()[-1])["rss_kib"]) / 1024


def working_set_mib(data: bytes) -> float:
    """The decoded thumbnail working set: the one image ``draft()`` decodes (3 bytes a pixel) plus the 600 px one."""
    with Image.open(io.BytesIO(data)) as im:
        stored = im.size
        im.draft("RGB", _fit(stored, max(SIZES)))
        decoded = im.size
    big = _fit(stored, max(SIZES))
    return (decoded[0] * decoded[1] + big[0] * big[1]) * 3 / 2**20


# --- reporting ----------------------------------------------------------------------------------------------


def environment() -> dict[str, Any]:
    env: dict[str, Any] = {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "python": sys.version.split()[0],
        "pillow": PIL.__version__,
        "cpus": os.cpu_count(),
        "load": os.getloadavg()[0],
    }
    try:
        import pyvips

        env["libvips"] = f"{pyvips.version(0)}.{pyvips.version(1)}.{pyvips.version(2)}"
    except Exception:
        env["libvips"] = None
    return env


# Why a goal line can miss, by its name's prefix (``make bench-quick`` says why and what would close it).
MISSED_BECAUSE = {
    "speedup_vs_before": (
        "the speed-ups save a few ms on this file (the scan walk; the served copy made beside the decode saves wall"
        " time, not CPU), within the noise of a 3-pass run; `scripts/bench/thumbnails.py` (9 passes) measures it"
        " closer"
    ),
    "thumbnails_vs": "a short run on a shared machine; `scripts/bench/thumbnails.py` (9 passes) measures it closer",
    "thumbnails_rss": "peak memory above the decoded working set; `scripts/bench/processor_memory.py` shows where",
}


def verdict(ok: bool, name: str = "") -> str:
    """``met``, or ``missed: why`` for a goal line called ``name``."""
    if ok:
        return "met"
    because = next((why for prefix, why in MISSED_BECAUSE.items() if name.startswith(prefix)), "")
    return f"missed: {because}" if because else "missed"


def print_table(results: list[InputResult], variants: list[str]) -> None:
    header = f"{'input':<12} {'MiB':>5} {'RST':>6} " + " ".join(f"{v:>15}" for v in variants)
    print(header + f" {'ours/vips':>10} {'naive/ours':>11} {'before/ours':>12}")
    for r in results:
        cells = []
        for v in variants:
            cells.append(f"{r.times_ms[v]:>12.1f} ms" if v in r.times_ms else f"{'n/a':>15}")
        vv, vn = r.ratio_vs_vips(), r.ratio_vs_naive()
        print(
            f"{r.name:<12} {r.mib:>5.2f} {r.restart_markers:>6} "
            + " ".join(cells)
            + (f" {vv:>10.2f}" if vv is not None else f" {'-':>10}")
            + (f" {vn:>10.1f}x" if vn is not None else f" {'-':>11}")
            + (f" {sp:>11.2f}x" if (sp := r.speedup()) is not None else f" {'-':>12}")
        )
        for v, why in r.unsupported.items():
            print(f"{'':<12} {v}: {why}")


def run(
    names: tuple[str, ...] | None,
    repeat: int,
    memory_for: tuple[str, ...],
    memory_variants: tuple[str, ...] | None = None,
    only: tuple[str, ...] | None = None,
) -> dict[str, Any]:
    problem = pyvips_problem()
    variants = [v for v in VARIANTS if (problem is None or v not in VIPS_VARIANTS) and (not only or v in only)]
    items = inputs.load(names)
    results = [measure(item, variants, repeat) for item in items]
    memory: dict[str, dict[str, float | None]] = {}
    working: dict[str, float] = {}
    for item in items:
        if item.name in memory_for:
            memory[item.name] = {v: peak_rss_mib(v, item.data) for v in variants if v in (memory_variants or variants)}
            working[item.name] = working_set_mib(item.data)
    return {
        "env": environment(),
        "vips_problem": problem,
        "repeat": repeat,
        "variants": variants,
        "results": results,
        "memory": memory,
        "working_set": working,
    }


def reported_lines(report: dict[str, Any]) -> list[str]:
    """One line per input the goals are not judged on (HEIC, PNG): ours and the baselines, reported only."""
    lines = []
    for r in report["results"]:
        if r.name in REAL_FILES or "ours" not in r.times_ms:
            continue
        others = [f"{v} {r.times_ms[v]:.0f}ms" for v in r.times_ms if v != "ours"]
        others += [f"{v}: {why}" for v, why in r.unsupported.items()]
        vips = r.ratio_vs_vips()
        ratio = f", ours/pyvips {vips:.2f}x" if vips is not None else ""
        lines.append(f"thumbnails_reported[{r.name}] ours {r.times_ms['ours']:.0f}ms ({'; '.join(others)}){ratio}")
    return lines


def goal_lines(report: dict[str, Any]) -> list[tuple[str, str, str, bool]]:
    """``(name, value, goal, met)`` for each issue-13 thumbnail goal, judged on the real files measured."""
    results: list[InputResult] = [r for r in report["results"] if r.name in REAL_FILES]
    lines: list[tuple[str, str, str, bool]] = []
    if report["vips_problem"]:
        lines.append(("thumbnails_vs_pyvips", "not measured", f"<= {GOAL_VS_VIPS}x", False))
    for r in results:
        vv, vc, vn = r.ratio_vs_vips(), r.ratio_vs_vips(cpu=True), r.ratio_vs_naive()
        if vv is not None:
            lines.append((f"thumbnails_vs_pyvips[{r.name}]", f"{vv:.2f}x", f"<= {GOAL_VS_VIPS}x", vv <= GOAL_VS_VIPS))
        if vc is not None:
            lines.append(
                (f"thumbnails_vs_pyvips_cpu[{r.name}]", f"{vc:.2f}x", f"<= {GOAL_VS_VIPS}x", vc <= GOAL_VS_VIPS)
            )
        if vn is not None:
            lines.append((f"thumbnails_vs_naive[{r.name}]", f"{vn:.1f}x", f">= {GOAL_VS_NAIVE}x", vn >= GOAL_VS_NAIVE))
        if (sp := r.speedup()) is not None:
            lines.append((f"speedup_vs_before[{r.name}]", f"{sp:.2f}x", "> 1.0x (before/after, same run)", sp > 1.0))
        if (sc := r.speedup(cpu=True)) is not None:
            lines.append((f"speedup_vs_before_cpu[{r.name}]", f"{sc:.2f}x", "> 1.0x (CPU time)", sc > 1.0))
    if "24MP" not in report["memory"]:  # not asked of this run
        return lines
    mem = report["memory"]["24MP"].get("ours")
    if mem is None:
        lines.append(("thumbnails_rss_24mp", "not measured", f"<= {GOAL_RSS_MIB} MiB", False))
    else:
        extra = max(0.0, mem - report["working_set"]["24MP"])
        lines.append(("thumbnails_rss_24mp_extra", f"{extra:.1f}MiB", f"<= {GOAL_RSS_MIB}MiB", extra <= GOAL_RSS_MIB))
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=9, help="timed passes per variant (the median is kept)")
    parser.add_argument("--inputs", nargs="*", help="a subset of inputs (default: all)")
    parser.add_argument("--write-docs", action="store_true", help="rewrite our section of docs/benchmarks.md")
    parser.add_argument("--child", nargs=2, metavar=("VARIANT", "PATH"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        _child(*args.child)
        return
    report = run(tuple(args.inputs) if args.inputs else None, args.repeat, ("24MP", "48MP"))
    env = report["env"]
    print(
        f"Pillow {env['pillow']}; libvips {env['libvips']}; python {env['python']}; {env['cpus']} CPUs; "
        f"load {env['load']:.1f}; median of {report['repeat']}"
    )
    if report["vips_problem"]:
        print(f"pyvips unavailable ({report['vips_problem']}); install libvips (Debian: apt-get install libvips42)")
    print_table(report["results"], report["variants"])
    for name, per_variant in report["memory"].items():
        cells = ", ".join(f"{v} +{m:.1f}" if m is not None else f"{v} n/a" for v, m in per_variant.items())
        print(f"peak extra RSS {name} (MiB): {cells}; working set {report['working_set'][name]:.1f} MiB")
    for name, value, goal, ok in goal_lines(report):
        print(f"{name} {value} {goal} {verdict(ok, name)}")
    if args.write_docs:
        from scripts.bench import report as docs

        docs.write_thumbnails_section(report)
        print(f"wrote {docs.DOC.relative_to(ROOT)} and charts in {docs.CHARTS.relative_to(ROOT)}")


if __name__ == "__main__":
    if "--child" in sys.argv:
        main()
        sys.exit(0)
    try:
        main()
    except Exception as exc:  # a benchmark reports and exits 0; it never fails a build
        print(f"benchmark error: {type(exc).__name__}: {exc}")
    sys.exit(0)
