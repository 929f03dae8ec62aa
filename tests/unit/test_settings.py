"""Settings are read once from the environment, with clear errors naming the variable."""

from __future__ import annotations

import pytest

from chalicelib.settings import Secret, Settings, SettingsError


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
        ({"MAX_UPLOAD_BYTES": "0"}, "MAX_UPLOAD_BYTES must be >= 1"),
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
