"""`run_bridge.py auth x [--write]`: X's OAuth 1.0a PIN flow against the X sandbox, end to end.

Only the person is simulated (the PIN typed at the prompt, the "y"/"n" answer); every HTTP exchange is
real and signed, and the sandbox verifies the signatures.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
import yaml
from requests_oauthlib import OAuth1Session

from bridge.cli.main import main
from bridge.config import load_config
from providers.x import XProvider
from sandbox.x import XSandbox

ROOT = Path(__file__).resolve().parents[2]
WEBHOOK_SECRET = "test-webhook-secret-0123456789"


@pytest.fixture
def x() -> Iterator[XSandbox]:
    with XSandbox() as sandbox:
        yield sandbox
        assert sandbox.tweets == []


def example_config(tmp_path: Path, x: XSandbox, *, consumer_secret: str | None = None) -> Path:
    """The shipped example file, filled in as an administrator would before the first `auth x`:
    X still disabled and its user token still the placeholder."""
    text = (ROOT / "config" / "example-config.yaml").read_text(encoding="utf-8")
    for old, new in [
        ("  url: https://crm.example.com", "  url: https://crm.acme.test"),
        ("  access_key: CHANGE_ME", "  access_key: k3yK3yK3yK3yK3y"),
        ("    token: CHANGE_ME", "    token: vk1.a.community-token"),
        ("    group_id: 0", "    group_id: 229000001"),
        ("  secret: CHANGE_ME", f"  secret: {WEBHOOK_SECRET}"),
        ("    consumer_key: CHANGE_ME", f"    consumer_key: {x.consumer_key}"),
        ("    consumer_secret: CHANGE_ME", f"    consumer_secret: {consumer_secret or x.consumer_secret}"),
        ("    api_url: https://api.x.com", f"    api_url: {x.url}"),
    ]:
        assert text.count(old + "\n") == 1, old
        text = text.replace(old + "\n", new + "\n")
    path = tmp_path / "config.yaml"
    path.write_text(text, encoding="utf-8")
    load_config(path, env={})  # the starting point is a valid file
    return path


def flow_config(tmp_path: Path, x: XSandbox) -> Path:
    """A compact file with X enabled in flow style, its old token about to be replaced."""
    path = tmp_path / "flow.yaml"
    path.write_text(
        f"""version: 1  # compact style
vtiger: {{url: "https://crm.acme.test", username: admin, access_key: "k3yK3yK3yK3yK3y"}}
networks:
  x: {{enabled: true, consumer_key: "{x.consumer_key}", consumer_secret: "{x.consumer_secret}",
       access_token: "{x.access_token}", access_token_secret: "{x.access_token_secret}",
       api_url: "{x.url}"}}   # rotated yearly
webhook: {{secret: "{WEBHOOK_SECRET}"}}
""",
        encoding="utf-8",
    )
    load_config(path, env={})
    return path


class Person:
    """The administrator at the terminal: opens the printed address, authorises, types the PIN."""

    def __init__(
        self, x: XSandbox, capsys: pytest.CaptureFixture[str], *, confirm: str = "y", pin: str | None = None
    ) -> None:
        self.x, self.capsys, self.confirm, self.pin = x, capsys, confirm, pin
        self.prompts: list[str] = []
        self.out = ""

    def __call__(self, prompt: str = "") -> str:
        self.prompts.append(prompt)
        self.out += self.capsys.readouterr().out
        if "PIN" in prompt:
            url = re.search(r"(http://\S+/oauth/authorize\?\S+)", self.out)
            assert url, self.out
            page = requests.get(url.group(1), timeout=5)
            assert page.status_code == 200 and "Authorize" in page.text
            request_token = re.search(r"oauth_token=([^&\s]+)", url.group(1))
            assert request_token
            real_pin = self.x.authorize(request_token.group(1))
            return f" {real_pin}\n" if self.pin is None else self.pin
        return self.confirm


def run_auth(path: Path, person: Person, monkeypatch: pytest.MonkeyPatch, *extra: str) -> tuple[int, str]:
    monkeypatch.setattr("builtins.input", person)
    for name in ("VSB_NETWORKS_X_ACCESS_TOKEN", "VSB_NETWORKS_X_ACCESS_TOKEN_SECRET", "VSB_CONFIG"):
        monkeypatch.delenv(name, raising=False)
    code = main(["-c", str(path), "auth", "x", *extra])
    captured = person.capsys.readouterr()
    return code, person.out + captured.out + captured.err


def printed_tokens(out: str) -> tuple[str, str]:
    token = re.search(r"^  access_token: (\S+)$", out, re.MULTILINE)
    secret = re.search(r"^  access_token_secret: (\S+)$", out, re.MULTILINE)
    assert token and secret, out
    return token.group(1), secret.group(1)


def test_pin_flow_prints_a_token_that_works_for_api_calls(
    tmp_path: Path,
    x: XSandbox,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    path = example_config(tmp_path, x)
    before = path.read_bytes()
    x.incoming_dm(x.add_user("ivan_petrov", "Ivan Petrov"), "Hello from X")
    code, out = run_auth(path, Person(x, capsys), monkeypatch)
    assert code == 0, out
    assert "@CrmBridgeDesk" in out and x.me in out
    token, secret = printed_tokens(out)
    assert token != x.access_token and token.startswith(x.me + "-")
    assert path.read_bytes() == before  # no --write: nothing written, nothing asked
    assert x.count("oauth_request_token") == 1 and x.count("oauth_access_token") == 1
    with XProvider(x.consumer_key, x.consumer_secret, token, secret, api_url=x.url) as provider:
        assert provider.me_id() == x.me
        messages, _ = provider.fetch_messages(None, 20)
    assert [m.text for m in messages] == ["Hello from X"]
    assert x.consumer_secret not in out


def test_write_yes_replaces_exactly_the_two_values(
    tmp_path: Path,
    x: XSandbox,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    path = example_config(tmp_path, x)
    before = path.read_text(encoding="utf-8")
    person = Person(x, capsys, confirm="y")
    code, out = run_auth(path, person, monkeypatch, "--write")
    assert code == 0, out
    assert str(path) in person.prompts[-1]
    token, secret = printed_tokens(out)
    # Comments, order, other sections: untouched; the two lines hold the tokens (plain, or quoted where plain
    # YAML would read a token otherwise, e.g. one starting with '-').
    after = path.read_text(encoding="utf-8").splitlines()
    changed = [(old, new) for old, new in zip(before.splitlines(), after, strict=True) if old != new]
    assert [old.strip() for old, _ in changed] == [
        "access_token: CHANGE_ME",
        "access_token_secret: CHANGE_ME",
    ]
    assert [yaml.safe_load(new.strip()) for _, new in changed] == [
        {"access_token": token},
        {"access_token_secret": secret},
    ]
    config = load_config(path, env={"VSB_NETWORKS_X_ENABLED": "true"})
    assert config.networks.x.access_token.reveal() == token
    assert config.networks.x.access_token_secret.reveal() == secret
    assert config.networks.facebook.page_token.reveal() == "CHANGE_ME"  # another section's placeholder
    assert not list(tmp_path.glob("*.tmp*"))


def test_write_into_a_flow_style_section_keeps_quotes_and_comments(
    tmp_path: Path,
    x: XSandbox,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    path = flow_config(tmp_path, x)
    before = path.read_text(encoding="utf-8")
    code, out = run_auth(path, Person(x, capsys, confirm="yes"), monkeypatch, "--write")
    assert code == 0, out
    token, secret = printed_tokens(out)
    expected = before.replace(f'"{x.access_token}"', f'"{token}"').replace(
        f'"{x.access_token_secret}"', f'"{secret}"'
    )
    assert path.read_text(encoding="utf-8") == expected
    config = load_config(path, env={})
    assert (config.networks.x.access_token.reveal(), config.networks.x.access_token_secret.reveal()) == (
        token,
        secret,
    )


def test_write_no_writes_nothing(
    tmp_path: Path,
    x: XSandbox,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    path = example_config(tmp_path, x)
    before = path.read_bytes()
    code, out = run_auth(path, Person(x, capsys, confirm="n"), monkeypatch, "--write")
    assert code == 0, out
    assert path.read_bytes() == before
    assert "not written" in out.lower() or "nothing written" in out.lower()
    printed_tokens(out)  # still shown, to be set by hand or in the environment


@pytest.mark.parametrize("pin", ["0000000", ""])
def test_wrong_pin_is_a_clear_error_without_traceback_or_secret(
    tmp_path: Path, x: XSandbox, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, pin: str
) -> None:
    path = example_config(tmp_path, x)
    before = path.read_bytes()
    person = Person(x, capsys, pin=pin)
    code, out = run_auth(path, person, monkeypatch, "--write")
    assert code not in (0, 1), out
    assert "PIN" in out and "Traceback" not in out
    assert x.consumer_secret not in out
    assert "access_token:" not in out
    assert len(person.prompts) == 1  # never asked to write
    assert path.read_bytes() == before


def test_wrong_consumer_secret_is_a_clear_error(
    tmp_path: Path,
    x: XSandbox,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    wrong = "xcs-not-the-right-one-0123456789"
    path = example_config(tmp_path, x, consumer_secret=wrong)
    person = Person(x, capsys)
    code, out = run_auth(path, person, monkeypatch)
    assert code not in (0, 1), out
    assert "consumer" in out.lower() and "Traceback" not in out
    assert wrong not in out and x.consumer_secret not in out
    assert person.prompts == []  # no PIN asked for a flow that cannot work


def test_missing_consumer_key_is_a_clear_error(
    tmp_path: Path,
    x: XSandbox,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    path = example_config(tmp_path, x)
    path.write_text(
        path.read_text(encoding="utf-8").replace(
            f"consumer_key: {x.consumer_key}", "consumer_key: CHANGE_ME"
        ),
        encoding="utf-8",
    )
    person = Person(x, capsys)
    code, out = run_auth(path, person, monkeypatch)
    assert code not in (0, 1), out
    assert "networks.x.consumer_key" in out and "Traceback" not in out
    assert x.count() == 0 and person.prompts == []


def test_sandbox_request_token_needs_a_good_signature_and_a_callback(x: XSandbox) -> None:
    bad = OAuth1Session(x.consumer_key, client_secret="wrong", callback_uri="oob")
    assert bad.post(x.url + "/oauth/request_token", timeout=5).status_code == 401
    no_callback = OAuth1Session(x.consumer_key, client_secret=x.consumer_secret)
    assert no_callback.post(x.url + "/oauth/request_token", timeout=5).status_code == 401
    good = OAuth1Session(x.consumer_key, client_secret=x.consumer_secret, callback_uri="oob")
    answer = good.post(x.url + "/oauth/request_token", timeout=5)
    assert answer.status_code == 200
    assert re.fullmatch(
        r"oauth_token=[^&]+&oauth_token_secret=[^&]+&oauth_callback_confirmed=true", answer.text
    )


def test_sandbox_request_token_is_good_for_one_access_token_only(x: XSandbox) -> None:
    oauth = OAuth1Session(x.consumer_key, client_secret=x.consumer_secret, callback_uri="oob")
    request_token = oauth.fetch_request_token(x.url + "/oauth/request_token")["oauth_token"]
    pin = x.authorize(request_token)
    forged = OAuth1Session(
        x.consumer_key,
        client_secret=x.consumer_secret,
        resource_owner_key=request_token,
        resource_owner_secret="not-the-request-token-secret",
        verifier=pin,
    )
    assert forged.post(x.url + "/oauth/access_token", timeout=5).status_code == 401
    tokens = oauth.fetch_access_token(x.url + "/oauth/access_token", verifier=pin)
    assert tokens["user_id"] == x.me and tokens["screen_name"] == "CrmBridgeDesk"
    again = OAuth1Session(
        x.consumer_key,
        client_secret=x.consumer_secret,
        resource_owner_key=request_token,
        resource_owner_secret=oauth.auth.client.resource_owner_secret or "",
        verifier=pin,
    )
    assert again.post(x.url + "/oauth/access_token", timeout=5).status_code == 401
    with pytest.raises(KeyError):
        x.authorize(request_token)


def test_writer_keeps_crlf_fills_an_empty_value_and_refuses_a_file_without_x(tmp_path: Path) -> None:
    from bridge.cli.auth import _write_x_tokens

    path = tmp_path / "crlf.yaml"
    text = (
        "networks:\r\n  x:\r\n    enabled: true   # on\r\n    access_token:\r\n"
        "    access_token_secret: 'old'  # keep me\r\n  vk: {enabled: false}\r\n"
    )
    path.write_bytes(text.encode("utf-8"))
    _write_x_tokens(path, "123-abc", "s3cr'et")
    assert path.read_bytes().decode("utf-8") == text.replace(
        "access_token:\r\n", "access_token: 123-abc\r\n"
    ).replace("'old'", "'s3cr''et'")
    other = tmp_path / "no-x.yaml"
    other.write_text("networks:\n  vk: {enabled: true}\n  # x:\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"no networks\.x section"):
        _write_x_tokens(other, "123-abc", "secret")
    assert other.read_text(encoding="utf-8") == "networks:\n  vk: {enabled: true}\n  # x:\n"


def test_auth_works_while_x_is_enabled_with_placeholder_tokens_and_says_what_next(
    tmp_path: Path,
    x: XSandbox,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Switching X on before having its token used to make `auth x` itself refuse the file (exit 78)."""
    path = example_config(tmp_path, x)
    text = path.read_text(encoding="utf-8")
    x_section = text.index("  x:\n")
    path.write_text(text[:x_section] + text[x_section:].replace("enabled: false", "enabled: true", 1))
    code, out = run_auth(path, Person(x, capsys, confirm="y"), monkeypatch, "--write")
    assert code == 0, out
    assert "next: 1. run: vtiger-social-bridge -c" in out and "reload the daemon" in out
    load_config(path, env={})  # the tokens are in now: the file is valid as it is


def test_auth_without_write_says_where_the_values_go(
    tmp_path: Path,
    x: XSandbox,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    code, out = run_auth(example_config(tmp_path, x), Person(x, capsys), monkeypatch)
    assert code == 0, out
    assert "next: 1. put the two values above into networks.x" in out
    assert "2. set networks.x.enabled: true" in out and "restart the daemon" in out
