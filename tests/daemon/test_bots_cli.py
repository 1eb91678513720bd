"""The command line for the bots: `check` names each bot (or says in one line what is wrong, without the
token), `invite` prints a link, and the configuration refuses a malformed bot section in one line per key."""

from __future__ import annotations

from pathlib import Path

import pytest

from bridge.cli.main import main
from sandbox.max import MaxSandbox
from sandbox.telegram import TelegramSandbox
from sandbox.vtiger import VtigerSandbox
from tests.daemon.helpers import SECRET


def _config(
    tmp: Path, crm: VtigerSandbox, tg: TelegramSandbox, mx: MaxSandbox, *, tg_token: str = "", extra: str = ""
) -> Path:
    text = f"""version: 1
vtiger: {{url: "{crm.url}", username: admin, access_key: "{crm.access_key}"}}
networks:
  telegram: {{enabled: true, token: "{tg_token or tg.token}", api_url: "{tg.url}"{extra}}}
  max: {{enabled: true, token: "{mx.token}", api_url: "{mx.url}"}}
webhook: {{bind: 127.0.0.1, port: 0, secret: "{SECRET}"}}
state: {{path: "{tmp / "state.sqlite3"}"}}
"""
    path = tmp / "config.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_check_names_each_bot_and_reads_no_updates(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with VtigerSandbox(messengers=True) as crm, TelegramSandbox() as tg, MaxSandbox() as mx:
        uid = tg.add_user("Waiting", "Client")
        tg.press_start(uid, "sometoken")
        code = main(["-c", str(_config(tmp_path, crm, tg, mx)), "check"])
        pending = tg.pending()
    out = capsys.readouterr().out
    assert code == 0, out
    assert "telegram bot" in out and "@crm_bridge_bot" in out and "max bot" in out
    assert len(pending) == 1  # the Start is still there for the daemon's poller


def test_check_says_a_telegram_token_is_wrong_without_showing_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    wrong = "123456789:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
    with VtigerSandbox(messengers=True) as crm, TelegramSandbox() as tg, MaxSandbox() as mx:
        code = main(["-c", str(_config(tmp_path, crm, tg, mx, tg_token=wrong)), "check"])
    out = capsys.readouterr().out
    [line] = [line for line in out.splitlines() if line.startswith("telegram")]
    assert code == 3 and "FAILED" in line and "networks.telegram" in line
    assert wrong not in out and wrong.split(":")[1] not in out


def test_check_says_the_api_cannot_be_reached(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with VtigerSandbox(messengers=True) as crm, TelegramSandbox() as tg, MaxSandbox() as mx:
        path = _config(tmp_path, crm, tg, mx)
        path.write_text(path.read_text().replace(tg.url, "http://127.0.0.1:9"))  # nothing listens there
        code = main(["-c", str(path), "check"])
    out = capsys.readouterr().out
    [line] = [line for line in out.splitlines() if line.startswith("telegram")]
    assert code == 3 and "FAILED" in line and "could not be reached" in line
    assert tg.token not in out and tg.token.split(":")[1] not in out


def test_invite_prints_a_link_for_a_webservice_id_or_a_record_number(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with VtigerSandbox(messengers=True) as crm, TelegramSandbox() as tg, MaxSandbox() as mx:
        record = crm.seed("Contacts", {"lastname": "Invited", "assigned_user_id": "19x1"})
        path = str(_config(tmp_path, crm, tg, mx))
        assert main(["-c", path, "invite", record, "--network", "telegram"]) == 0
        first = capsys.readouterr().out
        number = record.split("x")[1]
        assert main(["-c", path, "invite", "--module", "Contacts", number, "--network", "max"]) == 0
        second = capsys.readouterr().out
        assert main(["-c", path, "invite", "12x999999", "--network", "max"]) == 2
        refused = capsys.readouterr().err
    assert first.startswith("https://t.me/crm_bridge_bot?start=") and "works once" in first
    assert second.startswith("https://max.ru/crm_bridge_bot?start=")
    [error] = [line for line in refused.splitlines() if line.startswith("error:")]
    assert "12x999999 was not found" in error


def test_a_malformed_bot_section_is_refused_line_by_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    token = "not-a-bot-token-but-still-secret-42"
    with VtigerSandbox(messengers=True) as crm, TelegramSandbox() as tg, MaxSandbox() as mx:
        extra = f', proxy_url: "ftp://proxy", ca_bundle: "{tmp_path / "missing.pem"}"'
        code = main(["-c", str(_config(tmp_path, crm, tg, mx, tg_token=token, extra=extra)), "check"])
    err = capsys.readouterr().err
    assert code == 78
    assert "networks.telegram.token" in err and "@BotFather" in err and token not in err
    assert "networks.telegram.proxy_url" in err and "ftp://proxy" not in err  # a proxy may hold a password
    assert "networks.telegram.ca_bundle" in err and "missing.pem" in err
