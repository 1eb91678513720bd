"""relatedtypes, add_related, query_related, retrieve_related (7.0/7.1+) and sync."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from . import queryexec
from .envelope import UNKNOWN_ERROR, PhpFatal, WsError, access_denied
from .records import resolve
from .storage import USERS_PREFIX, Record, Store, User, split_ws_id

SYNC_PAGE = 100


def relatedtypes(store: Store, element_type: str | None) -> dict[str, Any]:
    if store.schema.module(element_type or "") is None:
        raise access_denied(f"Permission to perform the operation is denied for name : {element_type or ''}")
    return store.schema.related_info(element_type or "")


def add_related(store: Store, source: str | None, related: str | None, label: str | None) -> dict[str, str]:
    parts = split_ws_id(source or "")
    src = store.live(int(parts[1])) if parts is not None and parts[1].isdigit() else None
    if src is None:  # the relation model throws a plain Exception on a missing source
        raise WsError("INTERNAL_SERVER_ERROR", UNKNOWN_ERROR)
    rel_parts = split_ws_id(related or "")
    target = store.live(int(rel_parts[1])) if rel_parts is not None and rel_parts[1].isdigit() else None
    relations = store.schema.related_info(src.module)["information"]
    if label:
        info = relations.get(label)
    else:  # no label: Vtiger_Relation_Model::getInstance takes the first relation to the target's module
        info = next((i for i in relations.values() if target and i["name"] == target.module), None)
    # SalesPlatform answers success whatever happened: unknown label, missing or deleted target.
    if info is not None and target is not None and target.module == info["name"]:
        pair = (min(src.crmid, target.crmid), max(src.crmid, target.crmid))
        if pair not in store.links:
            store.links.add(pair)
            module = store.schema.modules[src.module]
            if "modifiedtime" in module.by_name:
                src.values["modifiedtime"] = src.modified = store.now()
    return {"message": "successfull"}


def query_related(
    store: Store, query: str | None, ws_id: str | None, label: str | None
) -> list[dict[str, Any]]:
    try:
        _, record = resolve(store, ws_id)
    except WsError as err:
        if err.code != "ACCESS_DENIED" or err.message.endswith("for id"):
            raise
        # A deleted or missing record has no module name, so its relation types are asked for "".
        raise access_denied("Permission to perform the operation is denied for name : ") from None
    if not isinstance(record, Record):
        raise WsError("UNKOWN_ENTITY", "Relation specified is incorrect")
    text = query or ""
    match = re.search(r"from\s+(\S+)", text, re.I)
    module_name = match.group(1) if match else ""
    info = store.schema.related_info(record.module)["information"].get(label or "")
    if info is None or info["name"] != module_name:
        raise WsError("UNKOWN_ENTITY", "Relation specified is incorrect")
    ids = sorted(
        crmid
        for crmid in store.linked(record.crmid)
        if (rec := store.live(crmid)) is not None and rec.module == module_name
    )
    if not ids:
        return []
    # ORDER BY or LIMIT end up before the injected WHERE: the parser rejects that (as recorded).
    prefix = store.schema.modules[module_name].prefix
    in_list = "id IN (" + ",".join(f"'{prefix}x{crmid}'" for crmid in ids) + ")"
    if "where" in text.lower():  # QueryRelated.php: found with stripos, then split on the literal "WHERE"
        parts = text.split("WHERE")
        injected = f"{parts[0]} WHERE {in_list} AND {parts[1] if len(parts) > 1 else ''};"
    else:
        injected = f"{text} WHERE {in_list};"
    rows: list[dict[str, Any]] = queryexec.execute(store, injected)
    return rows


def retrieve_related(
    store: Store, ws_id: str | None, related_type: str | None, label: str | None
) -> list[dict[str, Any]]:
    return query_related(store, f"SELECT * FROM {related_type or ''}", ws_id, label)


def _epoch(store: Store, stamp: str) -> int:
    try:
        return int(datetime.strptime(stamp, "%Y-%m-%d %H:%M:%S").replace(tzinfo=store.timezone).timestamp())
    except ValueError:
        return 0


def sync(store: Store, user: User, modified_time: str | None, element_type: str | None) -> dict[str, Any]:
    if store.profile.sync_broken:
        raise PhpFatal("ArgumentCountError: too few arguments to vtws_sync()")
    since = int(modified_time) if modified_time is not None and modified_time.isdigit() else 0
    me = f"{USERS_PREFIX}x{user.id}"
    changes: list[tuple[int, str, dict[str, Any] | None]] = []
    for rec in store.records.values():
        if element_type and rec.module != element_type:
            continue
        if rec.values.get("assigned_user_id") != me or _epoch(store, rec.modified) <= since:
            continue
        view = None if rec.deleted else store.as_ws(rec)
        changes.append((_epoch(store, rec.modified), store.ws_id(rec), view))
    changes.sort(key=lambda c: c[0])
    page = changes[:SYNC_PAGE]
    return {
        "updated": [c[2] for c in page if c[2] is not None],
        "deleted": [c[1] for c in page if c[2] is None],
        "more": len(changes) > SYNC_PAGE,
        "lastModifiedTime": page[-1][0] if page else since,
    }
