"""Validate MAX Bot API bodies against contracts/max-bot-api/openapi.dev-max-ru.2026-07-01.json.

The snapshot is OpenAPI 3.0 with the defects contracts/max-bot-api/README.md lists; the corrections below
are those of `relaxed_spec()` in contracts/max-bot-api/check_fixtures.py (which needs a validator package
the project does not depend on). To validate with plain `jsonschema`: `nullable: true` becomes
`anyOf [schema, null]`, and the one `required: false` (not a list, invalid JSON Schema) is dropped.
Updates are checked per `update_type` through the discriminator mapping, as check_fixtures.py does.
"""

from __future__ import annotations

import copy
import functools
import json
from pathlib import Path
from typing import Any

import jsonschema

SPEC_PATH = (
    Path(__file__).resolve().parent.parent
    / "contracts"
    / "max-bot-api"
    / "openapi.dev-max-ru.2026-07-01.json"
)
# operation (as the sandbox names it) -> schema of its 2xx answer
RESPONSE_OF = {
    "GET /me": "BotInfo",
    "POST /messages": "SendMessageResult",
    "GET /messages": "MessageList",
    "GET /chats/{chatId}": "Chat",
    "GET /updates": "UpdateList",
    "GET /subscriptions": "GetSubscriptionsResult",
    "DELETE /subscriptions": "SimpleQueryResult",
}


def _convert(node: Any) -> Any:
    if isinstance(node, list):
        return [_convert(item) for item in node]
    if not isinstance(node, dict):
        return node
    out = {
        key: _convert(value)
        for key, value in node.items()
        if not (key == "required" and not isinstance(value, list))
    }
    if out.pop("nullable", False):
        return {"anyOf": [out, {"type": "null"}]}
    return out


@functools.cache
def spec() -> dict[str, Any]:
    raw = json.loads(SPEC_PATH.read_text(encoding="utf-8"))
    relaxed = copy.deepcopy(raw)
    c = relaxed["components"]["schemas"]
    c["ChatType"]["enum"] = ["dialog", "chat", "channel"]
    c["Chat"]["required"] = [
        "chat_id",
        "type",
        "status",
        "last_event_time",
        "participants_count",
        "is_public",
    ]
    c["User"]["required"] = ["user_id", "first_name", "is_bot"]
    c["MessageBody"]["required"] = ["mid", "seq"]
    c["NewMessageBody"]["required"] = []
    c["Recipient"]["required"] = ["chat_type"]
    mapping = c["Update"]["discriminator"]["mapping"]
    converted: dict[str, Any] = _convert(relaxed)
    converted["components"]["schemas"]["Update"]["discriminator"]["mapping"] = mapping
    return converted


@functools.cache
def _validator(component: str) -> jsonschema.Draft7Validator:
    return jsonschema.Draft7Validator(
        {"components": spec()["components"], "$ref": f"#/components/schemas/{component}"}
    )


def errors(component: str, body: Any) -> list[str]:
    found = [
        f"{'/'.join(map(str, e.absolute_path))}: {e.message[:160]}"
        for e in _validator(component).iter_errors(body)
    ]
    if component == "UpdateList" and isinstance(body, dict):
        for update in body.get("updates") or []:
            found += update_errors(update)
    return found


def update_errors(update: Any) -> list[str]:
    mapping = spec()["components"]["schemas"]["Update"]["discriminator"]["mapping"]
    ref = mapping.get(update.get("update_type")) if isinstance(update, dict) else None
    ref = ref.get("$ref") if isinstance(ref, dict) else ref
    if not ref:
        return [f"unknown update_type {update!r:.80}"]
    return errors(ref.rsplit("/", 1)[-1], update)


def contract_violations(answers: list[tuple[str, int, Any]]) -> list[str]:
    """Every recorded sandbox answer its operation's schema (or `Error`, for non-2xx) rejects."""
    found = []
    for operation, status, body in answers:
        component = RESPONSE_OF.get(operation) if 200 <= status < 300 else "Error"
        if component is None:
            found.append(f"{operation}: not an operation the contract covers")
            continue
        found += [f"{operation} {status}: {p}" for p in errors(component, body)]
    return found
