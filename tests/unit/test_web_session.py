"""The web front end ends a session on a 401 only: a 503 (identity provider down) keeps the user signed in."""

from __future__ import annotations

import json
import re
import shutil
import subprocess

import pytest

from tests.conftest import ROOT

SCRIPT = """
const store = () => { const m = new Map(); return { getItem: (k) => m.get(k) ?? null,
  setItem: (k, v) => m.set(k, String(v)), removeItem: (k) => m.delete(k) }; };
globalThis.window = { addEventListener() {} };
globalThis.localStorage = store();
globalThis.sessionStorage = store();
const { endsSession } = await import("./web/js/auth.js");
const cases = JSON.parse(process.argv[1]);
console.log(JSON.stringify(cases.map(([status, token]) => endsSession(status, token))));
"""


@pytest.mark.parametrize(
    ("status", "token", "ends"),
    [
        (401, "a-token", True),
        (503, "a-token", False),
        (500, "a-token", False),
        (403, "a-token", False),
        (401, None, False),
    ],
)
def test_only_a_401_to_a_request_with_a_token_ends_the_session(status: int, token: str | None, ends: bool) -> None:
    node = shutil.which("node")
    assert node is not None, "node is needed to test the web front end's modules"
    out = subprocess.run(
        [node, "--input-type=module", "-e", SCRIPT, json.dumps([[status, token]])],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
        timeout=30,
    )
    assert json.loads(out.stdout) == [ends]


def test_the_api_client_signs_out_only_where_ends_session_says_so() -> None:
    source = (ROOT / "web" / "js" / "api.js").read_text()
    calls = re.findall(r"^.*\bsignOut\(.*$", source, flags=re.MULTILINE)
    assert calls, "api.js no longer ends sessions at all"
    assert all("endsSession(" in line for line in calls), calls
