"""relatedtypes, add_related, query_related, retrieve_related (7.0/7.1+) and sync."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

from . import queryexec, vtql
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
    info = store.schema.related_info(src.module)["information"].get(label or "")
    rel_parts = split_ws_id(related or "")
    target = store.live(int(rel_parts[1])) if rel_parts is not None and rel_parts[1].isdigit() else None
    # SalesPlatform answers success whatever happened: unknown label, missing or deleted target.
    if info is not None and target is not None and target.module == info["name"]:
        pair = (min(src.crmid, target.crmid), max(src.crmid, target.crmid))
        if pair not in store.links:
            store.links.add(pair)
            module = store.schema.modules[src.module]
            if "modifiedtime" in module.by_name:
                src.values["modifiedtime"] = src.modified = store.now()
    return {"message": "successfull"}


def query_related(store: Store, query: str | None, ws_id: str | None,
                  label: str | None) -> list[dict[str, Any]]:
    _, record = resolve(store, ws_id)
    if not isinstance(record, Record):
        raise WsError("UNKOWN_ENTITY", "Relation specified is incorrect")
    text = query or ""
    match = re.search(r"from\s+(\S+)", text, re.I)
    module_name = match.group(1) if match else ""
    info = store.schema.related_info(record.module)["information"].get(label or "")
    if info is None or info["name"] != module_name:
        raise WsError("UNKOWN_ENTITY", "Relation specified is incorrect")
    ids = sorted(crmid for crmid in store.linked(record.crmid)
                 if (rec := store.live(crmid)) is not None and rec.module == module_name)
    if not ids:
        return []
    tokens, _ = vtql.lex(text)
    for token in tokens:
        if token.keyword in ("ORDERBY", "LIMIT"):
            raise WsError("QUERY_SYNTAX_ERROR", f"Syntax Error on line 1: token '{token.text}' Unexpected "
                                                f"{token.keyword}({token.text}), expected one of: SEMICOLON")
    prefix = store.schema.modules[module_name].prefix
    in_list = "id IN (" + ",".join(f"'{prefix}x{crmid}'" for crmid in ids) + ")"
    if "WHERE" in text:  # split on the case-sensitive literal, as QueryRelated.php does
        head, _, rest = text.partition("WHERE")
        injected = f"{head}WHERE {in_list} AND {rest};"
    else:
        injected = f"{text} WHERE {in_list};"
    return queryexec.execute(store, injected)


def retrieve_related(store: Store, ws_id: str | None, related_type: str | None,
                     label: str | None) -> list[dict[str, Any]]:
    return query_related(store, f"SELECT * FROM {related_type or ''}", ws_id, label)


def _epoch(stamp: str) -> int:
    try:
        return int(datetime.strptime(stamp, "%Y-%m-%d %H:%M:%S").replace(tzinfo=UTC).timestamp())
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
        if rec.values.get("assigned_user_id") != me or _epoch(rec.modified) <= since:
            continue
        changes.append((_epoch(rec.modified), store.ws_id(rec), None if rec.deleted else store.as_ws(rec)))
    changes.sort(key=lambda c: c[0])
    page = changes[:SYNC_PAGE]
    return {
        "updated": [c[2] for c in page if c[2] is not None],
        "deleted": [c[1] for c in page if c[2] is None],
        "more": len(changes) > SYNC_PAGE,
        "lastModifiedTime": page[-1][0] if page else since,
    }
