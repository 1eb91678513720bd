"""Every exchange recorded from a real SalesPlatform 7.2 (tools/real-vtiger/record.py) is answered by the
sandbox identically after masking: the requests the bridge itself makes, then the quirks."""

from __future__ import annotations

import pytest
import requests
from vtiger_replay import INSTALL_ZONE, RECORDED, load, replay

from sandbox.vtiger import VtigerSandbox

TRANSCRIPT = load(RECORDED / "transcript.json")


def test_the_sandbox_answers_every_recorded_exchange_identically() -> None:
    with VtigerSandbox(timezone=INSTALL_ZONE) as crm, requests.Session() as http:
        differences = replay(TRANSCRIPT, crm, http)
    assert [str(d) for d in differences] == [], f"{len(differences)} of {len(TRANSCRIPT)} exchanges differ"


def test_the_recording_covers_the_bridge_and_the_known_differences() -> None:
    labels = [e["label"] for e in TRANSCRIPT]
    assert sum(label.startswith("bridge ") for label in labels) >= 40
    for needed in (
        "ERR create Contact without assigned_user_id",
        "query by the stored form (one ? per byte)",
        "create Lead without firstname",
        "describe ModComments",
        "describe Users",
        "add_related without a relation label",
        "query comments of the deleted Contact",
        "ERR query IS NULL",
    ):
        assert needed in labels


@pytest.mark.parametrize("secret", ["user_password", "confirm_password", "accesskey"])
def test_no_secret_was_recorded(secret: str) -> None:
    text = (RECORDED / "transcript.json").read_text(encoding="utf-8")
    assert f'"{secret}": "*masked*"' in text
    assert "$2y$" not in text
    for exchange in TRANSCRIPT:
        if exchange["request"]["params"].get("operation") == "login" and exchange["response"].get("success"):
            assert exchange["request"]["params"]["accessKey"] == "*masked*"
