"""``make package``: the deployment zip holds what the functions import, built for Lambda, and nothing twice."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import zipfile
from importlib.metadata import version
from pathlib import Path

import pytest

from tests.conftest import ROOT

sys.path.insert(0, str(ROOT / "infra"))
import package as infra_package


@pytest.fixture(scope="module")
def zip_names(packaged: Path) -> list[str]:
    with zipfile.ZipFile(packaged / "deployment.zip") as archive:
        return archive.namelist()


def top_level(names: list[str]) -> set[str]:
    return {name.split("/", 1)[0] for name in names}


@pytest.mark.parametrize("module", infra_package.REQUIRED_TOP_LEVEL)
def test_zip_holds_every_runtime_dependency(zip_names: list[str], module: str) -> None:
    assert module in top_level(zip_names)


@pytest.mark.parametrize("module", ["boto3", "botocore", "s3transfer", "urllib3"])
def test_zip_leaves_out_what_the_lambda_runtime_provides(zip_names: list[str], module: str) -> None:
    assert not any(top == module or top.startswith(f"{module}-") for top in top_level(zip_names))


def test_pillow_is_in_the_zip_exactly_once(zip_names: list[str]) -> None:
    assert zip_names.count("PIL/__init__.py") == 1
    assert [t for t in top_level(zip_names) if t.lower().startswith("pillow-")] == [
        f"pillow-{version('Pillow')}.dist-info"
    ]


def test_pillow_is_the_manylinux_x86_64_build_for_python_312(packaged: Path, zip_names: list[str]) -> None:
    extensions = [n for n in zip_names if re.fullmatch(r"PIL/_imaging\..*\.so", n)]
    assert extensions == ["PIL/_imaging.cpython-312-x86_64-linux-gnu.so"]
    with zipfile.ZipFile(packaged / "deployment.zip") as archive:
        wheel_meta = archive.read(f"pillow-{version('Pillow')}.dist-info/WHEEL").decode()
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


def test_zip_stays_under_the_size_bound(packaged: Path) -> None:
    # Measured 13.6 MB with Pillow 13 (botocore, which PynamoDB pulls in, is taken out: Lambda provides it).
    assert (packaged / "deployment.zip").stat().st_size < infra_package.MAX_ZIP_BYTES == 20 * 1024 * 1024


def test_package_step_checks_find_no_problem(packaged: Path) -> None:
    infra_package.check_zip(packaged / "deployment.zip")


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
    with zipfile.ZipFile(packaged / "deployment.zip") as archive:
        wheel_meta = archive.read(f"pillow_heif-{version('pillow-heif')}.dist-info/WHEEL").decode()
    tags = re.findall(r"^Tag: (.+)$", wheel_meta, flags=re.M)
    assert tags
    assert all(tag.startswith("cp312-cp312-manylinux") and tag.endswith("_x86_64") for tag in tags)
