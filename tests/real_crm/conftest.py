"""The opt-in real-CRM suite: runs only when the environment names a real vtiger
(tools/real-vtiger/README.md).

Fixtures to build on:
  real_vtiger   (session) the CRM from the environment, reset to its fresh install once per session
                          (VSB_REAL_VTIGER_NO_RESET=1 skips the reset, for speed while iterating)
  crm           (session) a logged-in vtiger_ws.VtigerClient
  social_crm    crm, or a skip when the CRM lacks SalesPlatform's vk_url/tw_url fields or SPSocialConnector;
                on a plain vtiger the `plugin` fixture creates them first (install.php --create-schema)
  unique        a tag unique to this test run and test, for record names
  make_record   make_record("Contacts", vk_url=...) -> ws id; a unique lastname, deleted after the test
  plugin        (session) vtiger_plugin/ installed as modules/SocialBridge/ and registered
  workflows     workflows.create("Contacts", IMPORT_PROFILE, conditions=has_changed("vk_url")); deleted after
  web_ui        (session) logged into the web UI; web_ui.save("Contacts", {...}, record=...) -> crmid
  networks      the VK, X and Facebook sandboxes
  bridge        the daemon running against the CRM and the sandboxes, the plugin pointed at it
  make_bridge   make_bridge(extra=..., plugin_settings=..., vk_imports=...): a bridge with more configuration
  shipped       shipped(send_field=...): the plugin's recommended workflows on Contacts, stored by
                vtiger_plugin/workflows.php as an administrator runs it; removed after the test
  send_bridge   a bridge whose fields.outgoing_text_field is SEND_FIELD (the field the shipped send workflow
                watches)
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from sandbox.facebook import FacebookSandbox
from sandbox.vk import VkSandbox
from sandbox.x import XSandbox
from vtiger_ws import VtigerClient, VtigerError

from .bridge import VK_IMPORTS, Bridge, Networks
from .plugin import Plugin
from .realenv import RealEnvError, RealVtiger
from .webui import WebUi
from .workflows import Workflows

# Without a real vtiger in the environment, tests/conftest.py skips this whole folder with one line.

RUN_TAG = secrets.token_hex(3)


@pytest.fixture(scope="session")
def real_vtiger() -> RealVtiger:
    try:
        real = RealVtiger.from_env()
    except RealEnvError as exc:
        pytest.fail(str(exc), pytrace=False)
    assert real is not None, "tests/conftest.py collects this folder only when a real vtiger is named"
    if os.environ.get("VSB_REAL_VTIGER_NO_RESET") != "1":
        real.reset()
    return real


@pytest.fixture(scope="session")
def crm(real_vtiger: RealVtiger) -> Iterator[VtigerClient]:
    with real_vtiger.client() as client:
        client.login()
        yield client


@pytest.fixture(scope="session")
def social_crm(real_vtiger: RealVtiger, plugin: Plugin) -> Iterator[VtigerClient]:
    # A client of its own, logged in once the plugin created what a plain vtiger lacks: the session's
    # `crm` may have cached the modules' descriptions from before.
    with real_vtiger.client() as client:
        client.login()
        contacts = {field.name for field in client.describe("Contacts").fields}
        if not {"vk_url", "tw_url"} <= contacts or "SPSocialConnector" not in client.listtypes():
            pytest.skip("needs SalesPlatform's vk_url/tw_url fields and messages module SPSocialConnector")
        yield client


@pytest.fixture
def unique(request: pytest.FixtureRequest) -> str:
    return f"rc{RUN_TAG}-{secrets.token_hex(3)}"


@pytest.fixture
def make_record(crm: VtigerClient, unique: str) -> Iterator[Callable[..., str]]:
    made: list[str] = []
    owner = crm.login_info.user_id

    def make(module: str, **fields: Any) -> str:
        values = {"assigned_user_id": owner, **fields}
        name_field = {"Accounts": "accountname"}.get(module, "lastname")
        values.setdefault(name_field, f"{unique} {len(made) + 1}")
        record_id = str(crm.create(module, values)["id"])
        made.append(record_id)
        return record_id

    yield make
    for record_id in made:
        try:
            crm.delete(record_id)
        except VtigerError:
            pass  # deleted by the test itself


@pytest.fixture(scope="session")
def plugin(real_vtiger: RealVtiger) -> Iterator[Plugin]:
    installed = Plugin(real_vtiger)
    installed.install()
    yield installed
    installed.uninstall()


@pytest.fixture
def workflows(real_vtiger: RealVtiger, plugin: Plugin) -> Iterator[Workflows]:
    made = Workflows(real_vtiger)
    yield made
    made.delete_created()


@pytest.fixture(scope="session")
def web_ui(real_vtiger: RealVtiger, tmp_path_factory: pytest.TempPathFactory) -> WebUi:
    ui = WebUi(real_vtiger, tmp_path_factory.mktemp("web-ui"))
    ui.login()
    return ui


@pytest.fixture
def networks() -> Iterator[Networks]:
    with VkSandbox() as vk, XSandbox() as x, FacebookSandbox() as fb:
        # VK numbers a community's messages once for good, while each sandbox starts again at 1: the CRM
        # keeps the messages of earlier tests, whose ids must not come back (the bridge would rightly take
        # a record with the same vk_message_id for this message's).
        vk.world.next_message_id = 10**6 + secrets.randbelow(10**9)
        yield Networks(vk=vk, x=x, fb=fb)


@pytest.fixture
def make_bridge(
    real_vtiger: RealVtiger, networks: Networks, plugin: Plugin, tmp_path: Path
) -> Iterator[Callable[..., Bridge]]:
    started: list[Bridge] = []

    def make(
        *, extra: str = "", plugin_settings: dict[str, str] | None = None, vk_imports: str = VK_IMPORTS
    ) -> Bridge:
        bridge = Bridge(
            real_vtiger,
            networks,
            tmp_path / f"bridge{len(started) + 1}",
            plugin,
            extra=extra,
            plugin_settings=plugin_settings,
            vk_imports=vk_imports,
        )
        started.append(bridge)
        return bridge.start()

    yield make
    for bridge in started:
        bridge.stop()


@pytest.fixture
def bridge(make_bridge: Callable[..., Bridge]) -> Bridge:
    return make_bridge()


SEND_FIELD = "description"  # a field every vtiger has; the shipped send workflow watches it
SHIPPED = (
    "Social bridge: import the profile of a new record",
    "Social bridge: import the profile when a link changes",
    "Social bridge: send the message typed into the send field",
)


@pytest.fixture
def shipped(real_vtiger: RealVtiger, plugin: Plugin) -> Iterator[Callable[..., None]]:
    """install(): the plugin's recommended workflows on Contacts, stored by vtiger_plugin/workflows.php."""

    def install(send_field: str = SEND_FIELD) -> None:
        done = real_vtiger.php_run(
            "modules/SocialBridge/workflows.php", ["--module=Contacts", f"--send-field={send_field}"]
        )
        assert done.returncode == 0, done.stdout + done.stderr
        assert [
            line.split(": ", 1)[1].split(" (workflow")[0]
            for line in done.stdout.splitlines()
            if line.startswith("created")
        ] == list(SHIPPED)

    yield install
    done = real_vtiger.php_run("modules/SocialBridge/workflows.php", ["--module=Contacts", "--remove"])
    assert done.returncode == 0, done.stderr


@pytest.fixture
def send_bridge(make_bridge: Callable[..., Bridge]) -> Bridge:
    return make_bridge(extra=f"fields: {{outgoing_text_field: {SEND_FIELD}}}\n")
