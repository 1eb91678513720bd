"""Module metadata, loaded at run time from the describe files in `sandbox/data/vtiger/`.

Every module's `describe` was recorded on a real SalesPlatform 7.2 server (`_about` in each file says how;
tools/real-vtiger/record.py records them again).
"""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import messenger_fields
from .profiles import Profile

DATA_DIR = Path(__file__).resolve().parent.parent / "data" / "vtiger"
MODULES = ("Contacts", "Accounts", "Leads", "SPSocialConnector", "Users", "Groups", "ModComments")
SOCIAL_URL_MODULES = ("Contacts", "Accounts", "Leads")

# Column lengths of the varchar columns behind the fields (MySQL cuts longer values silently in the
# non-strict sql_mode vtiger installs with). Fields not listed use the default of their type.
COLUMN_LENGTHS: dict[str, int] = {
    "firstname": 40,
    "lastname": 80,
    "vk_url": 155,
    "tw_url": 155,
    "fb_url": 155,
    "email": 100,
    "secondaryemail": 100,
    "email1": 100,
    "email2": 100,
    "accountname": 100,
    "title": 50,
    "department": 30,
    "salutationtype": 200,
    "company": 100,
    "designation": 50,
    "website": 100,
    "assistant": 30,
    "mailingcity": 40,
    "othercity": 40,
    "mailingstate": 30,
    "otherstate": 30,
    "mailingzip": 30,
    "otherzip": 30,
    "mailingcountry": 40,
    "othercountry": 40,
    "mailingpobox": 30,
    "otherpobox": 30,
    "city": 30,
    "code": 30,
    "state": 30,
    "country": 30,
    "pobox": 30,
    "tickersymbol": 30,
    "ownership": 50,
    "siccode": 50,
    "inn": 30,
    "kpp": 30,
    "one_s_id": 255,
    "user_name": 255,
    "groupname": 100,
    **messenger_fields.COLUMN_LENGTHS,
}
TYPE_LENGTHS: dict[str, int] = {"string": 255, "phone": 50, "email": 100, "url": 255, "picklist": 255}
# Columns declared NOT NULL without a default: a create that leaves them out fails in MySQL.
NOT_NULL_NO_DEFAULT: dict[str, tuple[str, ...]] = {"SPSocialConnector": ("message_datetime",)}
# Auto-number fields (uitype 4): filled by the server, never taken from the client.
AUTONUMBER: dict[str, str] = {"Contacts": "contact_no", "Accounts": "account_no", "Leads": "lead_no"}
# Fields sharing one database column with another: a query answers the column under the last field's name
# (DataTransform::sanitizeDataWithColumn keys rows by column), once.
SAME_COLUMN: dict[str, dict[str, str]] = {"ModComments": {"created_user_id": "creator"}}


@dataclass
class Field:
    name: str
    type_name: str
    mandatory: bool
    editable: bool
    refers_to: list[str]
    length: int | None

    @property
    def is_reference(self) -> bool:
        return self.type_name == "reference"

    @property
    def is_owner(self) -> bool:
        return self.type_name == "owner"


@dataclass
class Module:
    name: str
    prefix: int
    describe: dict[str, Any]
    fields: list[Field] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.by_name = {f.name: f for f in self.fields}

    @property
    def data_fields(self) -> list[Field]:
        """Every field except the synthetic `id`, in describe order (= the order of a retrieve result)."""
        return [f for f in self.fields if f.name != "id"]

    @property
    def label_fields(self) -> list[str]:
        return [n for n in str(self.describe.get("labelFields", "")).split(",") if n]

    @property
    def unique_fields(self) -> list[str]:
        if self.describe.get("allowDuplicates", True):
            return []
        return [f["name"] for f in self.describe["fields"] if f.get("isunique")]

    @property
    def mandatory(self) -> list[str]:
        return [f.name for f in self.fields if f.mandatory]

    def column_name(self, field_name: str) -> str:
        """The name a query answers `field_name` under (see SAME_COLUMN)."""
        return SAME_COLUMN.get(self.name, {}).get(field_name, field_name)


def _load(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((DATA_DIR / name).read_text(encoding="utf-8"))
    return data


def _fb_url_field() -> dict[str, Any]:
    return {
        "name": "fb_url",
        "label": "Facebook URL",
        "mandatory": False,
        "type": {"name": "url"},
        "isunique": False,
        "nullable": True,
        "editable": True,
        "default": "",
    }


def _module(describe: dict[str, Any]) -> Module:
    fields = [
        Field(
            name=f["name"],
            type_name=f["type"]["name"],
            mandatory=bool(f["mandatory"]),
            editable=bool(f["editable"]),
            refers_to=list(f["type"].get("refersTo", [])),
            length=COLUMN_LENGTHS.get(f["name"], TYPE_LENGTHS.get(f["type"]["name"])),
        )
        for f in describe["fields"]
    ]
    return Module(name=describe["name"], prefix=int(describe["idPrefix"]), describe=describe, fields=fields)


class Schema:
    """All modules the sandbox stores records for, plus the listtypes/relatedtypes answers."""

    def __init__(self, profile: Profile, *, fb_url: bool = False, messengers: bool = False) -> None:
        self.modules: dict[str, Module] = {}
        for name in MODULES:
            describe = copy.deepcopy(_load(f"describe_{name}.{profile.language}.json")["result"])
            if fb_url and name in SOCIAL_URL_MODULES:
                names = [f["name"] for f in describe["fields"]]
                describe["fields"].insert(names.index("tw_url") + 1, _fb_url_field())
            if messengers and name in SOCIAL_URL_MODULES:
                describe["fields"] += messenger_fields.client_fields(profile.language)
            if messengers and name == "SPSocialConnector":
                describe["fields"] += messenger_fields.message_fields(profile.language)
            self.modules[name] = _module(describe)
        self.by_prefix = {m.prefix: m for m in self.modules.values()}
        self.listtypes: dict[str, Any] = _load(f"listtypes.{profile.language}.json")["result"]
        related = _load("relatedtypes.json")
        self.relatedtypes: dict[str, dict[str, Any]] = {k: v for k, v in related.items() if k != "_about"}

    def module(self, name: str) -> Module | None:
        return self.modules.get(name)

    def related_info(self, module: str) -> dict[str, Any]:
        return self.relatedtypes.get(module, {"types": [], "information": {}})
