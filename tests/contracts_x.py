"""Validate X API v2 response bodies against `contracts/x-api-v2/openapi.json` (2.167).

The whole spec is embedded as the schema root so `#/components/...` refs resolve. Three adjustments,
each explained in contracts/x-api-v2/README.md:
- OpenAPI 3.0 `nullable: true` becomes `anyOf [schema, {"type": "null"}]` (plain JSON Schema ignores it);
- 2.159's stricter required lists are restored: `User` needs id/name/username, `DmEvent` id/event_type;
- `Problem` also admits X's bare `about:blank` problem ({title, type, status, detail}) that X really sends
  for 401/403/429 and that 2.159 listed as `GenericProblem`; 2.167 dropped it from the `oneOf`.
"""

from __future__ import annotations

import copy
import functools
import json
import re
from pathlib import Path
from typing import Any

import jsonschema

SPEC_PATH = Path(__file__).resolve().parent.parent / "contracts" / "x-api-v2" / "openapi.json"

GENERIC_PROBLEM = {
    "type": "object",
    "required": ["type", "title"],
    "properties": {
        "type": {"type": "string", "enum": ["about:blank"]},
        "title": {"type": "string"},
        "detail": {"type": "string"},
        "status": {"type": "integer"},
    },
}


def _denull(node: Any) -> Any:
    if isinstance(node, list):
        return [_denull(item) for item in node]
    if not isinstance(node, dict):
        return node
    out = {key: _denull(value) for key, value in node.items()}
    if out.pop("nullable", False):
        return {"anyOf": [out, {"type": "null"}]}
    return out


@functools.cache
def spec() -> dict[str, Any]:
    raw = json.loads(SPEC_PATH.read_text(encoding="utf-8"))
    schemas = raw["components"]["schemas"]
    schemas["User"]["required"] = ["id", "name", "username"]
    schemas["DmEvent"]["required"] = ["id", "event_type"]
    schemas["GenericProblem"] = GENERIC_PROBLEM
    schemas["Problem"]["oneOf"].append({"$ref": "#/components/schemas/GenericProblem"})
    return dict(_denull(raw))


@functools.lru_cache(maxsize=64)
def _validator(schema_json: str) -> jsonschema.Draft7Validator:
    root = copy.copy(spec())
    root.update(json.loads(schema_json))
    return jsonschema.Draft7Validator(root)


def validate_schema(schema: dict[str, Any], instance: Any) -> list[str]:
    """Errors of `instance` against `schema` (which may `$ref` into the spec's components)."""
    validator = _validator(json.dumps(schema, sort_keys=True))
    return [
        f"{'/'.join(map(str, e.absolute_path)) or '<root>'}: {e.message}"
        for e in validator.iter_errors(instance)
    ]


def operation(method: str, path: str) -> tuple[str, dict[str, Any]]:
    """The spec's path template and operation object for a concrete request path."""
    for template, ops in spec()["paths"].items():
        pattern = "^" + re.sub(r"\{[^}]+\}", "[^/]+", template) + "$"
        if re.match(pattern, path) and method.lower() in ops:
            return template, ops[method.lower()]
    raise LookupError(f"no operation in the spec for {method} {path}")


def response_schema(method: str, path: str, status: int, content_type: str) -> dict[str, Any]:
    """The schema the spec promises for this status and content type (the `default` for errors)."""
    _, op = operation(method, path)
    responses = op["responses"]
    entry = responses.get(str(status)) or responses["default"]
    media = "application/problem+json" if "problem+json" in content_type else "application/json"
    content = entry["content"]
    if media not in content:
        raise LookupError(f"{method} {path} {status} does not allow {media}; it allows {sorted(content)}")
    return dict(content[media]["schema"])


def validate_response(method: str, path: str, status: int, content_type: str, body: Any) -> list[str]:
    """Errors of one response against its operation's schema; [] when it conforms."""
    try:
        schema = response_schema(method, path, status, content_type)
    except LookupError as exc:
        return [str(exc)]
    return validate_schema(schema, body)


def validate_request_body(method: str, path: str, body: Any) -> list[str]:
    _, op = operation(method, path)
    schema = op["requestBody"]["content"]["application/json"]["schema"]
    return validate_schema(dict(schema), body)
