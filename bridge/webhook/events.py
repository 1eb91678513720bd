"""The webhook event model: body decoding (JSON or form), validation and normalisation.

One model for every sender. Native shape (what `vtiger_plugin/SocialBridge.php` posts):

    {"event": "send" | "import_profile" | "record_saved" | "invite",
     "module": "Contacts" | "Accounts" | "Leads",
     "id": "12x5", "data": {...}, "changed": [...] | {...}, "event_id": "...", "ts": 1700000000,
     "modifiedtime": "2026-01-31 10:15:02", "is_new": false,        # the save this event is about
     "text": "...", "networks": ["vk", "x", "facebook"]}          # text: send; networks: send, invite

`data` holds the record as the save left it and `modifiedtime` that save's time: the bridge acts only once
it reads the record at least that new (see bridge/webhook/processor.py), because vtiger calls the workflow
before a webservice save is committed. A `modifiedtime` not in vtiger's `YYYY-MM-DD HH:MM:SS` form is ignored
(the event is still taken; the bridge then just cannot tell an old read from a new one by time).

Flat shape (form fields, or Vtiger Cloud's "Webhook" workflow action, whose body is a flat JSON object of
the parameters the administrator mapped, nested by dot notation): the same top-level names are read, the
record id may also be called `record_id`/`recordId`/`crmid` and may be a bare crmid (then prefixed with
the module's webservice prefix), `data.<field>` keys go into `data`, and every other key is taken as a
record field into `data`. See vtiger_plugin/README.md for the Cloud parameter mapping.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

from bridge.config.schema import NETWORKS  # a send may name the networks the bridge can be configured for
from bridge.crm.schema import CLIENT_MODULES, DEFAULT_ID_PREFIXES, MODIFIEDTIME

EVENTS = frozenset({"send", "import_profile", "record_saved", "invite"})
MODULES = frozenset(CLIENT_MODULES)

_WS_ID = re.compile(r"[1-9][0-9]{0,9}x[1-9][0-9]{0,18}")
_CRMID = re.compile(r"[1-9][0-9]{0,18}")
_EVENT_ID = re.compile(r"[A-Za-z0-9._:@-]{1,128}")
_TS_TEXT = re.compile(r"[0-9]{1,12}(\.[0-9]{1,9})?")
_DATETIME = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2}")
_BOOLS: dict[Any, bool] = {True: True, False: False, "1": True, "0": False, "true": True, "false": False}
_ID_ALIASES = ("id", "record_id", "recordId", "recordid", "crmid")
_KNOWN = frozenset(
    {
        "event",
        "module",
        "data",
        "changed",
        "event_id",
        "ts",
        "text",
        "networks",
        "modifiedtime",
        "is_new",
        *_ID_ALIASES,
    }
)
_MAX_FORM_FIELDS = 1000


class EventError(ValueError):
    """A body that cannot become an event; `code` is the API error code, the message names the field."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True, slots=True)
class Event:
    """One accepted vtiger event, as handed to `accept` and stored."""

    event: str
    module: str
    record_id: str  # the record's webservice id ("12x5"); "id" in the body
    event_id: str
    ts: float
    data: dict[str, Any] = field(default_factory=dict)
    changed: list[str] | dict[str, Any] | None = None
    text: str | None = None
    networks: tuple[str, ...] | None = None
    modifiedtime: str | None = None  # of the save this event is about (vtiger's DB time)
    is_new: bool | None = None  # the save created the record

    @property
    def crmid(self) -> int:
        return int(self.record_id.split("x", 1)[1])

    def to_payload(self) -> dict[str, Any]:
        """A JSON-ready dict in the native shape (what the store keeps)."""
        payload: dict[str, Any] = {
            "event": self.event,
            "module": self.module,
            "id": self.record_id,
            "event_id": self.event_id,
            "ts": self.ts,
            "data": self.data,
        }
        if self.changed is not None:
            payload["changed"] = self.changed
        if self.text is not None:
            payload["text"] = self.text
        if self.networks is not None:
            payload["networks"] = list(self.networks)
        if self.modifiedtime is not None:
            payload["modifiedtime"] = self.modifiedtime
        if self.is_new is not None:
            payload["is_new"] = self.is_new
        return payload

    @classmethod
    def from_payload(cls, payload: Mapping[str, Any]) -> Event:
        """The event `to_payload` stored (the store keeps payloads; retention may have pruned `data`)."""
        networks = payload.get("networks")
        return cls(
            event=payload["event"],
            module=payload["module"],
            record_id=payload["id"],
            event_id=payload["event_id"],
            ts=float(payload.get("ts") or 0.0),
            data=dict(payload.get("data") or {}),
            changed=payload.get("changed"),
            text=payload.get("text"),
            networks=tuple(networks) if networks is not None else None,
            modifiedtime=payload.get("modifiedtime"),
            is_new=payload.get("is_new"),
        )


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _loads(text: bytes | str, what: str) -> Any:
    try:
        return json.loads(text, parse_constant=_reject_constant)
    except (ValueError, RecursionError) as exc:  # JSONDecodeError/UnicodeDecodeError are ValueErrors
        raise EventError("malformed_json", f"{what} is not valid UTF-8 JSON") from exc


def decode_json(body: bytes) -> Any:
    # Decode first: json.loads(bytes) would also guess UTF-16/32 (with or without a BOM) and a UTF-8 BOM.
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise EventError("malformed_json", "body is not valid UTF-8 JSON") from exc
    return _loads(text, "body")


def decode_form(body: bytes) -> dict[str, Any]:
    """A form body: either one `payload` field holding the JSON, or flat fields (strings)."""
    try:
        pairs = parse_qsl(
            body.decode("ascii"),
            keep_blank_values=True,
            strict_parsing=False,
            errors="strict",
            max_num_fields=_MAX_FORM_FIELDS,
        )
    except ValueError as exc:  # undecodable bytes or escapes, too many fields
        raise EventError("malformed_form", "body is not a valid UTF-8 form of at most 1000 fields") from exc
    fields: dict[str, Any] = {}
    for name, value in pairs:
        if name in fields:
            raise EventError("invalid_event", f"form field {name[:64]!r} is given more than once")
        fields[name] = value
    if "payload" in fields:
        if len(fields) != 1:
            raise EventError("invalid_event", "form field 'payload' must be the only field")
        return _require_object(_loads(fields["payload"], "form field 'payload'"))
    return fields


def _require_object(obj: Any) -> dict[str, Any]:
    if not isinstance(obj, dict):
        raise EventError("invalid_event", "the event must be a JSON object")
    return obj


def _str_field(obj: Mapping[str, Any], name: str, allowed: frozenset[str]) -> str:
    value = obj.get(name)
    if value is None:
        raise EventError("invalid_event", f"field {name!r} is required")
    if not isinstance(value, str) or value not in allowed:
        raise EventError("invalid_event", f"field {name!r} must be one of {', '.join(sorted(allowed))}")
    return value


def _ws_id(obj: Mapping[str, Any], module: str, prefixes: Mapping[str, int]) -> str:
    name = next((n for n in _ID_ALIASES if obj.get(n) not in (None, "")), None)
    if name is None:
        raise EventError("invalid_event", "field 'id' (the record's webservice id, e.g. '12x5') is required")
    value = obj[name]
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if isinstance(value, str):
        if _WS_ID.fullmatch(value):
            return value
        if _CRMID.fullmatch(value) and module in prefixes:
            return f"{prefixes[module]}x{value}"
    raise EventError("invalid_event", f"field {name!r} must be a webservice id like '12x5' or a crmid")


def _timestamp(value: Any, default: float) -> float:
    if value is None:
        return default
    if isinstance(value, str) and _TS_TEXT.fullmatch(value):
        value = float(value)
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value < 1e12:
        raise EventError("invalid_event", "field 'ts' must be unix seconds")
    return float(value)


def _names(value: Any, what: str) -> list[str]:
    if isinstance(value, str):  # flat/Cloud senders cannot post lists: "a,b,c"
        return [part.strip() for part in value.split(",") if part.strip()]
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return list(value)
    raise EventError("invalid_event", f"field {what!r} must be a list of strings")


def _changed(value: Any) -> list[str] | dict[str, Any] | None:
    if value is None or isinstance(value, dict):
        return value
    return _names(value, "changed")


def _networks(value: Any) -> tuple[str, ...] | None:
    if value is None:
        return None
    names = _names(value, "networks")
    unknown = [n for n in names if n not in NETWORKS]
    if unknown:
        raise EventError("invalid_event", f"field 'networks' may only hold {', '.join(NETWORKS)}")
    return tuple(dict.fromkeys(names))  # de-duplicated, order kept


def _modifiedtime(obj: Mapping[str, Any], data: Mapping[str, Any]) -> str | None:
    for value in (obj.get("modifiedtime"), data.get(MODIFIEDTIME)):
        if isinstance(value, str) and _DATETIME.fullmatch(value):
            return value
    return None


def _is_new(value: Any) -> bool | None:
    try:
        return _BOOLS.get(value.lower() if isinstance(value, str) else value)
    except TypeError:  # a list or an object: not a flag
        return None


def _data(obj: Mapping[str, Any]) -> dict[str, Any]:
    data = obj.get("data", {})
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise EventError("invalid_event", "field 'data' must be an object")
    merged = dict(data)
    for key, value in obj.items():
        if key in _KNOWN:
            continue
        name = key[5:] if key.startswith("data.") else key
        if name:
            merged.setdefault(name, value)  # an explicit `data` object wins over a flat duplicate
    return merged


def derive_event_id(body: bytes) -> str:
    """A stable id for a body that names none: a retried delivery of the same bytes is a duplicate."""
    return "body-" + hashlib.sha256(body).hexdigest()[:40]


def parse_event(
    obj: Any, *, body: bytes, default_ts: float, id_prefixes: Mapping[str, int] = DEFAULT_ID_PREFIXES
) -> Event:
    """Validate a decoded body (native or flat shape) into an `Event`; raises `EventError`."""
    obj = _require_object(obj)
    kind = _str_field(obj, "event", EVENTS)
    module = _str_field(obj, "module", MODULES)
    ws_id = _ws_id(obj, module, id_prefixes)
    event_id = obj.get("event_id")
    if event_id is None or event_id == "":
        event_id = derive_event_id(body)
    elif not isinstance(event_id, str) or not _EVENT_ID.fullmatch(event_id):
        raise EventError("invalid_event", "field 'event_id' must be 1-128 of the characters A-Za-z0-9._:@-")
    text = obj.get("text")
    networks = _networks(obj.get("networks"))
    if text is not None and not isinstance(text, str):
        raise EventError("invalid_event", "field 'text' must be a string")
    if kind != "send" and text is not None:
        raise EventError("invalid_event", "field 'text' is only valid for event 'send'")
    if kind not in ("send", "invite") and networks is not None:
        raise EventError("invalid_event", "field 'networks' is only valid for events 'send' and 'invite'")
    data = _data(obj)
    return Event(
        event=kind,
        module=module,
        record_id=ws_id,
        event_id=event_id,
        ts=_timestamp(obj.get("ts"), default_ts),
        data=data,
        changed=_changed(obj.get("changed")),
        text=text,
        networks=networks,
        modifiedtime=_modifiedtime(obj, data),
        is_new=_is_new(obj.get("is_new")),
    )
