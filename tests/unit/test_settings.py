"""Settings are read once from the environment, with clear errors naming the variable."""

from __future__ import annotations

import logging
from dataclasses import fields

import pytest

from chalicelib import logs
from chalicelib.settings import Secret, Settings, SettingsError, variables
from tests.conftest import ROOT, load_script


def test_defaults_are_usable_for_the_local_stage() -> None:
    settings = Settings.from_env({})
    assert settings.stage == "local"
    assert settings.max_upload_bytes == 50 * 1024 * 1024
    assert settings.multipart_threshold_bytes == settings.multipart_part_bytes == 8 * 1024 * 1024
    assert settings.cache_virtual_nodes == 150
    assert settings.cache_ttl_seconds == 3600
    assert settings.rate_limit_uploads_per_minute == 10
    assert settings.redis_nodes == ()


def test_redis_nodes_is_a_comma_list_and_redis_url_still_works() -> None:
    assert Settings.from_env({"REDIS_NODES": "redis://a:1/0, redis://b:2/0,"}).redis_nodes == (
        "redis://a:1/0",
        "redis://b:2/0",
    )
    assert Settings.from_env({"REDIS_URL": "redis://solo:6379/0"}).redis_nodes == ("redis://solo:6379/0",)


@pytest.mark.parametrize(
    ("env", "needle"),
    [
        ({"MAX_UPLOAD_BYTES": "lots"}, "MAX_UPLOAD_BYTES must be an integer"),
        ({"MAX_UPLOAD_BYTES": "0"}, "MAX_UPLOAD_BYTES must be between 1 and 5368709120"),
        ({"API_UPLOAD_MAX_BYTES": "60000000"}, "API_UPLOAD_MAX_BYTES must not exceed MAX_UPLOAD_BYTES"),
        ({"AUTH_PROVIDER": "ldap"}, "AUTH_PROVIDER must be"),
    ],
)
def test_bad_configuration_fails_loudly_naming_the_variable(env: dict[str, str], needle: str) -> None:
    with pytest.raises(SettingsError, match=needle):
        Settings.from_env({"JWT_SECRET": "x" * 40, **env})


def test_secrets_do_not_show_in_repr() -> None:
    secret = Secret("hunter2-hunter2")
    assert "hunter2" not in repr(secret)
    assert secret == "hunter2-hunter2"


def test_every_setting_is_declared_with_its_variable_once() -> None:
    declared = variables()
    assert set(declared) == {f.name for f in fields(Settings)}
    names = [name for var in declared.values() for name in (var.env, *var.aliases)]
    assert len(names) == len(set(names)), "two settings read the same variable"


def test_docs_list_every_setting_as_declared() -> None:
    validate_env = load_script("validate-env")
    assert (ROOT / "docs" / "settings.md").read_text() == validate_env.settings_table(), (
        "docs/settings.md is stale: scripts/validate-env --markdown > docs/settings.md"
    )


@pytest.mark.parametrize(("raw", "level"), [("debug", "DEBUG"), ("WARNING", "WARNING"), ("", "INFO")])
def test_log_level_is_read_from_the_environment(raw: str, level: str) -> None:
    assert Settings.from_env({"LOG_LEVEL": raw}).log_level == level


def test_an_unknown_log_level_is_refused() -> None:
    with pytest.raises(SettingsError, match=r"LOG_LEVEL must be one of \['DEBUG'"):
        Settings.from_env({"LOG_LEVEL": "chatty"})


def test_the_configured_log_level_is_applied(monkeypatch: pytest.MonkeyPatch) -> None:
    root = logging.getLogger()
    monkeypatch.setattr(root, "level", root.level)  # restored after the test
    monkeypatch.setattr(root, "handlers", list(root.handlers))
    logs.configure(Settings.from_env({"LOG_LEVEL": "warning"}).log_level)
    assert root.level == logging.WARNING


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"BCRYPT_ROUNDS": "32"}, "BCRYPT_ROUNDS must be between 4 and 31, got 32"),
        ({"MAILER": "pigeon"}, "MAILER must be one of ['memory', 'outbox', 'ses'], got 'pigeon'"),
        ({"GALLERY_SHARDS": "0"}, "GALLERY_SHARDS must be >= 1, got 0"),
        ({"BCRYPT_ROUNDS": "3"}, "BCRYPT_ROUNDS must be between 4 and 31, got 3"),
    ],
)
def test_bounds_and_choices_come_from_the_declaration(env: dict[str, str], message: str) -> None:
    with pytest.raises(SettingsError) as raised:
        Settings.from_env(env)
    assert str(raised.value) == message


def test_settings_built_in_code_are_checked_against_the_same_declarations() -> None:
    with pytest.raises(SettingsError, match="AUTH_PROVIDER must be 'local' or 'oidc', got 'ldap'"):
        Settings(auth_provider="ldap").validate()


def test_an_empty_variable_counts_as_unset() -> None:
    settings = Settings.from_env(
        {"BUCKET_NAME": "", "MAX_UPLOAD_BYTES": " ", "REDIS_NODES": "", "REDIS_URL": "redis://a:1"}
    )
    assert settings.bucket_name == "chitram-images"
    assert settings.max_upload_bytes == Settings().max_upload_bytes
    assert settings.redis_nodes == ("redis://a:1",)


def test_rate_limiting_cannot_be_switched_off_silently_in_a_deployed_stage() -> None:
    """An empty RedisNodes stack parameter would make every limit fail open: a deployed stage refuses to start."""
    deployed = {
        "STAGE": "prod",
        "JWT_SECRET": "s" * 48,
        "MAILER": "ses",
        "MAIL_FROM": "noreply@example.com",
    }
    with pytest.raises(SettingsError, match="REDIS_NODES must be set for stage 'prod'"):
        Settings.from_env(deployed)
    assert Settings.from_env({**deployed, "REDIS_NODES": "redis://10.0.0.1:6379"}).redis_nodes
    assert Settings.from_env({"STAGE": "local"}).redis_nodes == ()  # the laptop may run without Redis
