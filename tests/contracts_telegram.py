"""Validate Telegram Bot API bodies against contracts/telegram-bot-api/telegram-bot-api.schema.json.

The schema (draft-07, generated from the scraped Bot API 10.1 spec) has `<method>_params` and
`<method>_response` for the methods the bridge uses, the envelope included (`ApiError`).
"""

from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import Any

import jsonschema

SCHEMA_PATH = (
    Path(__file__).resolve().parent.parent / "contracts" / "telegram-bot-api" / "telegram-bot-api.schema.json"
)
METHODS = frozenset({"getMe", "getUpdates", "sendMessage", "getChat", "deleteWebhook", "getWebhookInfo"})


@functools.cache
def _schema() -> dict[str, Any]:
    schema: dict[str, Any] = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    jsonschema.Draft7Validator.check_schema(schema)
    return schema


@functools.cache
def _validator(definition: str) -> jsonschema.Draft7Validator:
    return jsonschema.Draft7Validator(dict(_schema(), **{"$ref": f"#/definitions/{definition}"}))


def errors(definition: str, body: Any) -> list[str]:
    return [
        f"{'/'.join(map(str, e.absolute_path))}: {e.message}"
        for e in _validator(definition).iter_errors(body)
    ]


def validate_response(method: str, body: Any) -> None:
    """Raise `jsonschema.ValidationError` unless `body` is a valid answer (or error envelope) of `method`."""
    _validator(f"{method}_response").validate(body)


def validate_params(method: str, params: Any) -> None:
    _validator(f"{method}_params").validate(params)


def contract_violations(answers: list[tuple[str, int, Any]]) -> list[str]:
    """Every recorded sandbox answer that its method's schema rejects, or whose status is not its code."""
    found = []
    for method, status, body in answers:
        if method not in METHODS:
            found.append(f"{method}: not a method the contract covers")
            continue
        problems = errors(f"{method}_response", body)
        if body.get("ok") is False and body.get("error_code") != status:
            problems.append(f"HTTP {status} but error_code {body.get('error_code')}")
        if body.get("ok") is True and status != 200:
            problems.append(f"ok with HTTP {status}")
        found += [f"{method} {status}: {p}" for p in problems]
    return found
