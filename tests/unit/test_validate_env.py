"""scripts/validate-env accepts a good configuration and names every problem in one clear line, no traceback.

Most cases call the script's ``main`` with a controlled environment (fast, exact lines); a few run it as a
command to prove the exit code and the stderr an operator sees.
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys

import pytest

from tests.conftest import ROOT, load_script

VALIDATE_ENV = ROOT / "scripts" / "validate-env"


validate_env = load_script("validate-env")

SECRET = "k3Qv9xTzW1pL8sN4bR7yC2mD6fH0jA5eG_uIoPqXwZ"  # 42 bytes, made up for these tests
DEPLOYED = {
    "STAGE": "prod",
    "BUCKET_NAME": "chitram-prod-images",
    "IMAGES_TABLE": "chitram-prod-images",
    "USERS_TABLE": "chitram-prod-users",
    "QUEUE_NAME": "chitram-prod-processing",
    "SITE_ORIGIN": "https://images.example.com",
    "JWT_SECRET": SECRET,
    "MAILER": "ses",
    "MAIL_FROM": "noreply@example.com",
    "REDIS_NODES": "rediss://:token@node-a.example.com:6379/0,rediss://:token@node-b.example.com:6379/0",
}
OIDC = {
    "AUTH_PROVIDER": "oidc",
    "OIDC_ISSUER": "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_abc",
    "OIDC_AUDIENCE": "client-id",
    "OIDC_JWKS_URL": "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_abc/.well-known/jwks.json",
}


def run(caplog: pytest.LogCaptureFixture, env: dict[str, str], *argv: str) -> tuple[int, list[str]]:
    """Exit code and the script's lines, with the environment exactly ``env``."""
    caplog.set_level(logging.INFO, logger="validate-env")
    code = validate_env.main(list(argv), environ=env)
    lines = [record.getMessage() for record in caplog.records if record.name == "validate-env"]
    assert all(record.exc_info is None for record in caplog.records)
    return code, lines


def errors(env: dict[str, str], caplog: pytest.LogCaptureFixture) -> list[str]:
    code, lines = run(caplog, env)
    assert code == 1
    return lines


def without(env: dict[str, str], name: str) -> dict[str, str]:
    return {key: value for key, value in env.items() if key != name}


# --- good configurations ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "env",
    [{}, {"STAGE": "local"}, {"STAGE": "test"}, {"REDIS_NODES": "redis://127.0.0.1:6379/0,unix:///tmp/redis.sock"}],
    ids=["empty", "local", "test", "local-with-nodes"],
)
def test_a_local_configuration_with_defaults_is_ok(env: dict[str, str], caplog: pytest.LogCaptureFixture) -> None:
    stage = env.get("STAGE", "local")
    assert run(caplog, env) == (0, [f"configuration OK for stage {stage!r}"])


def test_a_complete_deployed_configuration_is_ok(caplog: pytest.LogCaptureFixture) -> None:
    assert run(caplog, DEPLOYED) == (0, ["configuration OK for stage 'prod'"])


def test_a_deployed_oidc_stage_needs_no_jwt_secret(caplog: pytest.LogCaptureFixture) -> None:
    # Settings' rule (local tokens are the only thing JWT_SECRET signs), not a second copy of it here.
    assert run(caplog, {**without(DEPLOYED, "JWT_SECRET"), **OIDC}) == (0, ["configuration OK for stage 'prod'"])


# --- deployed stages: what must be set ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("missing", "message"),
    [
        ("BUCKET_NAME", "BUCKET_NAME is required for stage 'prod'"),
        ("IMAGES_TABLE", "IMAGES_TABLE is required for stage 'prod'"),
        ("USERS_TABLE", "USERS_TABLE is required for stage 'prod'"),
        ("QUEUE_NAME", "QUEUE_NAME is required for stage 'prod'"),
        ("SITE_ORIGIN", "SITE_ORIGIN is required for stage 'prod'"),
        ("JWT_SECRET", "JWT_SECRET must be set for stage 'prod'"),
        ("MAILER", "MAILER must be 'ses' for stage 'prod' (got 'outbox')"),
        ("MAIL_FROM", "MAILER=ses needs MAIL_FROM"),
        # Without a node every rate limit passes: refused, never a silent fail-open (issue 11, item 6).
        ("REDIS_NODES", "REDIS_NODES must be set for stage 'prod': rate limiting needs Redis"),
    ],
)
def test_each_variable_a_deployed_stage_needs_is_named_when_missing(
    missing: str, message: str, caplog: pytest.LogCaptureFixture
) -> None:
    assert errors(without(DEPLOYED, missing), caplog) == [f"error: {message}", "1 problem(s) for stage 'prod'"]


@pytest.mark.parametrize(
    ("secret", "message"),
    [
        ("change-me", "JWT_SECRET is a well-known default; set a real secret for stage 'prod'"),
        (
            "local-development-secret-not-for-deployment",
            "JWT_SECRET is a well-known default; set a real secret for stage 'prod'",
        ),
        ("x" * 31, "JWT_SECRET must be at least 32 bytes for stage 'prod'"),
    ],
    ids=["default", "local-stack-secret", "short"],
)
def test_a_default_or_short_jwt_secret_is_refused_on_a_deployed_stage(
    secret: str, message: str, caplog: pytest.LogCaptureFixture
) -> None:
    assert errors({**DEPLOYED, "JWT_SECRET": secret}, caplog) == [f"error: {message}", "1 problem(s) for stage 'prod'"]


def test_a_short_jwt_secret_is_fine_on_a_local_stage(caplog: pytest.LogCaptureFixture) -> None:
    assert run(caplog, {"JWT_SECRET": "short"})[0] == 0


def test_stage_flag_checks_the_environment_as_that_stage(caplog: pytest.LogCaptureFixture) -> None:
    code, lines = run(caplog, {**DEPLOYED, "STAGE": "local", "JWT_SECRET": "change-me"}, "--stage", "dev")
    assert (code, lines[0]) == (1, "error: JWT_SECRET is a well-known default; set a real secret for stage 'dev'")


def test_a_deployed_stage_refuses_a_plain_http_origin_and_emulator_endpoints(
    caplog: pytest.LogCaptureFixture,
) -> None:
    env = {**DEPLOYED, "SITE_ORIGIN": "http://images.example.com", "AWS_ENDPOINT_URL_S3": "http://127.0.0.1:5000"}
    assert errors(env, caplog) == [
        "error: SITE_ORIGIN must be https:// for stage 'prod'",
        "error: AWS_ENDPOINT_URL* is set: a deployed stage must talk to AWS, not an emulator",
        "2 problem(s) for stage 'prod'",
    ]


# --- REDIS_NODES ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "message"),
    [
        (
            "http://cache.example.com:6379",
            "'http://cache.example.com:6379' is not a redis://, rediss:// or unix:// URL",
        ),
        ("cache.example.com:6379", "'cache.example.com:6379' is not a redis://, rediss:// or unix:// URL"),
        (
            "redis://cache.example.com:63x9/0",
            "'redis://cache.example.com:63x9/0' Port could not be cast to integer value as '63x9'",
        ),
        ("redis://cache.example.com:99999/0", "'redis://cache.example.com:99999/0' Port out of range 0-65535"),
        ("redis://", "'redis://' has no host"),
        ("redis://cache.example.com/first", "'redis://cache.example.com/first' database must be a number, got 'first'"),
    ],
    ids=["http", "no-scheme", "bad-port", "port-range", "no-host", "bad-db"],
)
def test_a_malformed_redis_nodes_url_is_named(url: str, message: str, caplog: pytest.LogCaptureFixture) -> None:
    env = {"REDIS_NODES": f"redis://good.example.com:6379/0,{url}"}
    assert errors(env, caplog) == [f"error: REDIS_NODES: {message}", "1 problem(s) for stage 'local'"]


def test_a_malformed_redis_url_never_shows_its_password(caplog: pytest.LogCaptureFixture) -> None:
    lines = errors({"REDIS_NODES": "rediss://:hunter2-secret@cache.example.com:bad/0"}, caplog)
    assert (
        lines[0]
        == "error: REDIS_NODES: 'rediss://***@cache.example.com:bad/0' Port could not be cast to integer value as 'bad'"
    )
    assert "hunter2" not in caplog.text


def test_the_same_redis_node_listed_twice_is_refused(caplog: pytest.LogCaptureFixture) -> None:
    env = {"REDIS_NODES": "redis://a.example.com:6379/0,redis://:pw@a.example.com:6379/0"}
    assert errors(env, caplog)[0] == "error: REDIS_NODES: redis node listed twice: redis://a.example.com:6379/0"


def test_redis_url_alone_is_checked_like_redis_nodes(caplog: pytest.LogCaptureFixture) -> None:
    assert errors({"REDIS_URL": "tcp://cache:6379"}, caplog)[0] == (
        "error: REDIS_NODES: 'tcp://cache:6379' is not a redis://, rediss:// or unix:// URL"
    )


def test_a_bad_redis_url_is_reported_beside_a_settings_problem(caplog: pytest.LogCaptureFixture) -> None:
    env = {**without(DEPLOYED, "JWT_SECRET"), "REDIS_NODES": "redis://"}
    assert errors(env, caplog) == [
        "error: JWT_SECRET must be set for stage 'prod'",
        "error: REDIS_NODES: 'redis://' has no host",
        "2 problem(s) for stage 'prod'",
    ]


# --- auth provider ------------------------------------------------------------------------------------------


def test_an_unknown_auth_provider_is_named(caplog: pytest.LogCaptureFixture) -> None:
    assert errors({"AUTH_PROVIDER": "ldap"}, caplog) == [
        "error: AUTH_PROVIDER must be 'local' or 'oidc', got 'ldap'",
        "1 problem(s) for stage 'local'",
    ]


@pytest.mark.parametrize(
    ("missing", "message"),
    [
        ("OIDC_ISSUER", "AUTH_PROVIDER=oidc needs OIDC_ISSUER and OIDC_JWKS_URL"),
        ("OIDC_JWKS_URL", "AUTH_PROVIDER=oidc needs OIDC_ISSUER and OIDC_JWKS_URL"),
        ("OIDC_AUDIENCE", "AUTH_PROVIDER=oidc needs OIDC_AUDIENCE (the client id tokens must be for)"),
    ],
)
def test_oidc_without_its_issuer_jwks_url_or_audience_is_named(
    missing: str, message: str, caplog: pytest.LogCaptureFixture
) -> None:
    assert errors(without({**DEPLOYED, **OIDC}, missing), caplog) == [
        f"error: {message}",
        "1 problem(s) for stage 'prod'",
    ]


# --- as a command -------------------------------------------------------------------------------------------


def command(env: dict[str, str], *argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(VALIDATE_ENV), *argv],
        env={"PATH": os.environ.get("PATH", ""), **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_the_command_exits_0_for_a_good_local_configuration() -> None:
    result = command({})
    assert (result.returncode, result.stdout, result.stderr) == (0, "", "configuration OK for stage 'local'\n")


def test_the_command_exits_1_with_one_line_per_problem_and_no_traceback() -> None:
    result = command({**without(DEPLOYED, "BUCKET_NAME"), "JWT_SECRET": "secret", "REDIS_NODES": "redis//oops"})
    assert result.returncode == 1
    assert result.stderr.splitlines() == [
        "error: BUCKET_NAME is required for stage 'prod'",
        "error: JWT_SECRET is a well-known default; set a real secret for stage 'prod'",
        "error: REDIS_NODES: 'redis//oops' is not a redis://, rediss:// or unix:// URL",
        "3 problem(s) for stage 'prod'",
    ]


def test_the_command_names_each_unreachable_endpoint() -> None:
    offline = {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_EC2_METADATA_DISABLED": "true",
        "AWS_ENDPOINT_URL": "http://127.0.0.1:9",  # discard port: refused at once
        "REDIS_NODES": "redis://127.0.0.1:9/0",
    }
    result = command(offline, "--check-endpoints")
    assert result.returncode == 1
    lines = result.stderr.splitlines()
    assert [line.split(" (")[0] for line in lines[:-1]] == [
        "error: bucket unreachable",
        "error: images table unreachable",
        "error: users table unreachable",
        "error: queue unreachable",
        "error: dead-letter queue unreachable",
        "error: redis node redis://127.0.0.1:9/0 is down",
    ]
    assert lines[-1] == "6 problem(s) for stage 'local'"
