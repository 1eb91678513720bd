"""Validate VK Bots Long Poll traffic against contracts/vk-longpoll (the project's envelope schema, whose
event payloads point into VK's own schema in contracts/vk-api-schema/_combined_draft07).

`longpoll.schema.json` refers to `../vk-api-schema/_combined_draft07/objects.json#/...`, so every file is
put in one `referencing` registry under its file URI and the relative references resolve as on disk.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT7

CONTRACTS = Path(__file__).resolve().parent.parent / "contracts"
LONGPOLL = CONTRACTS / "vk-longpoll" / "longpoll.schema.json"
COMBINED = CONTRACTS / "vk-api-schema" / "_combined_draft07"

# VK method -> the response definition its answer follows (responses.json of VK's schema).
RESPONSE_OF = {
    "groups.getLongPollServer": "groups_getLongPollServer_response",
    "groups.getLongPollSettings": "groups_getLongPollSettings_response",
}


def _resource(path: Path) -> tuple[str, Resource[Any]]:
    contents = json.loads(path.read_text(encoding="utf-8"))
    return path.as_uri(), Resource.from_contents(contents, default_specification=DRAFT7)


@cache
def _registry() -> Registry[Any]:
    return Registry().with_resources(
        [_resource(LONGPOLL)] + [_resource(COMBINED / name) for name in ("objects.json", "responses.json")]
    )


def _validator(ref: str) -> jsonschema.Draft7Validator:
    return jsonschema.Draft7Validator({"$ref": ref}, registry=_registry())


def answer_errors(body: Any) -> list[str]:
    """Why `body` is not a valid a_check answer (`{ts, updates}` or `{failed...}`); empty when it is."""
    return [error.message[:200] for error in _validator(LONGPOLL.as_uri()).iter_errors(body)]


def validate_answer(body: Any) -> None:
    _validator(LONGPOLL.as_uri()).validate(body)


def validate_query(params: dict[str, Any]) -> None:
    """The a_check query string as the client sends it (act, key, ts, wait <= 90)."""
    _validator(f"{LONGPOLL.as_uri()}#/definitions/a_check_query").validate(params)


def validate_response(method: str, body: Any) -> None:
    _validator(f"{(COMBINED / 'responses.json').as_uri()}#/definitions/{RESPONSE_OF[method]}").validate(body)
