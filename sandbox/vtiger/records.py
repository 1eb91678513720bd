"""Record operations: describe, listtypes, create, retrieve, update, revise, delete (7.x semantics)."""

from __future__ import annotations

import json
import re
from typing import Any

from .envelope import INVALID_ID, PERMISSION_DENIED, PhpDie, WsError, access_denied
from .schema import AUTONUMBER, NOT_NULL_NO_DEFAULT, Field, Module
from .storage import GROUPS_PREFIX, USERS_PREFIX, Record, Store, User, collation_key, split_ws_id

ACTORS = ("Users", "Groups")
# Never taken from the client: the server computes them (or they are not stored through the API).
SERVER_FIELDS = {"createdtime", "modifiedtime", "modifiedby", "created_user_id", "tags", "label", "id"}
_DATETIME = re.compile(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}")
_SCRIPT = re.compile(r"<script", re.I)


def decode_element(raw: str | None) -> Any:
    """PHP 7's json_decode: invalid JSON is null, and the handler goes on with it."""
    if raw is None:
        return None
    try:
        return json.loads(raw)
    except ValueError:
        return None


def _php_string(value: Any) -> str:
    if value is None or value is False:
        return ""
    if value is True:
        return "1"
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, (list, dict)):
        return "Array"
    return str(value)


def _default(fld: Field) -> str:
    return {"boolean": "0", "currency": "0.00000000", "integer": "0"}.get(fld.type_name, "")


def normalize(store: Store, fld: Field, value: Any) -> str:
    """A client value as the database stores it (CRMEntity::insertIntoEntityTable + MySQL)."""
    if fld.type_name == "boolean":
        return "1" if value in ("on", "1", 1, True) and value is not False else "0"
    if fld.type_name == "multipicklist" and isinstance(value, list):
        value = " |##| ".join(_php_string(v) for v in value)
    text = _php_string(value)
    if fld.type_name == "currency":
        try:
            return f"{float(text):.8f}"
        except ValueError:
            return "0.00000000"
    if fld.type_name == "integer":
        match = re.match(r"\s*[+-]?\d+", text)
        return str(int(match.group())) if match else "0"
    if fld.type_name == "date" and text:
        user_format = re.fullmatch(r"(\d{2})-(\d{2})-(\d{4})", text)  # the user's dd-mm-yyyy
        if user_format:
            text = f"{user_format.group(3)}-{user_format.group(2)}-{user_format.group(1)}"
        elif not re.match(r"\d{4}-\d{2}-\d{2}", text):
            text = ""
        text = text[:10]
    if fld.type_name == "datetime" and text and not _DATETIME.fullmatch(text):
        text = "0000-00-00 00:00:00"
    if fld.type_name == "text" and _SCRIPT.search(text):
        text = text.replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")
    return store.store_text(fld, text)


def module_for(store: Store, name: str | None) -> Module:
    module = store.schema.module(name or "")
    if module is None or name not in store.schema.listtypes["types"]:
        raise access_denied(PERMISSION_DENIED)
    return module


def describe(store: Store, name: str | None) -> dict[str, Any]:
    module = store.schema.module(name or "")
    if module is None:
        raise access_denied(f"Permission to perform the operation is denied for name : {name or ''}")
    return module.describe


def listtypes(store: Store, field_types: str | None) -> dict[str, Any]:
    data = store.schema.listtypes
    wanted = decode_element(field_types)
    if not isinstance(wanted, list) or not wanted:
        return data
    names = [
        n
        for n in data["types"]
        if (m := store.schema.module(n)) is not None and any(f.type_name in wanted for f in m.fields)
    ]
    return {"types": names, "information": {n: data["information"][n] for n in names}}


def resolve(store: Store, ws_id: str | None) -> tuple[Module, Record | User | int]:
    """Record (or user / group number) behind a ws id, with vtiger's checks and errors."""
    parts = split_ws_id(ws_id or "")
    if parts is None or not parts[0].isdigit() or int(parts[0]) not in store.schema.by_prefix:
        raise access_denied("Permission to perform the operation is denied for id")
    module = store.schema.by_prefix[int(parts[0])]
    if not parts[1].isdigit():
        raise access_denied()
    number = int(parts[1])
    if module.prefix == USERS_PREFIX:
        user = store.users.get(number)
        if user is None:
            raise access_denied()
        return module, user
    if module.prefix == GROUPS_PREFIX:
        if number not in store.groups:
            raise access_denied()
        return module, number
    record = store.live(number)
    if record is None:  # deleted or never existed: no entity name, so "not accessible"
        raise access_denied()
    if record.module != module.name:
        raise WsError("INVALID_ID_ATTRIBUTE", INVALID_ID)
    return module, record


def retrieve(store: Store, ws_id: str | None) -> dict[str, str]:
    _, target = resolve(store, ws_id)
    if isinstance(target, User):
        return store.user_ws(target)
    if isinstance(target, int):
        return store.group_ws(target)
    return store.as_ws(target)


def _check_references(store: Store, module: Module, element: dict[str, Any], *, drop_empty: bool) -> None:
    for fld in module.fields:
        if not fld.is_reference or fld.name in SERVER_FIELDS or fld.name not in element:
            continue
        value = element[fld.name]
        if value == "" and drop_empty:
            del element[fld.name]  # Create/Update unset empty references; Revise does not
            continue
        if value in (None, ""):
            continue
        parts = split_ws_id(_php_string(value))
        target = store.schema.by_prefix.get(int(parts[0])) if parts and parts[0].isdigit() else None
        if target is None or target.name not in fld.refers_to:
            raise WsError("REFERENCE_INVALID", f"Invalid reference specified for {fld.name}")


def _check_mandatory(module: Module, element: dict[str, Any], *, only_present: bool) -> None:
    for name in module.mandatory:
        if only_present and name not in element:
            continue
        if element.get(name) in (None, ""):
            raise WsError("MANDATORY_FIELDS_MISSING", f"{name} does not have a value")


def _check_owner(store: Store, user: User, element: dict[str, Any]) -> None:
    value = element.get("assigned_user_id")
    if value is None:
        return
    owner = _php_string(value)
    parts = split_ws_id(owner)
    if (
        parts is not None
        and parts[0] == str(USERS_PREFIX)
        and parts[1].isdigit()
        and int(parts[1]) not in store.users
    ):
        # The privileges file of a user that does not exist: vtiger dies inside the open transaction
        # (and, with its persistent connections, keeps that transaction's locks: not modelled).
        raise PhpDie("Sorry! Attempt to access restricted file. - user_privileges/user_privileges_.php")
    allowed = store.owner_exists(owner) and (
        user.is_admin
        or owner == f"{USERS_PREFIX}x{user.id}"
        or any(owner == f"{GROUPS_PREFIX}x{g}" for g in user.groups)
    )
    if not allowed:
        raise access_denied("Cannot assign record to the given user")


def _check_duplicates(store: Store, module: Module, values: dict[str, str], own: int | None) -> None:
    for name in module.unique_fields:
        key = collation_key(values.get(name, ""))
        for rec in store.records.values():
            if (
                rec.module == module.name
                and not rec.deleted
                and rec.crmid != own
                and collation_key(rec.values.get(name, "")) == key
            ):
                raise WsError(0, store.profile.duplicates_message)


def _overlay(store: Store, module: Module, values: dict[str, str], element: dict[str, Any]) -> None:
    for fld in module.data_fields:
        if fld.name in element and fld.name not in SERVER_FIELDS and fld.name != AUTONUMBER.get(module.name):
            if fld.name == "source" and values.get("source"):
                continue
            values[fld.name] = normalize(store, fld, element[fld.name])


def save_new(store: Store, user: User, module: Module, element: dict[str, Any]) -> Record:
    """Insert without the webservice checks (also used by the sandbox's seed())."""
    for name in NOT_NULL_NO_DEFAULT.get(module.name, ()):
        if element.get(name) in (None, ""):
            raise WsError("DATABASE_QUERY_ERROR", store.profile.database_error)
    values = {f.name: _default(f) for f in module.data_fields}
    _overlay(store, module, values, element)
    _check_duplicates(store, module, values, None)
    now = store.now()
    me = f"{USERS_PREFIX}x{user.id}"
    source = values.get("source") or "WEBSERVICE"
    for name, value in (
        ("createdtime", now),
        ("modifiedtime", now),
        ("modifiedby", me),
        ("created_user_id", me),
        ("creator", me),
        ("source", source),
    ):
        if name in module.by_name:
            values[name] = value
    if module.name in AUTONUMBER:
        values[AUTONUMBER[module.name]] = store.next_autonumber(module.name)
    record = Record(store.new_crmid(), module.name, values, modified=now)
    store.records[record.crmid] = record
    return record


def create(store: Store, user: User, element_type: str | None, raw: str | None) -> dict[str, str]:
    module = module_for(store, element_type)
    element = decode_element(raw)
    element = dict(element) if isinstance(element, dict) else {}
    element.pop("id", None)
    if module.name in ACTORS:  # the actor handler checks mandatory fields too; creating users is not modelled
        _check_mandatory(module, element, only_present=False)
        raise access_denied()
    _check_references(store, module, element, drop_empty=True)
    _check_mandatory(module, element, only_present=False)  # no default owner: assigned_user_id is mandatory
    _check_owner(store, user, element)
    return store.as_ws(save_new(store, user, module, element))


def change(store: Store, user: User, raw: str | None, *, full: bool) -> dict[str, str]:
    """update (full: every mandatory field must be sent) and revise (partial)."""
    element = decode_element(raw)
    if not isinstance(element, dict):
        raise access_denied("Permission to perform the operation is denied for id")
    module, record = resolve(store, _php_string(element.get("id")))
    if not isinstance(record, Record):
        raise access_denied()
    element = dict(element)
    _check_references(store, module, element, drop_empty=full)
    _check_mandatory(module, element, only_present=not full)
    _check_owner(store, user, element)
    values = dict(record.values)  # 7.x reads the record first: omitted fields keep their values
    _overlay(store, module, values, element)
    _check_duplicates(store, module, values, record.crmid)
    now = store.now()
    if "modifiedtime" in module.by_name:
        values["modifiedtime"] = now
    if "modifiedby" in module.by_name:
        values["modifiedby"] = f"{USERS_PREFIX}x{user.id}"
    record.values = values
    record.modified = now
    return store.as_ws(record)


def delete(store: Store, ws_id: str | None) -> dict[str, str]:
    _, record = resolve(store, ws_id)
    if not isinstance(record, Record):
        raise access_denied("Permission to delete is denied")
    record.deleted = True
    record.modified = store.now()
    store.deleted_log.append((store.ws_id(record), record.modified))
    return {"status": "successful"}
