"""TLS verification is on for every outbound call, and no code path switches it off or swaps the CA bundle.

Two kinds of proof: the `requests` sessions the clients build keep `verify=True` (and the source never
says otherwise), and a real handshake with a self-signed HTTPS server on 127.0.0.1 is refused by the vtiger
client and by every provider before any HTTP request is made.
"""

from __future__ import annotations

import re
import shutil
import ssl
import subprocess
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar

import pytest
import requests

from providers.base import AccountId
from providers.errors import ProviderUnavailable
from providers.facebook import FacebookProvider
from providers.max import MaxProvider
from providers.ratelimit import RateLimiter
from providers.telegram import TelegramProvider
from providers.vk import VkProvider
from providers.x import XProvider
from vtiger_ws import VtigerClient
from vtiger_ws.errors import VtigerConnectionError

ROOT = Path(__file__).resolve().parents[2]
SOURCE_DIRS = ("bridge", "providers", "vtiger_ws")
# Anything that would weaken or redirect certificate checks from inside the code.
FORBIDDEN = re.compile(
    r"verify\s*=\s*(False|0|None)|\.verify\s*=|trust_env|REQUESTS_CA_BUNDLE|CURL_CA_BUNDLE|SSL_CERT_FILE"
    r"|CERT_NONE|_create_unverified_context|check_hostname\s*=\s*False|disable_warnings"
)


def _sessions(https_url: str) -> dict[str, requests.Session]:
    clients: dict[str, Any] = {
        "vtiger": VtigerClient(https_url, "admin", "key"),
        "vk": VkProvider("token", group_id=1, api_url=https_url),
        "x": XProvider("ck", "cs", "at", "ats", api_url=https_url),
        "facebook": FacebookProvider("token", "1", api_url=https_url),
        "telegram": TelegramProvider("1:token", api_url=https_url),
        "max": MaxProvider("token", api_url=https_url),
    }
    sessions = {
        "vtiger": clients["vtiger"]._transport.session,
        "vk": clients["vk"]._transport.session,
        "x": clients["x"]._http._session,
        "facebook": clients["facebook"]._graph._session,
        "telegram": clients["telegram"]._http._session,
        "max": clients["max"]._http._session,
    }
    for client in clients.values():
        client.close()
    return sessions


def test_every_client_session_verifies_certificates() -> None:
    sessions = _sessions("https://127.0.0.1:9/")
    assert set(sessions) == {"vtiger", "vk", "x", "facebook", "telegram", "max"}
    for name, session in sessions.items():
        assert session.verify is True, name
        for prefix in ("https://",):
            adapter = session.get_adapter(prefix + "example.org")
            assert type(adapter) is requests.adapters.HTTPAdapter, name  # no custom SSL adapter


def test_no_source_file_weakens_tls() -> None:
    offenders = []
    for folder in SOURCE_DIRS:
        for path in sorted((ROOT / folder).rglob("*.py")):
            for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
                if FORBIDDEN.search(line):
                    offenders.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()}")
    assert offenders == []


class _Canary(BaseHTTPRequestHandler):
    hits: ClassVar[list[str]] = []

    def do_GET(self) -> None:
        self.hits.append(self.path)
        self.send_response(200)
        self.end_headers()

    do_POST = do_GET

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def self_signed(tmp_path: Path) -> Iterator[tuple[str, list[str]]]:
    """HTTPS on 127.0.0.1 with a certificate no CA signed; yields its URL and the requests it got."""
    if shutil.which("openssl") is None:
        pytest.skip("openssl is needed to make a throw-away certificate")
    key, cert = tmp_path / "key.pem", tmp_path / "cert.pem"
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            str(key),
            "-out",
            str(cert),
            "-days",
            "1",
            "-subj",
            "/CN=127.0.0.1",
            "-addext",
            "subjectAltName=IP:127.0.0.1",
        ],
        check=True,
        capture_output=True,
        timeout=60,
    )
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    handler = type("Canary", (_Canary,), {"hits": []})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield f"https://127.0.0.1:{server.server_address[1]}", handler.hits
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def test_a_self_signed_server_is_refused_by_every_client(self_signed: tuple[str, list[str]]) -> None:
    url, hits = self_signed
    fast = RateLimiter(1000, burst=1000)
    with VtigerClient(url, "admin", "key", timeout=(5.0, 5.0)) as client:
        with pytest.raises(VtigerConnectionError):
            client.login()
    providers: list[Any] = [
        VkProvider("token", group_id=1, api_url=url + "/method/", rate_limiter=fast, timeout=5.0),
        XProvider("ck", "cs", "at", "ats", api_url=url, rate_limiter=fast, timeout=5.0),
        FacebookProvider("token", "1", api_url=url + "/v21.0", rate_limiter=fast, timeout=5.0),
        TelegramProvider("1:token", api_url=url, rate_limiter=fast, timeout=5.0),
        MaxProvider("token", api_url=url, rate_limiter=fast, timeout=5.0),
    ]
    try:
        for provider in providers[:-1]:  # MAX reads profiles only of dialogs it has seen: no request here
            with pytest.raises(ProviderUnavailable):
                provider.fetch_profiles([AccountId("12345")])
        for bot in providers[-2:]:
            with pytest.raises(ProviderUnavailable):
                bot.send_message(AccountId("12345"), "x", "k")
    finally:
        for provider in providers:
            provider.close()
    assert hits == []  # the handshake failed: not one request (nor its token) reached the server
