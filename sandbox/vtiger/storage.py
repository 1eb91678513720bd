"""The sandbox's "database": records, users, groups, relation rows, and MySQL's storage rules.

Everything here is called with the store lock held (the HTTP server is threaded).
"""

from __future__ import annotations

import html
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, tzinfo

from . import actors
from .actors import CURRENCY_PREFIX, GROUPS_PREFIX, USERS_PREFIX
from .profiles import Profile
from .schema import Field, Schema

__all__ = ["CURRENCY_PREFIX", "GROUPS_PREFIX", "USERS_PREFIX", "Record", "Store", "User"]
TEXT_BYTES = 65535
LABEL_LENGTH = 255  # vtiger_crmentity.label varchar(255)


@dataclass
class Record:
    crmid: int
    module: str
    values: dict[str, str]  # stored form; references and owners as ws ids
    deleted: bool = False
    modified: str = ""  # kept even for modules without a modifiedtime field (sync needs it)


@dataclass
class User:
    id: int
    user_name: str
    access_key: str
    is_admin: bool = False
    status: str = "Active"
    first_name: str = ""
    last_name: str = ""
    email: str = ""
    groups: set[int] = field(default_factory=set)


def collation_key(value: str) -> str:
    """utf8_general_ci as observed: case-insensitive, 'ё' = 'е', trailing spaces ignored."""
    return value.rstrip(" ").lower().replace("ё", "е")


def like_fold(value: str) -> str:
    return value.lower().replace("ё", "е")


def split_ws_id(value: str) -> tuple[str, str] | None:
    """vtws_getIdComponents on 7.x: a plain explode on 'x' (no validation)."""
    if "x" not in value:
        return None
    prefix, _, rest = value.partition("x")
    return prefix, rest


class Store:
    def __init__(
        self, schema: Schema, profile: Profile, clock: Callable[[], datetime], timezone: tzinfo = UTC
    ) -> None:
        self.schema = schema
        self.profile = profile
        self.clock = clock
        self.timezone = timezone  # config.inc.php's $default_timezone: the zone of stored times
        self.lock = threading.RLock()
        self.records: dict[int, Record] = {}
        self.users: dict[int, User] = {}
        self.groups: dict[int, tuple[str, str]] = dict(profile.groups)  # id -> (name, description)
        self.links: set[tuple[int, int]] = set()  # vtiger_crmentityrel rows, direction-free
        self.deleted_log: list[tuple[str, str]] = []  # (ws id, deletion time) for sync
        self._next_crmid = 2  # crmid 1 is taken on a fresh install: the first record is 12x2
        self._next_user_id = 5  # groups 2..4 share vtiger_users_seq with the users
        self._autonumbers: dict[str, int] = {}
        # (module, counter now) -> (number handed out, counter afterwards); sandbox/vtiger/latency.py models
        # concurrent creates with it, which can hand out one number twice
        self.autonumber_hook: Callable[[str, int], tuple[int, int]] | None = None

    # --- clocks and ids ---------------------------------------------------------------------------
    def now(self) -> str:
        moment = self.clock()
        moment = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
        return moment.astimezone(self.timezone).strftime("%Y-%m-%d %H:%M:%S")

    def new_crmid(self) -> int:
        crmid = self._next_crmid
        self._next_crmid += 1
        return crmid

    def new_user_id(self) -> int:
        uid = self._next_user_id
        self._next_user_id += 1
        return uid

    def next_autonumber(self, module: str) -> str:
        current = self._autonumbers.get(module, 0)
        hook = self.autonumber_hook
        n, after = hook(module, current) if hook is not None else (current + 1, current + 1)
        self._autonumbers[module] = after
        return f"{self.profile.autonumber_prefixes.get(module, '')}{n}"

    def autonumber_value(self, module: str) -> int:
        with self.lock:
            return self._autonumbers.get(module, 0)

    def ws_id(self, record: Record) -> str:
        return f"{self.schema.modules[record.module].prefix}x{record.crmid}"

    # --- MySQL storage rules ----------------------------------------------------------------------
    def store_text(self, fld: Field, value: str) -> str:
        if self.profile.utf8_3byte:  # MySQL `utf8` stores each byte of a 4-byte character as '?'
            value = "".join("????" if ord(ch) > 0xFFFF else ch for ch in value)
        if fld.length is not None and len(value) > fld.length:
            value = value[: fld.length]
        if fld.type_name == "text" and len(value.encode("utf-8")) > TEXT_BYTES:
            value = value.encode("utf-8")[:TEXT_BYTES].decode("utf-8", "ignore")  # TEXT holds 65535 bytes
        return value

    # --- lookups ----------------------------------------------------------------------------------
    def live(self, crmid: int) -> Record | None:
        record = self.records.get(crmid)
        return record if record is not None and not record.deleted else None

    def owner_exists(self, ws: str) -> bool:
        parts = split_ws_id(ws)
        if parts is None or not parts[1].isdigit():
            return False
        if parts[0] == str(USERS_PREFIX):
            user = self.users.get(int(parts[1]))
            return user is not None and user.status == "Active"
        return parts[0] == str(GROUPS_PREFIX) and int(parts[1]) in self.groups

    def resolve_reference(self, ws: str) -> str:
        """A reference as read back: '' when the target is gone (or never existed)."""
        parts = split_ws_id(ws)
        if not ws or parts is None or not parts[1].isdigit():
            return ""
        if parts[0] == str(USERS_PREFIX):
            return ws if int(parts[1]) in self.users else ""
        if parts[0] == str(CURRENCY_PREFIX):
            return ws
        target = self.live(int(parts[1]))
        if target is None or str(self.schema.modules[target.module].prefix) != parts[0]:
            return ""
        return ws

    def label(self, module: str, values: dict[str, str]) -> str:
        # The label fields joined by a space, empty ones included: a Contact without a first name is
        # labelled " Petrov" (vtiger_crmentity.label as SalesPlatform computes it).
        names = self.schema.modules[module].label_fields
        text = " ".join(values.get(n, "") for n in names)
        return html.escape(text, quote=True).replace("&#x27;", "&#039;")[:LABEL_LENGTH]

    # --- record views -----------------------------------------------------------------------------
    def as_ws(self, record: Record) -> dict[str, str]:
        """The record as `retrieve` returns it: every field in describe order, then id and label."""
        module = self.schema.modules[record.module]
        out: dict[str, str] = {}
        for fld in module.data_fields:
            value = record.values.get(fld.name, "")
            if fld.is_reference and fld.name != "modifiedby":
                value = self.resolve_reference(value)
            out[fld.name] = value
        out["id"] = self.ws_id(record)
        out["label"] = self.label(record.module, record.values)
        return out

    def user_ws(self, user: User) -> dict[str, str]:
        return actors.user_ws(self, user)

    def group_ws(self, gid: int) -> dict[str, str]:
        return actors.group_ws(self, gid)

    def rows(self, module: str) -> list[tuple[int, dict[str, str], bool]]:
        """(number, stored values, deleted) for every row of a module, live or not, by number.

        Stored values: references as written, even to a deleted record (MySQL still holds its crmid);
        `view` gives what a query answers for the row."""
        if module == "Users":
            return [
                (u.id, self.user_ws(u), u.status != "Active")
                for u in sorted(self.users.values(), key=lambda u: u.id)
            ]
        if module == "Groups":
            return [(gid, self.group_ws(gid), False) for gid in sorted(self.groups)]
        return [
            (r.crmid, r.values, r.deleted)
            for r in sorted(self.records.values(), key=lambda r: r.crmid)
            if r.module == module
        ]

    def view(self, module: str, number: int, values: dict[str, str]) -> dict[str, str]:
        """A row of `rows` as answers show it: references to deleted records read ''."""
        record = self.records.get(number) if module not in ("Users", "Groups") else None
        return self.as_ws(record) if record is not None else values

    # --- relations --------------------------------------------------------------------------------
    def link(self, a: int, b: int) -> None:
        self.links.add((min(a, b), max(a, b)))

    def linked(self, crmid: int) -> set[int]:
        """Ids related to crmid through vtiger_crmentityrel (both directions) or a reference field."""
        out = {b if a == crmid else a for a, b in self.links if crmid in (a, b)}
        target = self.records.get(crmid)
        if target is not None:
            wanted = self.ws_id(target)
            for rec in self.records.values():
                module = self.schema.modules[rec.module]
                if any(f.is_reference and rec.values.get(f.name) == wanted for f in module.fields):
                    out.add(rec.crmid)
        out.discard(crmid)
        return out
