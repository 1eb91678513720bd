"""The fields the SocialBridge module adds for Telegram and MAX (vtiger_plugin/crm_schema.json), as vtiger's
describe shows them once the module is installed: on Contacts, Accounts and Leads the account fields, on the
messages module the per-network status and message id. `VtigerSandbox(messengers=True)` has them."""

from __future__ import annotations

from typing import Any

CLIENT_FIELDS = {
    "tg_url": ("Telegram account", "Аккаунт Telegram"),
    "max_url": ("MAX account", "Аккаунт MAX"),
}
STATUS_FIELDS = {"tg_status": "Telegram", "max_status": "MAX"}
ID_FIELDS = {
    "tg_message_id": ("Telegram Message ID", "ID сообщения Telegram"),
    "max_message_id": ("MAX Message ID", "ID сообщения MAX"),
}
_STATUSES = (
    ("Sent", "Sent", "Сообщение отправлено"),
    ("Not sent", "Not sent", "Сообщение не отправлено"),
    ("Received", "Received", "Получено"),
    ("Delivery unknown", "Delivery unknown", "Доставка неизвестна"),
)
COLUMN_LENGTHS = {"tg_url": 155, "max_url": 155}


def _field(name: str, label: str, type_: dict[str, Any]) -> dict[str, Any]:
    return {
        "name": name,
        "label": label,
        "mandatory": False,
        "type": type_,
        "isunique": False,
        "nullable": True,
        "editable": True,
        "default": "",
    }


def client_fields(language: str) -> list[dict[str, Any]]:
    russian = language.startswith("ru")
    return [_field(n, ru if russian else en, {"name": "string"}) for n, (en, ru) in CLIENT_FIELDS.items()]


def message_fields(language: str) -> list[dict[str, Any]]:
    russian = language.startswith("ru")
    values = [{"label": ru if russian else en, "value": v} for v, en, ru in _STATUSES]
    fields = [
        _field(n, label, {"picklistValues": values, "defaultValue": "Sent", "name": "picklist"})
        for n, label in STATUS_FIELDS.items()
    ]
    fields += [_field(n, ru if russian else en, {"name": "string"}) for n, (en, ru) in ID_FIELDS.items()]
    return fields
