"""The web front end's BlurHash decoder (web/js/blurhash.js, run under Node) agrees with the Python library's."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import blurhash
import pytest
from PIL import Image

from chalicelib.imaging import fingerprints
from tests.conftest import ROOT

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"


def node_decode(code: str, width: int, height: int) -> object:
    node = shutil.which("node")
    if node is None:
        pytest.fail("node is needed to test web/js/blurhash.js (Debian's nodejs)")
    script = (
        f"import {{ decode }} from {json.dumps(str(ROOT / 'web/js/blurhash.js'))};"
        f"process.stdout.write(JSON.stringify(Array.from(decode({json.dumps(code)}, {width}, {height}))));"
    )
    result = subprocess.run([node, "--input-type=module", "-e", script], capture_output=True, text=True, check=True)
    return json.loads(result.stdout)


@pytest.mark.parametrize("name", ["DSCN0010.jpg", "landscape_6.jpg", "BlueSquare.jpg"])
def test_the_browser_decodes_what_the_pipeline_encodes_as_the_library_does(name: str) -> None:
    code = fingerprints.blurhash(Image.open(FIXTURES / name))
    expected = [channel for row in blurhash.decode(code, 8, 6) for pixel in row for channel in (*pixel, 255)]
    assert node_decode(code, 8, 6) == expected


def test_a_malformed_hash_is_refused_not_painted() -> None:
    node = shutil.which("node")
    assert node is not None
    script = (
        f"import {{ decode }} from {json.dumps(str(ROOT / 'web/js/blurhash.js'))};"
        "for (const bad of ['', 'L', 'LPDJL-o3', 'L\\u00e9DJL-o34mNF~qRjIUt6?bRjIUj]']) {"
        "  try { decode(bad, 4, 3); process.stdout.write('decoded ' + bad); } catch { }"
        "}"
    )
    result = subprocess.run([node, "--input-type=module", "-e", script], capture_output=True, text=True, check=True)
    assert result.stdout == ""


@pytest.mark.parametrize("image", [{"blurhash": None}, {}, None])
def test_an_image_without_a_blurhash_keeps_the_placeholder_colour(image: object) -> None:
    """Older records have no blurhash: the element is left as it was (the stylesheet's colour shows)."""
    node = shutil.which("node")
    assert node is not None
    script = (
        f"import {{ withPlaceholder }} from {json.dumps(str(ROOT / 'web/js/blurhash.js'))};"
        "const img = { complete: false, style: {}, dataset: {}, addEventListener() { throw new Error('listened'); } };"
        f"withPlaceholder(img, {json.dumps(image)});"
        "process.stdout.write(JSON.stringify([img.style, img.dataset]));"
    )
    result = subprocess.run([node, "--input-type=module", "-e", script], capture_output=True, text=True, check=True)
    assert json.loads(result.stdout) == [{}, {}]
