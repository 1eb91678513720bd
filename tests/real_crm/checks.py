"""What the real-CRM tests look at: people in the VK sandbox, the messages and comments the bridge left in the
CRM, and (through vtiger's own PHP, tests/real_crm/crmdb.php) the rows the webservice cannot show."""

from __future__ import annotations

import json
import secrets
from pathlib import Path
from typing import Any

from sandbox.vk import VkSandbox
from vtiger_ws import VtigerClient, vtql

from .realenv import RealEnvError, RealVtiger

MESSAGE_FIELDS = ["id", "message", "type", "vk_status", "vk_message_id"]
CRMDB = Path(__file__).with_name("crmdb.php")


def vk_person(vk: VkSandbox, first: str, last: str, **profile: Any) -> int:
    """A person in the VK sandbox with an id no other test uses: each test has its own sandbox, so the
    default ids (100, 101, ...) would repeat across tests, and a link an earlier test left in the CRM would
    match this test's messages."""
    return vk.add_user(first, last, user_id=10**8 + secrets.randbelow(9 * 10**8), **profile)


def vk_link(uid: int) -> str:
    return f"https://vk.com/id{uid}"


def linked_messages(crm: VtigerClient, record: str) -> list[dict[str, Any]]:
    """The SPSocialConnector records in the record's related list ("Сообщения"), oldest first."""
    rows = crm.query_related(record, "SPSocialConnector", "SPSocialConnector", fields=MESSAGE_FIELDS)
    return sorted(rows, key=lambda r: int(str(r["id"]).split("x")[1]))


def messages_with_vk_id(crm: VtigerClient, message_id: int | str) -> list[dict[str, Any]]:
    return crm.query(
        vtql.select(
            "SPSocialConnector", MESSAGE_FIELDS, where=vtql.eq("vk_message_id", str(message_id)), limit=100
        )
    )


def comments_on(crm: VtigerClient, record: str) -> list[str]:
    rows = crm.query(
        vtql.select("ModComments", ["id", "commentcontent"], where=vtql.eq("related_to", record), limit=100)
    )
    return [str(r["commentcontent"]) for r in sorted(rows, key=lambda r: int(str(r["id"]).split("x")[1]))]


def db_rows(real: RealVtiger, sql: str, *params: str) -> list[dict[str, Any]]:
    """Rows of one SELECT against the CRM's database, run by vtiger's own PearDatabase (tests only: the
    bridge never reads the database)."""
    done = real.php_run(CRMDB, [sql, *params])
    if done.returncode != 0:
        raise RealEnvError(f"crmdb.php failed ({done.returncode}): {done.stderr.strip()[-500:]}")
    rows: list[dict[str, Any]] = json.loads(done.stdout)
    return rows


def recycle_bin(real: RealVtiger) -> list[dict[str, Any]]:
    """Every record in vtiger's Recycle Bin (deleted = 1), whatever its module."""
    return db_rows(real, "SELECT crmid, setype, label FROM vtiger_crmentity WHERE deleted = 1 ORDER BY crmid")


def crm_language(crm: VtigerClient) -> str:
    """The language of the CRM user the bridge works as (`ru_ru` on SalesPlatform, `en_us` on vtiger 7/8):
    what the bridge writes for people follows it."""
    rows = crm.query(f"SELECT language FROM Users WHERE id = '{crm.login_info.user_id}';")
    return str(rows[0]["language"]) if rows else ""
