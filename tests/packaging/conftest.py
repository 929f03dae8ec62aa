"""Packaging tier: ``make package`` from a clean copy of the project, and the template it produces.

``chalice package`` downloads Lambda wheels from PyPI (or reads ``build/wheelhouse``), so this tier needs the
package index, as CI has. One package run (~20 s) is shared by the whole session.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import ROOT

# What a fresh clone does not have: the virtualenv (linked in instead), build output, caches, local state.
NOT_IN_A_CLONE = shutil.ignore_patterns(
    ".git", ".venv*", "build", "vendor", ".run", "deployments", "deployed", "__pycache__", ".*_cache", "node_modules"
)


@pytest.fixture(scope="session")
def clean_clone(tmp_path_factory: pytest.TempPathFactory) -> Path:
    clone = tmp_path_factory.mktemp("clone") / "chitram"
    shutil.copytree(ROOT, clone, ignore=NOT_IN_A_CLONE)
    (clone / ".venv").symlink_to(ROOT / ".venv")
    return clone


@pytest.fixture(scope="session")
def packaged(clean_clone: Path) -> Path:
    """``make package`` in the clean copy; returns its build/package directory."""
    # STAMP= : the linked virtualenv is the one under test; never let make reinstall into it.
    result = subprocess.run(
        ["make", "package", "STAGE=dev", "STAMP="], cwd=clean_clone, capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, f"make package failed:\n{result.stdout}\n{result.stderr}"
    return clean_clone / "build" / "package"


@pytest.fixture(scope="session")
def sam(packaged: Path) -> dict[str, Any]:
    template: dict[str, Any] = json.loads((packaged / "sam.json").read_text())
    return template


@pytest.fixture(scope="session")
def merge_template() -> dict[str, Any]:
    """The merge template as infra/template.py builds it (the only source; make package writes it to build/)."""
    from infra import template

    built: dict[str, Any] = template.build()
    return built


# The edge resolver's stack (infra/edge.py) is packaged for a table the main stack would have created.
EDGE_TABLE = "chitram-dev-ImagesTable-1A2B3C4D5E6F"
EDGE_TABLE_REGION = "eu-west-1"


@pytest.fixture(scope="session")
def edge_package(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``infra/edge.py`` run as ``make package-edge`` runs it; returns the directory with edge.json and edge.zip."""
    out = tmp_path_factory.mktemp("edge")
    command = [str(ROOT / ".venv" / "bin" / "python"), str(ROOT / "infra" / "edge.py"), "--table", EDGE_TABLE]
    result = subprocess.run(
        [*command, "--table-region", EDGE_TABLE_REGION, "--out", str(out)], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr
    return out
