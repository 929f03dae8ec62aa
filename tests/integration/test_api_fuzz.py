"""Property-based checks of the running API against its own OpenAPI document (schemathesis).

Every generated request must get a documented status code, a body matching the documented schema, and never a
server error. The seed is fixed, which steers generation but does not pin it: two runs of the examples and
fuzzing phases against one stack, one worker each, shared about 62 % of their requests (schemathesis' HAR
reports). Run the same command with another ``--seed`` (or none) to explore further. Two schemathesis workers
send the requests (one operation each at a time): the run waits on round trips far more than it computes (the
same CPU, 104 s -> 63 s of wall alone), and the API must answer concurrent clients anyway.

Left out: schemathesis' positive/negative data checks. They judge how precisely the schema describes validation
(a well-formed but unknown reset token *should* be refused; a size over MAX_UPLOAD_BYTES depends on
configuration), not how the API behaves.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from scripts.stack import Stack
from tests.http_api import Api

pytestmark = pytest.mark.integration

SCHEMATHESIS = Path(sys.executable).parent / "schemathesis"
SEED = "20261125"
SCHEMA_PRECISION_CHECKS = ("positive_data_acceptance", "negative_data_rejection")


def schemathesis(
    stack: Stack, token: str, config: Path, phases: str, without: tuple[str, ...]
) -> subprocess.CompletedProcess[str]:
    # Checks are switched off in a config file: the CLI's --exclude-checks does not reach the coverage phase.
    config.write_text("[checks]\n" + "".join(f"{check}.enabled = false\n" for check in without))
    return subprocess.run(
        [
            str(SCHEMATHESIS),
            f"--config-file={config}",
            "run",
            f"{stack.api_url}/api/v1/openapi.json",
            f"--url={stack.api_url}",
            f"--header=Authorization: Bearer {token}",
            f"--seed={SEED}",
            "--max-examples=25",
            "--workers=2",
            "--no-color",
            f"--phases={phases}",
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


@pytest.fixture(scope="module")
def token(stack: Stack) -> str:
    response = Api(stack.api_url).post(
        "/api/v1/auth/register", json={"email": "fuzzer@example.com", "password": "correct horse battery"}
    )
    assert response.status_code == 201, response.text
    return str(response.json()["access_token"])


def test_generated_requests_get_documented_answers_and_never_a_server_error(
    stack: Stack, token: str, tmp_path: Path
) -> None:
    result = schemathesis(stack, token, tmp_path / "st.toml", "examples,fuzzing,stateful", SCHEMA_PRECISION_CHECKS)
    assert result.returncode == 0, result.stdout[-6000:]


def test_boundary_and_negative_cases_get_documented_answers(stack: Stack, token: str, tmp_path: Path) -> None:
    # The coverage phase also sends methods no route has; `chalice local`'s HTTP server (not our app, and not
    # API Gateway) answers TRACE with its own 501, so that check is left out here. A 500 from our code would
    # still fail: it is not a documented status.
    without = ("not_a_server_error", "unsupported_method", *SCHEMA_PRECISION_CHECKS)
    result = schemathesis(stack, token, tmp_path / "st.toml", "coverage", without)
    assert result.returncode == 0, result.stdout[-6000:]
