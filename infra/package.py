"""Build the deployable artefacts: ``build/package/{sam.json,deployment.zip}`` (``make package``).

Steps, each of which fails loudly rather than shipping something subtly wrong:

1. ``vendor``: the Pillow manylinux wheel pinned in ``infra/vendor.txt`` (by hash) is downloaded into
   ``build/wheelhouse/`` and unpacked into ``vendor/`` (gitignored), which chalice copies into the zip as is.
2. ``chalice package --merge-template build/merge-template.json`` (written from ``infra/template.py`` first),
   offline-safe: no credentials, no metadata service, ``AWS_DEFAULT_REGION`` set; pip (which chalice runs to
   fetch Lambda wheels) also looks in ``build/wheelhouse/`` and, with ``--offline``, only there
   (``make wheelhouse`` fills it while online).
3. The template: the CORS origin chalice bakes into API Gateway's preflight answers is turned into the
   ``SiteOrigin`` parameter (we package with a sentinel origin and replace it), and the ``Stage`` parameter is
   pinned to the packaged stage.
4. The zips. ``automatic_layer`` (``.chalice/config.json``) makes chalice put every dependency into one managed
   layer (``layer-deployment.zip``, shared by both functions) and only our code into the functions' package
   (``deployment.zip``, app.py + chalicelib/ + chalice's runtime): a code change redeploys a few hundred KB.
   From the layer, what the Lambda runtime already provides (boto3, botocore and their dependencies, ~16 MB
   pulled in by PynamoDB) is removed. Both zips get bytecode (``__pycache__/*.cpython-312.pyc``, unchecked-hash
   so the unzipped files' timestamps do not matter): Lambda's ``/var/task`` and ``/opt`` are read-only, so
   without it every cold start compiles each imported module from source (docs/adr/0015-cold-start.md). Then
   the contents are checked: a dependency chalice could not get is left out with exit 0 and one log line, so we
   look for every module ourselves.

    python infra/package.py package --stage dev --out build/package [--offline]
    python infra/package.py vendor | wheelhouse
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import logging
import os
import py_compile
import re
import secrets
import shutil
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
INFRA = ROOT / "infra"
VENDOR = ROOT / "vendor"
WHEELHOUSE = ROOT / "build" / "wheelhouse"
VENDOR_STAMP = ROOT / "build" / "vendor.stamp"
VENDOR_REQUIREMENTS = INFRA / "vendor.txt"
MERGE_TEMPLATE = ROOT / "build" / "merge-template.json"  # generated from infra/template.py, never committed
BIN = Path(sys.executable).parent

# Lambda python3.12 on x86_64. manylinux_2_28 is what Pillow publishes for 3.12; Lambda's Amazon Linux 2023
# has glibc 2.34, so any manylinux tag up to 2_34 loads there.
PLATFORMS = ("manylinux_2_28_x86_64", "manylinux2014_x86_64")
PYTHON_VERSION = "3.12"

# Never a real origin: replaced by the SiteOrigin parameter in the packaged template.
ORIGIN_SENTINEL = "https://site-origin.invalid"

# Provided by the Lambda Python runtime (boto3 and what it depends on). PynamoDB depends on botocore, so
# chalice packages it (~16 MB zipped) unless we take it out again.
RUNTIME_PROVIDED = ("boto3", "botocore", "s3transfer", "jmespath", "dateutil", "python_dateutil", "six", "urllib3")

# Modules the functions import at run time: each must be in the zip (chalice may silently leave one out).
REQUIRED_TOP_LEVEL = (
    "app.py",
    "chalicelib",
    "PIL",
    "pillow_heif",
    "pynamodb",
    "jwt",
    "cryptography",
    "bcrypt",
    "redis",
    "hiredis",
    "python_multipart",
    "blurhash",
)
# The functions' own package: our code only (chalice adds its small runtime, chalice/app.py).
CODE_ZIP = "deployment.zip"
CODE_TOP_LEVEL = ("app.py", "__pycache__", "chalicelib", "chalice")
MAX_CODE_ZIP_BYTES = 1024 * 1024  # measured 0.54 MB with bytecode (0.18 MB without)
# chalice's managed layer: every dependency, under the path Lambda puts on sys.path for layers (/opt/python/...).
LAYER_ZIP = "layer-deployment.zip"
LAYER_PREFIX = f"python/lib/python{PYTHON_VERSION}/site-packages/"
RUNTIME_ROOTS = {CODE_ZIP: "/var/task/", LAYER_ZIP: "/opt/"}  # where Lambda unzips each (tracebacks name them)
MAX_ZIP_BYTES = 30 * 1024 * 1024  # the layer, measured ~23 MB with bytecode; Lambda's direct-upload limit is 50 MB
MAX_UNZIPPED_BYTES = 110 * 1024 * 1024  # code + layers together; Lambda's limit is 250 MB

log = logging.getLogger("package")


class PackageError(RuntimeError):
    """The package could not be built, or what was built is wrong. The message says which."""


# --- wheels -------------------------------------------------------------------------------------------------


def pip_env(*, offline: bool) -> dict[str, str]:
    """pip settings for every download: our wheelhouse first, then whatever the machine configured."""
    env = dict(os.environ)
    links = [str(WHEELHOUSE), *env.get("PIP_FIND_LINKS", "").split()]
    env["PIP_FIND_LINKS"] = " ".join(link for link in links if link)
    if offline:
        env["PIP_NO_INDEX"] = "1"
    return env


def _pip_download(args: list[str], *, offline: bool) -> None:
    WHEELHOUSE.mkdir(parents=True, exist_ok=True)
    platforms = [arg for platform in PLATFORMS for arg in ("--platform", platform)]
    command = [
        sys.executable,
        "-m",
        "pip",
        "download",
        "--quiet",
        "--dest",
        str(WHEELHOUSE),
        "--only-binary=:all:",
        "--implementation",
        "cp",
        "--python-version",
        PYTHON_VERSION,
        *platforms,
        *args,
    ]
    result = subprocess.run(command, env=pip_env(offline=offline), capture_output=True, text=True, check=False)
    if result.returncode != 0:
        hint = " (offline: run `make wheelhouse` once while online)" if offline else ""
        raise PackageError(f"pip download failed{hint}:\n{result.stderr.strip()[-2000:]}")


def vendored_wheels() -> list[tuple[str, str]]:
    """(project, version) of every wheel pinned in infra/vendor.txt (Pillow first)."""
    pins = [
        (match.group(1), match.group(2))
        for line in VENDOR_REQUIREMENTS.read_text().splitlines()
        if (match := re.match(r"^\s*([A-Za-z0-9_.-]+)==([^\s;]+)", line))
    ]
    if not pins:
        raise PackageError(f"{VENDOR_REQUIREMENTS} pins no wheel")
    return pins


def vendored_wheel_name() -> tuple[str, str]:
    """(project, version) of the first wheel pinned in infra/vendor.txt (Pillow)."""
    return vendored_wheels()[0]


def _wheel_file(project: str, version: str) -> Path:
    prefix = f"{project}-{version}-".lower().replace("-", "_")
    wheels = sorted(p for p in WHEELHOUSE.glob("*.whl") if p.name.lower().replace("-", "_").startswith(prefix))
    if len(wheels) != 1:
        raise PackageError(f"expected one {project} {version} wheel in {WHEELHOUSE}, found {wheels}")
    return wheels[0]


def vendor(*, offline: bool = False) -> Path:
    """Unpack the pinned wheels (Pillow, pillow-heif) into vendor/; a no-op when they are already there.

    Returns the Pillow wheel."""
    _pip_download(["--no-deps", "--require-hashes", "-r", str(VENDOR_REQUIREMENTS)], offline=offline)
    wheels = [_wheel_file(project, version) for project, version in vendored_wheels()]
    stamp = "\n".join(wheel.name for wheel in wheels)
    if VENDOR_STAMP.exists() and VENDOR_STAMP.read_text() == stamp and (VENDOR / "PIL").is_dir():
        return wheels[0]
    # vendor/ holds only what this step unpacks (everything in it is copied into the zip).
    if VENDOR.exists():
        shutil.rmtree(VENDOR)
    VENDOR.mkdir()
    for wheel in wheels:
        with zipfile.ZipFile(wheel) as archive:
            archive.extractall(VENDOR)
        log.info("vendored %s", wheel.name)
    VENDOR_STAMP.write_text(stamp)
    return wheels[0]


def wheelhouse() -> None:
    """Download every Lambda wheel the package needs, so ``--offline`` packaging works later."""
    _pip_download(["-r", str(ROOT / "requirements.txt")], offline=False)
    vendor()
    log.info("wheelhouse ready: %s", WHEELHOUSE)


# --- chalice package ----------------------------------------------------------------------------------------


def chalice_env(*, offline: bool) -> dict[str, str]:
    env = {
        k: v
        for k, v in pip_env(offline=offline).items()
        if not k.startswith(("AWS_ENDPOINT_URL", "AWS_PROFILE"))
        and k not in {"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"}
    }
    env.setdefault("AWS_DEFAULT_REGION", env.get("AWS_REGION", "us-east-1"))
    env["AWS_EC2_METADATA_DISABLED"] = "true"
    # chalice imports app.py, which reads settings (the CORS origin is baked into the API definition) with the
    # stage's STAGE from .chalice/config.json, so a deployed stage's checks run here too. Satisfy them with
    # throwaway values: none of them reaches the package (the real ones are template parameters).
    env["SITE_ORIGIN"] = ORIGIN_SENTINEL
    env["JWT_SECRET"] = secrets.token_urlsafe(48)
    env["MAILER"] = "ses"
    env["MAIL_FROM"] = "packaging@example.invalid"
    env["REDIS_NODES"] = "redis://packaging.invalid:6379"
    return env


def run_chalice(stage: str, out: Path, *, offline: bool) -> None:
    if out.exists():
        shutil.rmtree(out)
    command = [
        str(BIN / "chalice"),
        "--project-dir",
        str(ROOT),
        "package",
        "--stage",
        stage,
        "--merge-template",
        str(MERGE_TEMPLATE),
        str(out),
    ]
    result = subprocess.run(command, env=chalice_env(offline=offline), capture_output=True, text=True, check=False)
    output = (result.stdout + result.stderr).strip()
    if result.returncode != 0 or "Could not install dependencies" in output:
        raise PackageError(f"chalice package failed (exit {result.returncode}):\n{output[-3000:]}")


def _replace_origin(node: Any) -> Any:
    if isinstance(node, dict):
        return {k: _replace_origin(v) for k, v in node.items()}
    if isinstance(node, list):
        return [_replace_origin(v) for v in node]
    if node == f"'{ORIGIN_SENTINEL}'":
        return {"Fn::Sub": "'${SiteOrigin}'"}  # API Gateway header mappings are quoted literals
    return node


def finish_template(template: dict[str, Any], stage: str) -> dict[str, Any]:
    template = _replace_origin(template)
    if ORIGIN_SENTINEL in json.dumps(template):
        raise PackageError("the packaged template still names the placeholder origin somewhere unexpected")
    parameters = template["Parameters"]
    parameters["Stage"]["AllowedValues"] = [stage]
    parameters["Stage"]["Default"] = stage
    parameters["JwtSecretName"]["Default"] = f"chitram/{stage}/jwt-secret"
    parameters["OperatorTokenName"]["Default"] = f"chitram/{stage}/operator-token"
    return invoke_api_alias(drop_shared_role(template))


def invoke_api_alias(template: dict[str, Any]) -> dict[str, Any]:
    """Point API Gateway at the API function's SnapStart alias (infra/template.py ``SNAP_START``): chalice's
    integrations and invoke permission name the unqualified function, whose ``$LATEST`` never uses a snapshot."""
    resources = template["Resources"]
    if "AutoPublishAlias" not in resources["APIHandler"]["Properties"]:
        return template
    api = resources["RestAPI"]["Properties"]
    body = json.dumps(api["DefinitionBody"])
    if "${APIHandler.Arn}" not in body:
        raise PackageError("chalice's API integrations no longer name ${APIHandler.Arn}: re-check invoke_api_alias")
    # SAM names the alias it generates <function>Alias<name> (documented); Ref of an alias is its ARN.
    alias = "APIHandlerAlias" + resources["APIHandler"]["Properties"]["AutoPublishAlias"]
    api["DefinitionBody"] = json.loads(body.replace("${APIHandler.Arn}", "${" + alias + "}"))
    resources["APIHandlerInvokePermission"]["Properties"]["FunctionName"] = {"Ref": alias}
    return template


def drop_shared_role(template: dict[str, Any]) -> dict[str, Any]:
    """Remove chalice's ``DefaultRole`` (one role for every function, ``sqs:*`` and ``logs`` actions on ``*``):
    the merge template gives each function its own least-privilege role instead. Refuses if anything still
    refers to it."""
    resources = template["Resources"]
    resources.pop("DefaultRole", None)
    if '"DefaultRole"' in json.dumps(resources):
        raise PackageError("something still refers to chalice's DefaultRole; give it its own role in infra/template.py")
    return template


def is_runtime_provided(name: str) -> bool:
    top = name.split("/", 1)[0]
    stem = top.removesuffix(".py")
    project = re.split(r"-\d", top, maxsplit=1)[0] if re.search(r"\.(dist-info|data)$", top) else None
    return stem in RUNTIME_PROVIDED or (project is not None and project.lower() in RUNTIME_PROVIDED)


def prune_zip(path: Path, prefix: str = "") -> list[str]:
    """Rewrite the zip without what the Lambda runtime provides; returns the removed top-level names.

    ``prefix``: where the packages sit in the zip (a layer's ``python/lib/python3.12/site-packages/``)."""
    removed: set[str] = set()
    tmp = path.with_suffix(".tmp")
    with zipfile.ZipFile(path) as source, zipfile.ZipFile(tmp, "w") as target:
        for info in source.infolist():
            name = info.filename.removeprefix(prefix) if info.filename.startswith(prefix) else None
            if name and is_runtime_provided(name):
                removed.add(name.split("/", 1)[0])
                continue
            target.writestr(info, source.read(info), compress_type=info.compress_type)
    tmp.replace(path)
    return sorted(removed)


def add_bytecode(path: Path, runtime_root: str) -> tuple[int, int]:
    """Add ``__pycache__/<module>.cpython-312.pyc`` beside every ``.py`` in the zip; returns (compiled, skipped).

    Lambda unzips code and layers onto read-only file systems, so Python can never cache what it compiles: without
    these, every cold start compiles every module it imports from source. Unchecked-hash pycs (PEP 552) are used
    whatever the unzipped files' timestamps say; the zip is rebuilt whenever the sources change. ``runtime_root``
    (``/var/task/`` or ``/opt/``) is the path tracebacks will show. A file that does not compile on 3.12 (test
    data some wheels carry) is skipped: it could not be imported either."""
    if sys.version_info[:2] != tuple(int(part) for part in PYTHON_VERSION.split(".")):
        raise PackageError(f"bytecode must be compiled by Python {PYTHON_VERSION}, the functions' runtime")
    compiled = skipped = 0
    tmp = path.with_suffix(".tmp")
    with (
        zipfile.ZipFile(path) as source,
        zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as target,
        tempfile.TemporaryDirectory() as work,
    ):
        for info in source.infolist():
            if "__pycache__/" in info.filename:
                # Chalice copies the working tree's __pycache__: timestamp pycs, stale against the zip's dates
                # (so compiled again at every cold start), or of other sources. Every one is made anew below.
                continue
            data = source.read(info)
            target.writestr(info, data, compress_type=info.compress_type)
            if not info.filename.endswith(".py"):
                continue
            pyc_name = importlib.util.cache_from_source(info.filename)
            src, out = Path(work, "module.py"), Path(work, "module.pyc")
            src.write_bytes(data)
            try:
                py_compile.compile(
                    str(src),
                    cfile=str(out),
                    dfile=runtime_root + info.filename,
                    doraise=True,
                    invalidation_mode=py_compile.PycInvalidationMode.UNCHECKED_HASH,
                )
            except py_compile.PyCompileError:
                skipped += 1
                continue
            pyc = zipfile.ZipInfo(pyc_name, date_time=info.date_time)
            pyc.external_attr = 0o644 << 16
            target.writestr(pyc, out.read_bytes(), compress_type=zipfile.ZIP_DEFLATED)
            compiled += 1
    tmp.replace(path)
    return compiled, skipped


def zip_problems(names: Iterable[str], *, zip_bytes: int, unzipped_bytes: int) -> list[str]:
    """What is wrong with a deployment zip's contents (empty when it is fine)."""
    names = list(names)
    tops = {name.split("/", 1)[0] for name in names}
    problems = [f"missing {module}" for module in REQUIRED_TOP_LEVEL if module not in tops]
    problems += [f"{top} is provided by the Lambda runtime" for top in sorted(tops) if is_runtime_provided(top)]
    if names.count("PIL/__init__.py") != 1:
        problems.append(f"PIL/__init__.py appears {names.count('PIL/__init__.py')} times")
    pillow_meta = sorted(t for t in tops if t.lower().startswith("pillow-") and t.endswith(".dist-info"))
    if len(pillow_meta) != 1:
        problems.append(f"expected one Pillow dist-info, found {pillow_meta}")
    imaging = [n for n in names if re.fullmatch(r"PIL/_imaging\.cpython-312-[^/]+\.so", n)]
    if imaging != ["PIL/_imaging.cpython-312-x86_64-linux-gnu.so"]:
        problems.append(f"PIL's C extension is not the CPython 3.12 x86_64 Linux build: {imaging}")
    if zip_bytes > MAX_ZIP_BYTES:
        problems.append(f"zip is {zip_bytes} bytes, over {MAX_ZIP_BYTES}")
    if unzipped_bytes > MAX_UNZIPPED_BYTES:
        problems.append(f"unzipped size {unzipped_bytes} bytes, over {MAX_UNZIPPED_BYTES}")
    return problems


def code_zip_problems(names: Iterable[str], *, zip_bytes: int) -> list[str]:
    """What is wrong with the functions' own package: anything but our code (dependencies belong in the layer)."""
    tops = {name.split("/", 1)[0] for name in names}
    problems = [f"{top} belongs in the layer, not the functions' package" for top in sorted(tops - set(CODE_TOP_LEVEL))]
    problems += [f"missing {top}" for top in CODE_TOP_LEVEL if top not in tops]
    if zip_bytes > MAX_CODE_ZIP_BYTES:
        problems.append(f"the functions' package is {zip_bytes} bytes, over {MAX_CODE_ZIP_BYTES}")
    return problems


def layer_names(names: Iterable[str]) -> list[str]:
    """The layer's entries as they appear on sys.path (without ``python/lib/python3.12/site-packages/``)."""
    return [name.removeprefix(LAYER_PREFIX) for name in names if name.startswith(LAYER_PREFIX)]


def check_package(out: Path) -> None:
    """The code zip holds our code only; the layer the dependencies; together everything, nothing twice."""
    with zipfile.ZipFile(out / CODE_ZIP) as code, zipfile.ZipFile(out / LAYER_ZIP) as layer:
        code_infos, layer_infos = code.infolist(), layer.infolist()
    code_names = [i.filename for i in code_infos]
    problems = code_zip_problems(code_names, zip_bytes=(out / CODE_ZIP).stat().st_size)
    outside = [i.filename for i in layer_infos if not i.filename.startswith(LAYER_PREFIX) and not i.is_dir()]
    problems += [f"{name} is outside the layer's {LAYER_PREFIX}" for name in outside[:5]]
    problems += zip_problems(
        code_names + layer_names(i.filename for i in layer_infos),
        zip_bytes=(out / LAYER_ZIP).stat().st_size,
        unzipped_bytes=sum(i.file_size for i in code_infos + layer_infos),
    )
    if problems:
        raise PackageError("the deployment package is wrong:\n  " + "\n  ".join(problems))


def package(stage: str, out: Path, *, offline: bool = False) -> Path:
    if str(ROOT) not in sys.path:  # run as a script: infra/ is on the path, the project root is not
        sys.path.insert(0, str(ROOT))
    from infra import template as merge_template

    merge_template.write(MERGE_TEMPLATE)
    vendor(offline=offline)
    run_chalice(stage, out, offline=offline)
    sam_path = out / "sam.json"
    sam_path.write_text(json.dumps(finish_template(json.loads(sam_path.read_text()), stage), indent=2) + "\n")
    if not (out / LAYER_ZIP).exists():
        raise PackageError(f"chalice wrote no {LAYER_ZIP}: is automatic_layer still true in .chalice/config.json?")
    removed = prune_zip(out / LAYER_ZIP, LAYER_PREFIX) + prune_zip(out / CODE_ZIP)
    for name, root in RUNTIME_ROOTS.items():
        compiled, skipped = add_bytecode(out / name, root)
        log.info("%s: bytecode for %d modules (%d do not compile on %s)", name, compiled, skipped, PYTHON_VERSION)
    check_package(out)
    log.info(
        "packaged stage %s into %s (functions' package %.2f MB, layer %.1f MB; left out, runtime-provided: %s)",
        stage,
        out,
        (out / CODE_ZIP).stat().st_size / 1e6,
        (out / LAYER_ZIP).stat().st_size / 1e6,
        ", ".join(removed) or "nothing",
    )
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    build = commands.add_parser("package", help="chalice package + template fix-ups + zip checks")
    build.add_argument("--stage", default="dev", choices=["dev", "prod"])
    build.add_argument("--out", type=Path, default=ROOT / "build" / "package")
    build.add_argument("--offline", action="store_true", help="use build/wheelhouse only (see `make wheelhouse`)")
    vend = commands.add_parser("vendor", help="unpack the pinned Pillow wheel into vendor/")
    vend.add_argument("--offline", action="store_true")
    commands.add_parser("wheelhouse", help="download every Lambda wheel into build/wheelhouse")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    try:
        if args.command == "package":
            package(args.stage, args.out, offline=args.offline)
        elif args.command == "vendor":
            vendor(offline=args.offline)
        else:
            wheelhouse()
    except PackageError as exc:
        log.error("%s", exc)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
