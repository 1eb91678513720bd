"""The sandbox against what a real SalesPlatform 7.2 server answered (contracts/, recorded 2026-11-30)."""

from __future__ import annotations

import hashlib
import json

import pytest
import requests
from test_vtiger_helpers import CONTRACTS, crm, http  # noqa: F401  (fixtures)
from vtiger_replay import load, replay

from sandbox.vtiger import VtigerSandbox

# The recorder built its `update` element by editing the dict it had retrieved, in place, so the stored
# `retrieve` answer shows the values sent by the *next* exchange. Those two values are not compared.
MUTATED_AFTER_RECORDING = {9: frozenset({"title", "tw_url"})}


def test_replay_of_the_recorded_transcript(crm: VtigerSandbox, http: requests.Session) -> None:  # noqa: F811
    transcript = load(CONTRACTS / "transcript.json")
    differences = replay(transcript, crm, http, skips=MUTATED_AFTER_RECORDING)
    assert [str(d) for d in differences] == []
    assert crm.count("login") == 3 and crm.count("nosuchop") == 1


@pytest.mark.parametrize("module", ["Contacts", "Accounts", "Leads", "SPSocialConnector"])
@pytest.mark.parametrize(("profile", "language"), [("salesplatform-7.2", "ru_ru"), ("vtiger-7", "en_us")])
def test_describe_equals_the_recorded_files(
    module: str,
    profile: str,
    language: str,
    http: requests.Session,  # noqa: F811
) -> None:
    expected = json.loads((CONTRACTS / f"describe_{module}.{language}.json").read_text(encoding="utf-8"))
    with VtigerSandbox(profile) as sandbox:
        endpoint = sandbox.url + "/webservice.php"
        token = http.get(
            endpoint, params={"operation": "getchallenge", "username": "admin"}, timeout=10
        ).json()["result"]["token"]
        key = hashlib.md5((token + sandbox.access_key).encode()).hexdigest()
        login = http.post(
            endpoint, data={"operation": "login", "username": "admin", "accessKey": key}, timeout=10
        ).json()["result"]
        answer = http.get(
            endpoint,
            params={"operation": "describe", "elementType": module, "sessionName": login["sessionName"]},
            timeout=10,
        )
    assert answer.json() == expected
    assert list(answer.json()["result"]) == list(expected["result"])


def test_fb_url_flag_adds_the_field_after_tw_url() -> None:
    with VtigerSandbox(fb_url=True) as sandbox:
        for module in ("Contacts", "Accounts", "Leads"):
            names = [f["name"] for f in sandbox.schema.modules[module].describe["fields"]]
            assert names[names.index("tw_url") + 1] == "fb_url"
            assert sandbox.get(
                sandbox.seed(
                    module, {"lastname": "X", "accountname": "X", "fb_url": "https://facebook.com/x"}
                )
            )["fb_url"]
    with VtigerSandbox() as sandbox:
        assert "fb_url" not in sandbox.schema.modules["Contacts"].by_name
