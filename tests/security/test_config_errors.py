"""Configuration errors never print a secret back, whichever way it got into the configuration.

Secret-bearing (bridge/config/loader.py `Loader.shown`): the value of a secret key, any value set from a
VSB_* variable, a value that is, contains or is part of a configured secret, and a value shaped like a
credential. Each path a value can take into an error message is exercised here, through `load_config`
and through the CLI; ordinary mistakes are still quoted so the user sees what was wrong.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from bridge.cli.main import main
from bridge.config import ConfigError, load_config

TOKEN = "vk1.a.Zq7PlantedToken0123456789abcdef"
ACCESS_KEY = "Plant3dAccessKey"
WEBHOOK = "correct horse battery staple 42"  # not credential-shaped: spaces


def config_text(**replace: str) -> str:
    lines = {
        "vk_token": f'"{TOKEN}"',
        "rate_limit": "20",
        "group_id": "42",
        "level": "INFO",
        "url": "http://127.0.0.1:8080",
        "enabled": "true",
        "extra_vk": "",
        "timezone": "Europe/Moscow",
    } | replace
    return f"""version: 1
vtiger:
  url: {lines["url"]}
  access_key: "{ACCESS_KEY}"
  timezone: {lines["timezone"]}
networks:
  vk:
    enabled: {lines["enabled"]}
    token: {lines["vk_token"]}
    group_id: {lines["group_id"]}
    rate_limit: {lines["rate_limit"]}
{lines["extra_vk"]}
webhook:
  secret: "{WEBHOOK}"
logging:
  level: {lines["level"]}
"""


def error_of(tmp_path: Path, text: str, env: dict[str, str] | None = None) -> str:
    path = tmp_path / "config.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_config(path, env=env or {})
    return str(caught.value)


def assert_no_secret(message: str, *planted: str) -> None:
    for secret in (TOKEN, ACCESS_KEY, WEBHOOK, *planted):
        assert secret not in message, message
        # Nor a recognisable part of it (a value may have been quoted cut or split).
        for start in range(0, len(secret) - 8, 4):
            assert secret[start : start + 8] not in message, (secret[start : start + 8], message)


# --- values from the file ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("key", "value", "where"),
    [
        (
            "rate_limit",
            f'"{TOKEN}"',
            "networks.vk.rate_limit",
        ),  # the token in a numeric key, also set as token
        ("group_id", f'"{TOKEN}"', "networks.vk.group_id"),
        ("enabled", f'"{TOKEN}"', "networks.vk.enabled"),  # a boolean key
        ("level", f'"{TOKEN}"', "logging.level"),  # a key with choices
        ("timezone", f'"{ACCESS_KEY}"', "vtiger.timezone"),  # checked after parsing
        ("url", f'"{ACCESS_KEY}"', "vtiger.url"),
        ("level", f'"{WEBHOOK}"', "logging.level"),  # equal to a configured secret, though not token-shaped
        ("rate_limit", f'"{TOKEN[:14]}"', "networks.vk.rate_limit"),  # part of a secret
        ("url", f'"crm.local/?key={ACCESS_KEY}"', "vtiger.url"),  # contains a secret
    ],
)
def test_a_secret_in_a_non_secret_key_of_the_file_is_not_echoed(
    tmp_path: Path, key: str, value: str, where: str
) -> None:
    message = error_of(tmp_path, config_text(**{key: value}))
    assert f"key {where}, line" in message and "not shown" in message
    assert_no_secret(message)


def test_a_token_in_a_numeric_key_that_equals_no_configured_secret_is_not_echoed(tmp_path: Path) -> None:
    other = "vk1.a.AnotherToken9876543210zyxw"  # the token key itself is left empty: nothing to compare to
    message = error_of(tmp_path, config_text(vk_token='""', rate_limit=f'"{other}"'))
    assert "networks.vk.rate_limit" in message
    assert_no_secret(message, other)


@pytest.mark.parametrize("value", [f"[{TOKEN}]", f"{{t: {TOKEN}}}", f"[1, {TOKEN}]"])
def test_a_secret_key_of_the_wrong_type_is_not_echoed(tmp_path: Path, value: str) -> None:
    message = error_of(tmp_path, config_text(vk_token=value))
    assert "networks.vk.token" in message
    assert_no_secret(message)


def test_a_token_pasted_as_a_key_name_is_not_echoed(tmp_path: Path) -> None:
    message = error_of(tmp_path, config_text(extra_vk=f'    "{TOKEN}": yes'))
    assert "unknown key" in message and "networks.vk.<a key not shown>" in message
    assert_no_secret(message)


def test_an_unknown_key_never_echoes_its_value(tmp_path: Path) -> None:
    message = error_of(tmp_path, config_text(extra_vk=f'    tokn: "{TOKEN}"'))
    assert "networks.vk.tokn" in message and "unknown key" in message
    assert_no_secret(message)


def test_ordinary_mistakes_are_still_quoted(tmp_path: Path) -> None:
    message = error_of(tmp_path, config_text(rate_limit="fast", level="LOUD", enabled="perhaps"))
    assert "'fast'" in message and "'LOUD'" in message and "'perhaps'" in message
    assert "'Mars/Olympus'" in error_of(tmp_path, config_text(timezone="Mars/Olympus"))
    assert "'ftp://crm.local'" in error_of(tmp_path, config_text(url="ftp://crm.local"))


# --- values from the environment --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("VSB_NETWORKS_VK_RATE_LIMIT", "hunter2 is my password"),  # not token-shaped, equal to nothing
        ("VSB_NETWORKS_VK_GROUP_ID", TOKEN),
        ("VSB_NETWORKS_VK_ENABLED", "s3cret"),
        ("VSB_LOGGING_LEVEL", "swordfish"),
        ("VSB_VTIGER_TIMEZONE", "Europe/s3cret"),
        ("VSB_VTIGER_URL", "crm.local/?pw=swordfish"),
        ("VSB_VTIGER_URL", "https://CHANGE_ME:swordfish@crm.local"),  # the placeholder check
        ("VSB_NETWORKS_VK_RATE_LIMIT", "{a: b: c} swordfish"),  # not YAML: no parser error quoting it
        ("VSB_NETWORKS_VK_RATE_LIMIT", "[swordfish]"),
    ],
)
def test_a_value_from_the_environment_is_never_echoed(tmp_path: Path, variable: str, value: str) -> None:
    message = error_of(tmp_path, config_text(), env={variable: value})
    assert f"environment variable {variable}" in message, message
    planted = value if len(value) < 10 else value[-9:]
    assert "swordfish" not in message and "s3cret" not in message and "hunter2" not in message
    assert_no_secret(message, planted)


def test_a_secret_from_the_environment_placed_in_the_file_is_not_echoed(tmp_path: Path) -> None:
    from_env = "EnvOnlySecret-7a1b2c3d4e5f"
    message = error_of(tmp_path, config_text(level=f'"{from_env}"'), env={"VSB_WEBHOOK_SECRET": from_env})
    assert "logging.level" in message
    assert_no_secret(message, from_env)


# --- through the command line ----------------------------------------------------------------------


def test_the_cli_prints_the_error_without_the_secret(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "config.yaml"
    path.write_text(config_text(rate_limit=f'"{TOKEN}"'), encoding="utf-8")
    monkeypatch.setenv("VSB_NETWORKS_VK_GROUP_ID", "swordfish-env-value")
    code = main(["-c", str(path), "check"])
    out = capsys.readouterr()
    assert code != 0
    text = out.out + out.err
    assert "networks.vk.rate_limit" in text and "VSB_NETWORKS_VK_GROUP_ID" in text
    assert "swordfish" not in text
    assert_no_secret(text)
