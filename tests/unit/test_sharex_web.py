"""The web page's ShareX and Flameshot documents (web/js/sharex.js) are the CLI's, byte for byte (run under Node)."""

from __future__ import annotations

import json
import shutil
import subprocess

import pytest
from chitram_cli import sharex

from tests.conftest import ROOT

TOKEN = "chi_0123456789abcdef_" + "a-b_c" * 8 + "xyz"
CASES = [
    ("http://127.0.0.1:8000", "http://127.0.0.1:8080", TOKEN, None),
    ("https://api.example.com/stage/", "https://img.example.com/", TOKEN, "unlisted"),
    ("https://api.example.com", "https://img.example.com", "it's odd; $(rm -rf /)", "private"),
]


def run_node(function: str, *args: object) -> str:
    node = shutil.which("node")
    if node is None:
        pytest.fail("node is needed to test web/js/sharex.js (Debian's nodejs)")
    script = (
        f"import * as sharex from {json.dumps(str(ROOT / 'web/js/sharex.js'))};"
        f"process.stdout.write(sharex.{function}(...{json.dumps(list(args))}));"
    )
    return subprocess.run(
        [node, "--input-type=module", "-e", script], capture_output=True, text=True, check=True
    ).stdout


@pytest.mark.parametrize(("api", "site", "token", "visibility"), CASES)
def test_web_sxcu_is_the_clis(api: str, site: str, token: str, visibility: str | None) -> None:
    assert run_node("sxcuText", api, site, token, visibility) == sharex.sxcu_text(api, site, token, visibility)


@pytest.mark.parametrize(("api", "site", "token", "visibility"), CASES)
def test_web_flameshot_script_is_the_clis(api: str, site: str, token: str, visibility: str | None) -> None:
    expected = sharex.flameshot_script(api, site, token, visibility)
    assert run_node("flameshotScript", api, site, token, visibility) == expected
