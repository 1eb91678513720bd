"""Secrets never reach the log (even at DEBUG, urllib3 included), the terminal, `status` or error texts."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest

from bridge.cli.main import main
from bridge.daemon.logs import configure
from providers.base import AccountId
from providers.errors import ProviderError
from providers.facebook import FacebookProvider
from providers.ratelimit import RateLimiter
from providers.vk import VkProvider
from providers.x import XProvider
from sandbox.facebook import FacebookSandbox
from sandbox.vk import VkSandbox
from sandbox.vtiger import VtigerSandbox
from sandbox.x import XSandbox
from tests.daemon.helpers import write_config
from tests.security.secrets_support import leaks, planted_secrets, session_names
from vtiger_ws import VtigerClient


def _close_file_handlers() -> None:
    # bridge.daemon.logs.configure closes the handlers of its earlier calls, but the last one stays open after
    # main() returns; close it between in-process CLI calls so no file is left open.
    for handler in list(logging.getLogger().handlers):
        if isinstance(handler, logging.FileHandler):
            handler.close()


def _cli(*args: str) -> int:
    try:
        return main(list(args))
    finally:
        _close_file_handlers()


@pytest.fixture
def quiet_sandboxes() -> Iterator[None]:
    """The sandboxes run in this process and log their own access lines (vtiger GET URLs with the
    sessionName, as a real web server's access log would): those are the server's log, not the bridge's."""
    sandbox_log = logging.getLogger("sandbox")
    old = sandbox_log.level
    sandbox_log.setLevel(logging.WARNING)
    yield
    sandbox_log.setLevel(old)


@pytest.mark.usefixtures("quiet_sandboxes")
def test_cli_at_debug_shows_no_secret_in_log_output_or_status(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    log_file = tmp_path / "bridge.log"
    with VtigerSandbox() as crm, VkSandbox() as vk, XSandbox() as x:
        uid = vk.add_user("Cli", "Secret", screen_name="cli_secret", city="Тверь")
        vk.incoming(uid, "привет")
        record = crm.seed(
            "Contacts",
            {"lastname": "Secret", "assigned_user_id": "19x1", "vk_url": "https://vk.com/cli_secret"},
        )
        config = str(
            write_config(tmp_path, crm, vk, x=x, extra=f'logging: {{level: DEBUG, file: "{log_file}"}}\n')
        )
        codes = [
            _cli("-c", config, "check"),
            _cli("-c", config, "import-profile", record),
            _cli("-c", config, "send", record, "--text", "first", "--network", "vk"),
            _cli("-c", config, "import-messages", "--network", "vk"),
        ]
        # A refused send (its error text is kept and shown by `status`), then a revoked token.
        vk.set_user(uid, blacklisted_us=True)
        codes.append(_cli("-c", config, "send", record, "--text", "second", "--network", "vk"))
        vk.revoke_token(vk.community_token)
        codes.append(_cli("-c", config, "send", record, "--text", "third", "--network", "vk"))
        codes.append(_cli("-c", config, "check"))
        status_code = _cli("-c", config, "status")
        secrets = planted_secrets(crm, vk, x)
        names = session_names(crm)
    out = capsys.readouterr()
    assert codes[:4] == [0, 0, 0, 0] and status_code == 0, out
    assert names, "the commands logged in to vtiger"
    text = out.out + out.err + log_file.read_text(encoding="utf-8")
    assert "vk: last import" in out.out and "recent failures" in out.out  # status printed what it knows
    assert leaks(text, secrets) == []
    assert "sessionName" not in text


def test_configure_twice_closes_the_previous_log_file(tmp_path: Path) -> None:
    configure("INFO", "text", str(tmp_path / "first.log"), [])
    first = next(  # by its file: an earlier test may have left another file handler behind
        h
        for h in logging.getLogger().handlers
        if isinstance(h, logging.FileHandler) and h.baseFilename.endswith("first.log")
    )
    try:
        configure("INFO", "text", str(tmp_path / "second.log"), [])
        assert first.stream is None or first.stream.closed
    finally:
        first.close()
        _close_file_handlers()


@pytest.mark.usefixtures("quiet_sandboxes")
def test_bridge_logging_clamps_urllib3_whose_debug_lines_would_show_the_vtiger_session(
    tmp_path: Path,
) -> None:
    """urllib3 logs every request line at DEBUG, and vtiger's reads are GETs with `sessionName` in the
    query string: the bridge keeps urllib3 at INFO even when its own level is DEBUG."""
    log_file = tmp_path / "bridge.log"
    with VtigerSandbox() as crm:
        configure("DEBUG", "text", str(log_file), [crm.access_key])
        assert logging.getLogger("urllib3").getEffectiveLevel() >= logging.INFO
        with VtigerClient(crm.url, crm.username, crm.access_key) as client:
            client.login()
            client.query("SELECT id FROM Contacts LIMIT 1;")
        # What urllib3 would have said without the clamp (the residual risk of a custom logging setup).
        raw = _Collect()
        urllib3 = logging.getLogger("urllib3")
        urllib3.addHandler(raw)
        urllib3.setLevel(logging.DEBUG)
        urllib3.propagate = False  # collected here only, not in the bridge's log
        try:
            with VtigerClient(crm.url, crm.username, crm.access_key) as client:
                client.login()
                client.query("SELECT id FROM Contacts LIMIT 1;")
        finally:
            urllib3.removeHandler(raw)
            urllib3.setLevel(logging.INFO)
            urllib3.propagate = True
        names = session_names(crm)
    bridge_log = log_file.read_text(encoding="utf-8")
    assert names and leaks(bridge_log, names) == []
    assert any(name in raw.text for name in names), "urllib3 DEBUG shows the sessionName"


class _Collect(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.text = ""

    def emit(self, record: logging.LogRecord) -> None:
        self.text += record.getMessage() + "\n"


def test_provider_errors_never_carry_the_credentials() -> None:
    """Every network refusing its credentials: the error's text and args hold no token."""
    with VkSandbox() as vk, XSandbox() as x, FacebookSandbox() as fb:
        fast = RateLimiter(1000, burst=1000)
        bad = [
            VkProvider(
                "vk1.a.planted-secret-vk-token", group_id=vk.group_id, api_url=vk.url, rate_limiter=fast
            ),
            XProvider(
                x.consumer_key,
                x.consumer_secret,
                x.access_token,
                "planted-secret-x",
                api_url=x.url,
                rate_limiter=fast,
            ),
            FacebookProvider(
                "EAABplanted-secret-fb-token",
                fb.page_id,
                api_url=fb.url,
                rate_limiter=fast,
                app_secret="planted-app-secret",
            ),
        ]
        planted = [
            "planted-secret-vk-token",
            "planted-secret-x",
            "planted-secret-fb-token",
            "planted-app-secret",
            x.consumer_secret,
            x.access_token,
        ]
        texts = []
        try:
            for provider in bad:
                for call in (
                    lambda p=provider: p.fetch_profiles([AccountId("1")]),
                    lambda p=provider: p.send_message(AccountId("1"), "hi", "k"),
                ):
                    with pytest.raises(ProviderError) as caught:
                        call()
                    texts.append(f"{caught.value} {caught.value.args!r} {caught.value.__cause__!r}")
        finally:
            for provider in bad:
                provider.close()
    assert leaks("\n".join(texts), planted) == []
