"""What each Lambda function deploys: its own code package and the layers it uses (issue 13's package goal).

    .venv/bin/python scripts/bench/package_size.py            # builds build/package first (make package, ~20 s)
    .venv/bin/python scripts/bench/package_size.py --quick    # the existing build/package, else build it

Reads ``build/package`` (``make package``): the functions' package (``deployment.zip``, shared by the API and the
processor: chalice builds one for the app), chalice's managed layer (``layer-deployment.zip``) and AWS's public
Powertools layer (the processor only; not ours, not counted). Prints zipped and unzipped sizes, the largest
dependencies in the layer, and the goal line: each function's code package small (<= 1 MiB zipped) with the
dependencies in a layer, and nothing the runtime provides packaged.
"""

from __future__ import annotations

import argparse
import collections
import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from infra import package as infra_package  # noqa: E402

PACKAGE = ROOT / "build" / "package"
MIB = 1024 * 1024


def sizes(path: Path, prefix: str = "") -> tuple[int, int, collections.Counter[str]]:
    """(zipped bytes, unzipped bytes, unzipped bytes per top-level name)."""
    per_top: collections.Counter[str] = collections.Counter()
    with zipfile.ZipFile(path) as archive:
        for info in archive.infolist():
            per_top[info.filename.removeprefix(prefix).split("/", 1)[0]] += info.file_size
    return path.stat().st_size, sum(per_top.values()), per_top


def summary() -> tuple[str, str]:
    """(a sentence for docs/benchmarks.md, the goal line for ``make bench-quick``)."""
    code_zip, code_raw, _ = sizes(PACKAGE / infra_package.CODE_ZIP)
    layer_zip, layer_raw, per_top = sizes(PACKAGE / infra_package.LAYER_ZIP, infra_package.LAYER_PREFIX)
    with (
        zipfile.ZipFile(PACKAGE / infra_package.CODE_ZIP) as code,
        zipfile.ZipFile(PACKAGE / infra_package.LAYER_ZIP) as layer,
    ):
        names = code.namelist() + infra_package.layer_names(layer.namelist())
    provided = sorted({n.split("/", 1)[0] for n in names if infra_package.is_runtime_provided(n.split("/", 1)[0])})
    small = code_zip <= infra_package.MAX_CODE_ZIP_BYTES
    verdict = "met" if small and not provided else f"missed: runtime-provided {provided}" if provided else "missed"
    largest = ", ".join(f"{n} {b / MIB:.1f}" for n, b in per_top.most_common(5))
    sentence = (
        f"the functions' package (API and processor) {code_zip / MIB:.2f} MiB zipped ({code_raw / MIB:.1f} MiB"
        f" unzipped); the managed layer (both) {layer_zip / MIB:.1f} MiB zipped ({layer_raw / MIB:.0f} MiB unzipped;"
        f" largest, MiB: {largest}); nothing runtime-provided: {not provided}. Goal {verdict}."
    )
    line = (
        f"package_size code {code_zip / MIB:.2f}MiB + layer {layer_zip / MIB:.1f}MiB (zipped;"
        f" {(code_raw + layer_raw) / MIB:.0f}MiB unzipped of Lambda's 250) <=1MiB code per function, deps in a layer,"
        f" none runtime-provided {verdict}"
    )
    return sentence, line


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="use build/package as it is when it exists")
    args = parser.parse_args()
    if not args.quick or not (PACKAGE / infra_package.LAYER_ZIP).exists():
        subprocess.run([sys.executable, str(ROOT / "infra" / "package.py"), "package"], check=True, cwd=ROOT)
    text, line = summary()
    if not args.quick:  # make bench-quick reads goal lines only
        print(text)
    print(line)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
