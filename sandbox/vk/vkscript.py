"""A tiny, safe interpreter for the one VKScript form the bridge sends to `execute`.

Accepted: `return [API.ns.method({...}), API.ns.method({...}), ...];` (or a single call without the
brackets). Argument objects are JSON-ish: bare or quoted keys, "double" or 'single' quoted strings,
numbers, true/false/null, nested arrays/objects. Anything else is a compile error (VK code 12),
exactly what VK answers to code it cannot compile. Nothing is ever passed to `eval`.
"""

from __future__ import annotations

import json
import re
from typing import Any

MAX_CALLS = 25  # VK: "up to 25 API calls" per execute


class VkScriptError(ValueError):
    """The code is not of the supported form."""


_TOKEN = re.compile(
    r"""\s*(?:
        (?P<str>"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*')
      | (?P<num>-?\d+(?:\.\d+)?)
      | (?P<ident>[A-Za-z_][A-Za-z0-9_]*)
      | (?P<punct>[\[\](){},.:;])
    )""",
    re.VERBOSE | re.DOTALL,
)


def _tokenize(code: str) -> list[tuple[str, str]]:
    tokens: list[tuple[str, str]] = []
    pos = 0
    while pos < len(code):
        if code[pos:].strip() == "":
            break
        match = _TOKEN.match(code, pos)
        if match is None or match.end() == pos:
            raise VkScriptError(f"unexpected character at {pos}")
        kind = match.lastgroup or ""
        tokens.append((kind, match.group(kind)))
        pos = match.end()
    return tokens


class _Parser:
    def __init__(self, code: str) -> None:
        self.tokens = _tokenize(code)
        self.pos = 0

    def peek(self) -> tuple[str, str] | None:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def take(self, value: str | None = None, kind: str | None = None) -> str:
        token = self.peek()
        if token is None or (value is not None and token[1] != value) or (kind and token[0] != kind):
            raise VkScriptError(f"expected {value or kind} at token {self.pos}")
        self.pos += 1
        return token[1]

    def program(self) -> list[tuple[str, dict[str, Any]]]:
        self.take("return")
        calls: list[tuple[str, dict[str, Any]]] = []
        token = self.peek()
        if token is not None and token[1] == "[":
            self.take("[")
            if self.peek() != ("punct", "]"):
                calls.append(self.call())
                while self.peek() == ("punct", ","):
                    self.take(",")
                    calls.append(self.call())
            self.take("]")
        else:
            calls.append(self.call())
        if self.peek() == ("punct", ";"):
            self.take(";")
        if self.peek() is not None:
            raise VkScriptError("trailing code after return")
        return calls

    def call(self) -> tuple[str, dict[str, Any]]:
        self.take("API")
        self.take(".")
        namespace = self.take(kind="ident")
        self.take(".")
        method = self.take(kind="ident")
        self.take("(")
        args: dict[str, Any] = {}
        if self.peek() != ("punct", ")"):
            value = self.value()
            if not isinstance(value, dict):
                raise VkScriptError("API call arguments must be an object")
            args = value
        self.take(")")
        return f"{namespace}.{method}", args

    def value(self) -> Any:
        token = self.peek()
        if token is None:
            raise VkScriptError("unexpected end of code")
        kind, text = token
        if text == "{":
            return self.obj()
        if text == "[":
            self.take("[")
            items: list[Any] = []
            if self.peek() != ("punct", "]"):
                items.append(self.value())
                while self.peek() == ("punct", ","):
                    self.take(",")
                    items.append(self.value())
            self.take("]")
            return items
        self.pos += 1
        if kind == "str":
            return _unquote(text)
        if kind == "num":
            return float(text) if "." in text else int(text)
        if kind == "ident" and text in ("true", "false", "null"):
            return {"true": True, "false": False, "null": None}[text]
        raise VkScriptError(f"unsupported value {text!r}")  # variables, expressions: not supported

    def obj(self) -> dict[str, Any]:
        self.take("{")
        result: dict[str, Any] = {}
        while self.peek() != ("punct", "}"):
            kind, text = self.peek() or ("", "")
            if kind not in ("str", "ident"):
                raise VkScriptError("object key expected")
            self.pos += 1
            key = _unquote(text) if kind == "str" else text
            self.take(":")
            result[key] = self.value()
            if self.peek() == ("punct", ","):
                self.take(",")
            elif self.peek() != ("punct", "}"):
                raise VkScriptError("',' or '}' expected")
        self.take("}")
        return result


def _unquote(text: str) -> str:
    if text.startswith("'"):
        # Re-quote as JSON so escapes are decoded by a real parser, never by eval.
        inner = text[1:-1].replace('\\"', '"').replace("\\'", "'").replace('"', '\\"')
        text = f'"{inner}"'
    try:
        return str(json.loads(text))
    except json.JSONDecodeError as exc:
        raise VkScriptError("bad string literal") from exc


def parse(code: str) -> list[tuple[str, dict[str, Any]]]:
    """The API calls of `code`, in order, with their argument objects."""
    calls = _Parser(code).program()
    if len(calls) > MAX_CALLS:
        raise VkScriptError(f"too many API calls ({len(calls)} > {MAX_CALLS})")
    return calls


def as_param(value: Any) -> str:
    """How VK sees a VKScript value as a method parameter (arrays become comma lists)."""
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, list):
        return ",".join(as_param(item) for item in value)
    if value is None:
        return ""
    return str(value)
