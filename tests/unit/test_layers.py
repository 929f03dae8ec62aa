"""The services' boundaries: they take metrics and the clock as ports, and leave wire shapes to ``api/``."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SERVICES = sorted((ROOT / "chalicelib" / "services").glob("*.py"))


def imported_modules(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
            names |= {f"{node.module}.{alias.name}" for alias in node.names}
    return names


def test_services_import_neither_chalice_nor_the_api_layer() -> None:
    for path in SERVICES:
        bad = {m for m in imported_modules(path) if m.split(".")[0] == "chalice" or m.startswith("chalicelib.api")}
        assert not bad, f"{path.name} imports {bad}"


def test_services_report_metrics_through_the_port() -> None:
    # The processor's SQS batch loop is the one exception left (its owner replaces it with Powertools' batch
    # processor); every other metric goes through the injected ``Metrics`` port.
    for path in SERVICES:
        tree = ast.parse(path.read_text())
        calls = [
            node
            for node in ast.walk(tree)
            if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == "metrics"
        ]
        assert all(call.attr == "record_processing_failure" for call in calls), (path.name, [c.attr for c in calls])


def test_no_service_builds_api_urls() -> None:
    for path in SERVICES:
        assert "/api/v1/images/" not in path.read_text().replace("POST /api/v1/images/upload-url", ""), path.name
