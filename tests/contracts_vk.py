"""Validate VK answers against VK's own schema (contracts/vk-api-schema, draft-07 copy).

`_combined_draft07/responses.json` refers to `objects.json#/definitions/...`, so both files are put
in one `referencing` registry keyed by their file names.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT7

SCHEMA_DIR = Path(__file__).resolve().parent.parent / "contracts" / "vk-api-schema"

# VK method -> the response definition its plain (non-extended) answer follows.
RESPONSE_OF = {
    "users.get": "users_get_response",
    "utils.resolveScreenName": "utils_resolveScreenName_response",
    "messages.send": "messages_send_deprecated_response",  # a single peer_id: a bare message id
    "messages.getConversations": "messages_getConversations_response",
    "messages.getHistory": "messages_getHistory_response",
    "messages.getById": "messages_getById_response",
    "messages.isMessagesFromGroupAllowed": "messages_isMessagesFromGroupAllowed_response",
    "groups.getById": "groups_getById_object_response",  # 5.194+: {"groups": [...], "profiles": [...]}
}


def _load(name: str) -> Any:
    return json.loads((SCHEMA_DIR / "_combined_draft07" / name).read_text(encoding="utf-8"))


@cache
def _registry() -> Registry:
    return Registry().with_resources(
        (name, Resource.from_contents(_load(name), default_specification=DRAFT7))
        for name in ("responses.json", "objects.json")
    )


@cache
def error_codes() -> frozenset[int]:
    errors = json.loads((SCHEMA_DIR / "errors.json").read_text(encoding="utf-8"))["errors"]
    return frozenset(int(entry["code"]) for entry in errors.values())


def _validator(schema: dict[str, Any]) -> jsonschema.Draft7Validator:
    return jsonschema.Draft7Validator(schema, registry=_registry())


def validate_response(method: str, body: Any) -> None:
    """Raise `jsonschema.ValidationError` unless `body` is a valid answer of `method`."""
    _validator({"$ref": f"responses.json#/definitions/{RESPONSE_OF[method]}"}).validate(body)


def validate_error(body: Any) -> None:
    """VK's error envelope, with a code VK's errors.json knows."""
    schema = {
        "type": "object",
        "required": ["error"],
        "additionalProperties": False,
        "properties": {
            "error": {
                "type": "object",
                "required": ["error_code", "error_msg", "request_params"],
                "properties": {
                    "error_code": {"enum": sorted(error_codes())},
                    "error_msg": {"type": "string", "minLength": 1},
                    "request_params": {
                        "type": "array",
                        "items": {"$ref": "objects.json#/definitions/base_request_param"},
                    },
                },
            }
        },
    }
    _validator(schema).validate(body)


def validate_execute(methods: list[str], body: Any) -> None:
    """An `execute` answer: each element as its method answers, `false` + `execute_errors` on failure."""
    assert isinstance(body.get("response"), list) and len(body["response"]) == len(methods)
    failures = [value for value in body["response"] if value is False]
    errors = body.get("execute_errors", [])
    assert len(errors) == len(failures)
    for entry in errors:
        assert set(entry) == {"method", "error_code", "error_msg"} and entry["error_code"] in error_codes()
    for method, value in zip(methods, body["response"], strict=True):
        if value is not False:
            validate_response(method, {"response": value})
