"""Benchmark: cold start, as fresh interpreters importing each Lambda function's code, over a bare interpreter.

    .venv/bin/python scripts/bench/cold_start.py [--runs 9] [--package build/package]

Each case is a new ``python -c`` process (what a Lambda cold start pays for imports), the cases taking turns run
by run so machine noise hits them alike; each is reported as its median over the bare baseline
(``python -c pass``) in the same run, as wall time and as CPU time (user + sys of the child, which a shared
machine's load disturbs far less than wall time).

Lambda unzips the functions' package into ``/var/task`` and layers into ``/opt``, both read-only, so Python can
never cache the bytecode it compiles: unless the zip carries ``__pycache__``, every cold start compiles every
module it imports. The cases therefore run from the built package (``make package``), unzipped the way Lambda
does, with ``PYTHONDONTWRITEBYTECODE=1`` (nothing can be written there either); botocore and boto3 come from this
virtualenv, as they come from the runtime on Lambda:

- ``api``: ``import app`` (both functions are one Chalice app; this is all the API function loads before a request);
- ``processor``: ``import app`` plus the imaging package (Pillow, pillow-heif), which its first message needs;
- ``..., no bytecode``: the same package with its ``__pycache__`` removed, i.e. as ``chalice package`` builds it
  (the before/after ratio of infra/package.py's ``add_bytecode`` in the same run);
- ``api, eager``: ``import app`` plus what it imported before imports were made lazy (Pillow, PyJWT with
  cryptography, python-multipart);
- ``deps floor``: Chalice, boto3, PynamoDB and redis alone, which every request of either function uses: what
  ``api`` costs at least while those are imported at init.

Without a built package (``--package`` missing) the cases run from the working tree with bytecode cached in a
temporary ``PYTHONPYCACHEPREFIX`` (what the package with bytecode gives). Goals (issue 13): api <= 250 ms,
processor <= 350 ms over bare (CPU). Always exits 0.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
LAYER_SITE = "opt/python/lib/python3.12/site-packages"

HEAVY = ("PIL", "pillow_heif", "jwt", "cryptography", "python_multipart", "boto3", "botocore", "pynamodb", "redis")
API = "import app"
PROCESSOR = "import app; from chalicelib import imaging"
EAGER = "import app; import PIL.Image, jwt, python_multipart"
FLOOR = "import chalice.app, boto3, pynamodb.models, redis"
GOALS_MS = {"api": 250.0, "processor": 350.0}


def unzip_like_lambda(package: Path, into: Path, *, bytecode: bool) -> Path:
    """``deployment.zip`` into ``task/``, ``layer-deployment.zip`` into ``opt/``; without ``__pycache__`` if asked."""
    for name, sub in (("deployment.zip", "task"), ("layer-deployment.zip", "opt")):
        with zipfile.ZipFile(package / name) as archive:
            archive.extractall(into / sub)
    if not bytecode:
        for cache in list(into.rglob("__pycache__")):
            shutil.rmtree(cache)
    return into


def environment(root: Path | None, pycache: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env["STAGE"] = "local"
    if root is None:  # the working tree, with bytecode cached as the deployed package carries it
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        env["PYTHONPYCACHEPREFIX"] = str(pycache)
    else:
        env["PYTHONDONTWRITEBYTECODE"] = "1"
        env["PYTHONPATH"] = f"{root / 'task'}{os.pathsep}{root / LAYER_SITE}"
    return env


def run_once(code: str, env: dict[str, str], cwd: Path) -> tuple[float, float]:
    """(wall ms, CPU ms) of a fresh interpreter running ``code``."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    subprocess.run([sys.executable, "-c", code], cwd=cwd, env=env, check=True)
    wall = (time.perf_counter() - started) * 1000
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime) * 1000
    return wall, cpu


def loaded(code: str, env: dict[str, str], cwd: Path) -> list[str]:
    probe = f"{code}\nimport sys, json\nprint(json.dumps(sorted({{m.split('.')[0] for m in sys.modules}})))"
    out = subprocess.run([sys.executable, "-c", probe], cwd=cwd, env=env, check=True, capture_output=True, text=True)
    top = set(json.loads(out.stdout.strip().splitlines()[-1]))
    return [name for name in HEAVY if name in top]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=9)
    parser.add_argument("--package", type=Path, default=ROOT / "build" / "package")
    parser.add_argument("--quick", action="store_true", help="`make bench-quick`: 3 runs, no eager case or module list")
    args = parser.parse_args()
    if args.quick:
        args.runs = 3

    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        have_package = (args.package / "layer-deployment.zip").exists()
        cases: dict[str, tuple[str, dict[str, str], Path]] = {}
        if have_package:
            fast = unzip_like_lambda(args.package, work / "bytecode", bytecode=True)
            slow = unzip_like_lambda(args.package, work / "source", bytecode=False)
            env, env_slow, cwd = environment(fast, work), environment(slow, work), work
            where = f"the built package ({args.package.relative_to(ROOT)}), unzipped as Lambda does, read-only"
        else:
            env = env_slow = environment(None, work / "pycache")
            cwd = ROOT
            where = "the working tree (no built package: run `make package`), bytecode cached"
        cases["bare"] = ("pass", env, cwd)
        cases["api"] = (API, env, cwd)
        cases["processor"] = (PROCESSOR, env, cwd)
        if have_package:
            cases["api, no bytecode"] = (API, env_slow, cwd)
            cases["processor, no bytecode"] = (PROCESSOR, env_slow, cwd)
        if not args.quick:
            cases["api, eager"] = (EAGER, environment(None, work / "pycache"), ROOT)
        cases["deps floor"] = (FLOOR, env, cwd)

        for code, case_env, case_cwd in cases.values():  # warm the page cache (and the working tree's bytecode)
            run_once(code, case_env, case_cwd)
        wall: dict[str, list[float]] = {name: [] for name in cases}
        cpu: dict[str, list[float]] = {name: [] for name in cases}
        for _ in range(args.runs):
            for name, (code, case_env, case_cwd) in cases.items():
                w, c = run_once(code, case_env, case_cwd)
                wall[name].append(w)
                cpu[name].append(c)

        bare_wall, bare_cpu = statistics.median(wall["bare"]), statistics.median(cpu["bare"])
        print(f"from {where}; load average {os.getloadavg()[0]:.1f}")
        print(f"fresh interpreters, median of {args.runs}; bare python: {bare_wall:.0f} ms wall, {bare_cpu:.0f} ms CPU")
        print(f"{'case':<24} {'wall over bare':>15} {'CPU over bare':>14}  heavy modules loaded")
        over: dict[str, tuple[float, float]] = {}
        for name, (code, case_env, case_cwd) in cases.items():
            if name == "bare":
                continue
            over[name] = (statistics.median(wall[name]) - bare_wall, statistics.median(cpu[name]) - bare_cpu)
            modules = "" if args.quick else ", ".join(loaded(code, case_env, case_cwd))
            print(f"{name:<24} {over[name][0]:12.0f} ms {over[name][1]:11.0f} ms  {modules}")
    if "api, no bytecode" in over:
        for name in GOALS_MS:
            ratio = over[name][1] / over[f"{name}, no bytecode"][1]
            print(f"{name}: with bytecode / without (CPU over bare): {ratio:.2f}x")
    if "api, eager" in over:
        print(f"api vs api-eager (CPU over bare): {over['api'][1] / over['api, eager'][1]:.2f}x")
    floor = over["deps floor"][1]
    for name, goal in GOALS_MS.items():
        value = over[name][1]
        why = f"missed: the dependency floor alone is {floor:.0f}ms; SnapStart (ADR 0015) takes init off cold starts"
        verdict = "met" if value <= goal else why
        print(f"cold_start_{name}_cpu {value:.0f}ms <= {goal:.0f}ms over bare {verdict}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
