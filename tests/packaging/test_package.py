"""``make package``: the functions' package holds our code, chalice's managed layer every dependency the functions
import, built for Lambda, with bytecode, nothing the runtime provides and nothing twice."""

from __future__ import annotations

import importlib.util
import json
import re
import subprocess
import sys
import zipfile
from importlib.metadata import version
from pathlib import Path
from typing import Any

import pytest

from infra import package as infra_package
from tests.conftest import ROOT


@pytest.fixture(scope="module")
def code_names(packaged: Path) -> list[str]:
    with zipfile.ZipFile(packaged / infra_package.CODE_ZIP) as archive:
        return archive.namelist()


@pytest.fixture(scope="module")
def layer_entries(packaged: Path) -> list[str]:
    with zipfile.ZipFile(packaged / infra_package.LAYER_ZIP) as archive:
        return archive.namelist()


@pytest.fixture(scope="module")
def zip_names(code_names: list[str], layer_entries: list[str]) -> list[str]:
    """What the functions see on sys.path: their package plus the layer's site-packages."""
    return code_names + infra_package.layer_names(layer_entries)


def read_from_layer(packaged: Path, name: str) -> str:
    with zipfile.ZipFile(packaged / infra_package.LAYER_ZIP) as archive:
        return archive.read(infra_package.LAYER_PREFIX + name).decode()


def top_level(names: list[str]) -> set[str]:
    return {name.split("/", 1)[0] for name in names}


@pytest.mark.parametrize("module", infra_package.REQUIRED_TOP_LEVEL)
def test_zip_holds_every_runtime_dependency(zip_names: list[str], module: str) -> None:
    assert module in top_level(zip_names)


@pytest.mark.parametrize("module", ["boto3", "botocore", "s3transfer", "jmespath", "urllib3", "dateutil", "six"])
def test_zip_leaves_out_what_the_lambda_runtime_provides(zip_names: list[str], module: str) -> None:
    assert not any(top.removesuffix(".py") == module or top.startswith(f"{module}-") for top in top_level(zip_names))


def test_the_functions_package_is_our_code_only(code_names: list[str]) -> None:
    """Dependencies live in chalice's managed layer, so a code change ships a few hundred KB."""
    assert top_level(code_names) == set(infra_package.CODE_TOP_LEVEL)


def test_every_dependency_sits_in_the_layers_site_packages(layer_entries: list[str]) -> None:
    assert [n for n in layer_entries if not n.startswith(infra_package.LAYER_PREFIX) and not n.endswith("/")] == []


def test_both_functions_use_the_managed_layer_built_for_python_312(sam: dict[str, Any]) -> None:
    resources = sam["Resources"]
    assert resources["ManagedLayer"]["Properties"]["CompatibleRuntimes"] == ["python3.12"]
    for function in ("APIHandler", "HandleSqs"):
        assert {"Ref": "ManagedLayer"} in resources[function]["Properties"]["Layers"], function


@pytest.mark.parametrize("zip_name", [infra_package.CODE_ZIP, infra_package.LAYER_ZIP])
def test_every_module_ships_with_unchecked_hash_bytecode_for_python_312(packaged: Path, zip_name: str) -> None:
    """Lambda's /var/task and /opt are read-only: without these, each cold start compiles every module."""
    with zipfile.ZipFile(packaged / zip_name) as archive:
        names = set(archive.namelist())
        sources = [n for n in names if n.endswith(".py")]
        missing = [n for n in sources if importlib.util.cache_from_source(n) not in names]
        assert sources
        assert missing == []
        headers = {n: archive.read(n)[:8] for n in names if n.endswith(".pyc")}
    # This interpreter is 3.12, the runtime's version; hash-based, not checked against the source (0b01).
    assert {n for n, h in headers.items() if h[:4] != importlib.util.MAGIC_NUMBER} == set()
    assert {n for n, h in headers.items() if int.from_bytes(h[4:8], "little") != 0b01} == set()


def test_pillow_is_in_the_zip_exactly_once(zip_names: list[str]) -> None:
    assert zip_names.count("PIL/__init__.py") == 1
    assert [t for t in top_level(zip_names) if t.lower().startswith("pillow-")] == [
        f"pillow-{version('Pillow')}.dist-info"
    ]


def test_pillow_is_the_manylinux_x86_64_build_for_python_312(packaged: Path, zip_names: list[str]) -> None:
    extensions = [n for n in zip_names if re.fullmatch(r"PIL/_imaging\..*\.so", n)]
    assert extensions == ["PIL/_imaging.cpython-312-x86_64-linux-gnu.so"]
    wheel_meta = read_from_layer(packaged, f"pillow-{version('Pillow')}.dist-info/WHEEL")
    tags = re.findall(r"^Tag: (.+)$", wheel_meta, flags=re.M)
    assert tags
    assert all(tag.startswith("cp312-cp312-manylinux") and tag.endswith("_x86_64") for tag in tags)
    # The shared libraries a manylinux wheel bundles (libjpeg, libwebp, ...) came along.
    assert any(n.startswith("pillow.libs/") and ".so" in n for n in zip_names)


def test_compiled_dependencies_are_linux_x86_64_builds(zip_names: list[str]) -> None:
    shared_objects = [n for n in zip_names if n.endswith(".so") and not n.startswith("pillow.libs/")]
    assert shared_objects
    foreign = [n for n in shared_objects if not re.search(r"(x86_64-linux-gnu|abi3)\.so$", n)]
    assert foreign == []


def test_zips_stay_under_their_size_bounds(packaged: Path) -> None:
    # Measured: the functions' package 0.54 MB, the layer 21.8 MB (both with bytecode; botocore, which PynamoDB
    # pulls in, is taken out: Lambda provides it).
    assert (packaged / infra_package.CODE_ZIP).stat().st_size < infra_package.MAX_CODE_ZIP_BYTES == 1024 * 1024
    assert (packaged / infra_package.LAYER_ZIP).stat().st_size < infra_package.MAX_ZIP_BYTES == 30 * 1024 * 1024


def test_package_step_checks_find_no_problem(packaged: Path) -> None:
    infra_package.check_package(packaged)


def test_code_zip_check_reports_a_dependency_in_the_functions_package() -> None:
    problems = infra_package.code_zip_problems(["app.py", "chalicelib/x.py", "chalice/app.py", "PIL/x.py"], zip_bytes=1)
    assert problems == ["PIL belongs in the layer, not the functions' package", "missing __pycache__"]


def test_zip_check_reports_a_missing_module_and_a_duplicate_pillow() -> None:
    names = ["app.py", "PIL/__init__.py", "PIL/__init__.py", "botocore/__init__.py"]
    problems = infra_package.zip_problems(names, zip_bytes=1, unzipped_bytes=1)
    assert "missing pynamodb" in problems
    assert "PIL/__init__.py appears 2 times" in problems
    assert "botocore is provided by the Lambda runtime" in problems


def test_vendored_pillow_is_the_version_the_tests_run_with() -> None:
    assert infra_package.vendored_wheel_name() == ("Pillow", version("Pillow"))


def test_pillow_comes_from_vendor_not_requirements() -> None:
    requirements = (ROOT / "requirements.txt").read_text().lower()
    assert not re.search(r"^\s*pillow\b", requirements, flags=re.M)


def test_the_merge_template_is_written_to_build_and_never_committed(tmp_path: Path) -> None:
    assert not (ROOT / "infra" / "template.json").exists(), "the merge template is generated, not committed"
    out = tmp_path / "merge-template.json"
    result = subprocess.run(
        [sys.executable, str(ROOT / "infra" / "template.py"), "--out", str(out)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "ImagesBucket" in json.loads(out.read_text())["Resources"]
    assert infra_package.MERGE_TEMPLATE.parent == ROOT / "build"


def test_pillow_heif_is_vendored_at_the_version_the_tests_run_with() -> None:
    assert ("pillow-heif", version("pillow-heif")) in infra_package.vendored_wheels()


def test_pillow_heif_and_its_libheif_are_in_the_zip_for_linux_x86_64(packaged: Path, zip_names: list[str]) -> None:
    """HEIC decoding reaches Lambda without a manual step: the manylinux wheel, with the libheif it bundles."""
    extensions = [n for n in zip_names if re.fullmatch(r"_pillow_heif\..*\.so", n)]  # top level in the wheel
    assert extensions == ["_pillow_heif.cpython-312-x86_64-linux-gnu.so"]
    assert "pillow_heif/__init__.py" in zip_names
    assert any(n.startswith("pillow_heif.libs/libheif") for n in zip_names)
    wheel_meta = read_from_layer(packaged, f"pillow_heif-{version('pillow-heif')}.dist-info/WHEEL")
    tags = re.findall(r"^Tag: (.+)$", wheel_meta, flags=re.M)
    assert tags
    assert all(tag.startswith("cp312-cp312-manylinux") and tag.endswith("_x86_64") for tag in tags)
