"""Configuration: typed parsing, errors that name file/key/line, placeholders, env overrides, masking."""

from __future__ import annotations

from pathlib import Path

import pytest

from bridge.config import ConfigError, load_config
from bridge.config.secrets import Secret, mask

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "config" / "example-config.yaml"

GOOD = """\
version: 1
vtiger:
  url: http://127.0.0.1:8080
  username: admin
  access_key: s3cretAccessKey42
  timezone: Europe/Moscow
networks:
  vk:
    enabled: true
    token: vk1.a.planted-token-value
    group_id: 42
webhook:
  secret: planted-webhook-secret-0123
state:
  path: /tmp/state.sqlite3
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_a_good_file_parses_into_typed_objects(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, GOOD), env={})
    assert config.vtiger.url == "http://127.0.0.1:8080"
    assert config.networks.vk.group_id == 42
    assert config.networks.vk.imports.limit == 20
    assert config.networks.enabled() == ["vk"]
    assert isinstance(config.vtiger.access_key, Secret)
    assert config.vtiger.access_key.reveal() == "s3cretAccessKey42"


def test_secrets_never_show_in_repr_or_str(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, GOOD), env={})
    text = repr(config) + str(config) + f"{config.networks.vk.token}"
    for planted in ("s3cretAccessKey42", "vk1.a.planted-token-value", "planted-webhook-secret-0123"):
        assert planted not in text
    assert set(config.secrets()) >= {"s3cretAccessKey42", "vk1.a.planted-token-value"}
    assert mask("token=vk1.a.planted-token-value!", config.secrets()) == "token=***!"


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        ("group_id: 42", "group_id: many", "key networks.vk.group_id, line 11: must be a number"),
        ("  timezone: Europe/Moscow", "  timezone: Mars/Olympus", "key vtiger.timezone, line 6"),
        ("  username: admin", "  username: admin\n  colour: blue", "key vtiger.colour, line 5: unknown key"),
        ("    enabled: true", "    enabled: perhaps", "networks.vk.enabled, line 9: must be true"),
        ("version: 1", "version: 7", "key version, line 1"),
        ("  url: http://127.0.0.1:8080", "  url: ftp://crm", "key vtiger.url, line 3: must start with http"),
        ("    group_id: 42", "    group_id: 0", "key networks.vk.group_id, line 11: is required"),
    ],
)
def test_errors_name_file_key_and_line(tmp_path: Path, old: str, new: str, expected: str) -> None:
    assert old in GOOD
    path = write(tmp_path, GOOD.replace(old, new))
    with pytest.raises(ConfigError) as err:
        load_config(path, env={})
    assert str(path) in str(err.value)
    assert expected in str(err.value)


def test_example_file_is_refused_naming_each_placeholder() -> None:
    with pytest.raises(ConfigError) as err:
        load_config(EXAMPLE, env={})
    message = str(err.value)
    for key in ("vtiger.url", "vtiger.access_key", "networks.vk.token", "webhook.secret"):
        assert f"key {key}, line" in message
    assert "networks.x.consumer_key" not in message  # disabled networks may keep placeholders
    assert "CHANGE_ME" not in message  # the placeholder of a secret is not echoed either


def test_example_file_is_complete_once_placeholders_are_overridden_from_env() -> None:
    env = {
        "VSB_VTIGER_URL": "https://crm.internal",
        "VSB_VTIGER_ACCESS_KEY": "abcdEFGH12345678",
        "VSB_NETWORKS_VK_TOKEN": "vk1.a.token",
        "VSB_NETWORKS_VK_GROUP_ID": "77",
        "VSB_WEBHOOK_SECRET": "0123456789abcdef0123",
    }
    config = load_config(EXAMPLE, env=env)
    assert config.networks.vk.group_id == 77
    assert config.vtiger.access_key.reveal() == "abcdEFGH12345678"
    assert config.messages.module == "SPSocialConnector"
    assert config.fields.profile_map["Leads"]["home_phone"] == "phone"


def test_env_override_errors_name_the_variable(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as err:
        load_config(write(tmp_path, GOOD), env={"VSB_NETWORKS_VK_IMPORTS_LIMIT": "lots"})
    assert "environment variable VSB_NETWORKS_VK_IMPORTS_LIMIT" in str(err.value)


def test_invalid_yaml_names_the_line(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as err:
        load_config(write(tmp_path, GOOD + "webhook: [unclosed\n"), env={})
    assert "line" in str(err.value) and "not valid YAML" in str(err.value)


def test_unknown_profile_attribute_is_refused(tmp_path: Path) -> None:
    text = GOOD + "fields:\n  profile_map:\n    Contacts:\n      shoe_size: description\n"
    with pytest.raises(ConfigError) as err:
        load_config(write(tmp_path, text), env={})
    assert "fields.profile_map.Contacts.shoe_size" in str(err.value)


def test_vk_intake_is_long_polling_for_a_community_token_and_refused_for_a_user_token(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, GOOD), env={})
    vk = config.networks.vk
    assert (vk.intake, vk.intake_mode, vk.longpoll_wait) == ("auto", "longpoll", 25)
    user = GOOD.replace("    group_id: 42\n", "    group_id: 42\n    token_type: user\n")
    assert load_config(write(tmp_path, user), env={}).networks.vk.intake_mode == "poll"
    polled = GOOD.replace("    group_id: 42\n", "    group_id: 42\n    intake: poll\n")
    assert load_config(write(tmp_path, polled), env={}).networks.vk.intake_mode == "poll"
    for extra, expected in (
        (
            "    token_type: user\n    intake: longpoll\n",
            "networks.vk.intake: longpoll needs a community token",
        ),
        ("    intake: push\n", "networks.vk.intake: must be one of auto, longpoll, poll, not 'push'"),
        ("    longpoll_wait: 120\n", "networks.vk.longpoll_wait: must be between 1 and 90"),
    ):
        with pytest.raises(ConfigError) as caught:
            load_config(
                write(tmp_path, GOOD.replace("    group_id: 42\n", "    group_id: 42\n" + extra)), env={}
            )
        assert all(part in str(caught.value) for part in expected)
