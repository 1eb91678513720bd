"""Reading the YAML: key paths to line numbers, environment overrides, type conversion, validation.

`bridge.config` holds the typed schema and `load_config`; this module is the machinery behind it.
"""

from __future__ import annotations

import dataclasses
import difflib
import types
import typing
from collections.abc import Mapping
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml

from bridge.config import ENV_PREFIX, PLACEHOLDER_MARKERS, Config
from bridge.mapping import DEFAULT_FIELD_MAP, PROFILE_ATTRIBUTES
from bridge.secrets import Secret

_CHOICES: dict[str, tuple[str, ...]] = {
    "vtiger.supports_4byte_utf8": ("auto", "true", "false"),
    "vtiger.language": ("auto", "ru", "en"),
    "networks.vk.token_type": ("community", "user"),
    "logging.level": ("DEBUG", "INFO", "WARNING", "ERROR"),
    "logging.format": ("text", "json"),
}
_REQUIRED_WHEN_ENABLED: dict[str, tuple[str, ...]] = {
    "vk": ("token",),
    "x": ("consumer_key", "consumer_secret", "access_token", "access_token_secret"),
    "facebook": ("page_id", "page_token"),
}


class Loader:
    def __init__(self, source: str, lines: dict[tuple[str, ...], int],
                 optional: frozenset[tuple[str, ...]] = frozenset()) -> None:
        self.source = source
        self.lines = lines
        self.errors: list[str] = []
        self.optional = optional  # keys a command does not need (e.g. the token `auth x` is about to get)

    def where(self, path: tuple[str, ...]) -> str:
        for n in range(len(path), 0, -1):
            if path[:n] in self.lines:
                line = self.lines[path[:n]]
                if line == 0:
                    env_name = "_".join((ENV_PREFIX, *path[:n])).upper()
                    return f"environment variable {env_name} (key {'.'.join(path)})"
                return f"{self.source}, key {'.'.join(path)}, line {line}"
        return f"{self.source}, key {'.'.join(path)}"

    def fail(self, path: tuple[str, ...], message: str) -> None:
        if path in self.optional:
            return
        self.errors.append(f"{self.where(path)}: {message}")

    def build(self, cls: type, raw: object, path: tuple[str, ...]) -> Any:
        if raw is None:
            raw = {}
        if not isinstance(raw, Mapping):
            self.fail(path, f"must be a mapping, not {type(raw).__name__}")
            return cls()
        hints = typing.get_type_hints(cls)
        known = {f.name for f in dataclasses.fields(cls) if f.name != "source"}
        for key in raw:
            if key not in known:
                self.fail((*path, str(key)), f"unknown key (known: {', '.join(sorted(known))})")
        values: dict[str, Any] = {}
        for f in dataclasses.fields(cls):
            if f.name in raw:
                values[f.name] = self.convert(hints[f.name], raw[f.name], (*path, f.name))
        try:
            return cls(**values)
        except TypeError as exc:  # pragma: no cover - guarded by the checks above
            self.fail(path, str(exc))
            return cls()

    def convert(self, hint: Any, value: object, path: tuple[str, ...]) -> Any:
        origin = typing.get_origin(hint)
        dotted = ".".join(path)
        if dataclasses.is_dataclass(hint):
            return self.build(hint, value, path)  # type: ignore[arg-type]
        if hint is Secret:
            if value is None:
                return Secret("")
            if not isinstance(value, str | int):
                self.fail(path, "must be a string")
                return Secret("")
            return Secret(str(value))
        if origin is dict:
            _, val_t = typing.get_args(hint)
            if not isinstance(value, Mapping):
                self.fail(path, f"must be a mapping, not {type(value).__name__}")
                return {}
            return {str(k): self.convert(val_t, v, (*path, str(k))) for k, v in value.items()}
        if hint is bool:
            if isinstance(value, bool):
                return value
            if isinstance(value, str) and value.lower() in ("true", "false", "yes", "no", "1", "0"):
                return value.lower() in ("true", "yes", "1")
            self.fail(path, f"must be true or false, not {value!r}")
            return False
        if hint in (int, float):
            if isinstance(value, bool):
                self.fail(path, f"must be a number, not {value!r}")
                return hint(0)
            try:
                number = hint(value)
            except (TypeError, ValueError):
                self.fail(path, f"must be a number, not {value!r}")
                return hint(0)
            if number < 0:
                self.fail(path, f"must not be negative, got {number}")
            return number
        if hint is str:
            if isinstance(value, bool) or value is None or isinstance(value, Mapping | list):
                self.fail(path, f"must be a string, not {type(value).__name__}")
                return ""
            text = str(value)
            if dotted in _CHOICES and text not in _CHOICES[dotted]:
                self.fail(path, f"must be one of {', '.join(_CHOICES[dotted])}, not {text!r}")
            return text
        if isinstance(hint, types.UnionType):  # pragma: no cover - not used by the schema
            return value
        return value


def key_lines(text: str) -> dict[tuple[str, ...], int]:
    """Map each key path to its 1-based line, from the YAML node tree."""
    lines: dict[tuple[str, ...], int] = {}

    def walk(node: yaml.Node, path: tuple[str, ...]) -> None:
        if isinstance(node, yaml.MappingNode):
            for key_node, value_node in node.value:
                key = (*path, str(key_node.value))
                lines[key] = key_node.start_mark.line + 1
                walk(value_node, key)

    root = yaml.compose(text)
    if root is not None:
        walk(root, ())
    return lines


def setting_paths(cls: type, prefix: tuple[str, ...]) -> list[tuple[str, ...]]:
    """Every leaf key of the schema, e.g. ("networks", "vk", "token")."""
    out: list[tuple[str, ...]] = []
    hints = typing.get_type_hints(cls)
    for f in dataclasses.fields(cls):
        if f.name == "source":
            continue
        if dataclasses.is_dataclass(hints[f.name]):
            out += setting_paths(hints[f.name], (*prefix, f.name))
        else:
            out.append((*prefix, f.name))
    return out


def env_name(path: tuple[str, ...]) -> str:
    return "_".join((ENV_PREFIX, *path)).upper()


def apply_env(raw: dict[str, Any], env: Mapping[str, str], lines: dict[tuple[str, ...], int]) -> None:
    """Overlay VSB_* variables onto the raw tree, following the schema so `_` inside keys works."""
    for path in setting_paths(Config, ()):
        name = env_name(path)
        if name in env:
            node = raw
            for part in path[:-1]:
                if not isinstance(node.get(part), dict):
                    node[part] = {}
                node = node[part]
            # Scalars are read as YAML ("true", "20") so types match the file; secrets stay verbatim.
            parsed = env[name] if _is_secret_path(path) else yaml.safe_load(env[name])
            node[path[-1]] = "" if parsed is None else parsed
            lines[path] = 0


def _is_secret_path(path: tuple[str, ...]) -> bool:
    cls: Any = Config
    for part in path:
        hint = typing.get_type_hints(cls).get(part)
        if hint is None:
            return False
        cls = hint
    return cls is Secret


def check(config: Config, loader: Loader) -> None:
    enabled = config.networks.enabled()
    for network in enabled:
        section = getattr(config.networks, network)
        for key in _REQUIRED_WHEN_ENABLED[network]:
            value = getattr(section, key)
            if not (value.reveal() if isinstance(value, Secret) else value):
                loader.fail(("networks", network, key), f"is required when {network} is enabled")
        if section.imports.unknown_sender not in ("skip", "create_lead"):
            loader.fail(
                ("networks", network, "imports", "unknown_sender"),
                f"must be skip or create_lead, not {section.imports.unknown_sender!r}",
            )
        if section.imports.limit < 1 or section.imports.limit > 200:
            loader.fail(("networks", network, "imports", "limit"), "must be between 1 and 200")
    vk = config.networks.vk
    if vk.enabled and vk.token_type == "community" and not vk.group_id:
        loader.fail(("networks", "vk", "group_id"), "is required for a community token")
    if not config.vtiger.url:
        loader.fail(("vtiger", "url"), "is required")
    elif not config.vtiger.url.startswith(("http://", "https://")):
        loader.fail(("vtiger", "url"), f"must start with http:// or https://, not {config.vtiger.url!r}")
    if not config.vtiger.access_key:
        loader.fail(("vtiger", "access_key"), "is required (vtiger: My Preferences -> Access Key)")
    if not config.webhook.secret or len(config.webhook.secret.reveal()) < 16:
        loader.fail(("webhook", "secret"), "must be at least 16 characters (it signs vtiger's calls)")
    try:
        ZoneInfo(config.vtiger.timezone)
    except (ZoneInfoNotFoundError, ValueError):
        loader.fail(("vtiger", "timezone"), f"unknown time zone {config.vtiger.timezone!r}")
    for module, mapping in config.fields.profile_map.items():
        if module not in DEFAULT_FIELD_MAP:
            loader.fail(("fields", "profile_map", module), "must be Contacts, Accounts or Leads")
        for attribute in mapping:
            if attribute not in PROFILE_ATTRIBUTES:
                loader.fail(
                    ("fields", "profile_map", module, attribute),
                    f"unknown profile attribute (known: {', '.join(PROFILE_ATTRIBUTES)})",
                )
    _check_placeholders(config, (), loader)


def _check_placeholders(obj: object, path: tuple[str, ...], loader: Loader) -> None:
    if dataclasses.is_dataclass(obj):
        if getattr(obj, "enabled", True) is False:
            return  # a disabled network may keep the example's placeholders
        for f in dataclasses.fields(obj):
            _check_placeholders(getattr(obj, f.name), (*path, f.name), loader)
        return
    value = obj.reveal() if isinstance(obj, Secret) else obj
    if isinstance(value, str) and any(marker in value for marker in PLACEHOLDER_MARKERS):
        shown = "the example placeholder" if isinstance(obj, Secret) else repr(value)
        loader.fail(path, f"still holds {shown}; replace it with your own value")


def unknown_env(env: Mapping[str, str]) -> list[str]:
    """Warnings for `VSB_*` variables that name no setting (a typo would otherwise be ignored silently)."""
    known = {env_name(path) for path in setting_paths(Config, ())} | {"VSB_CONFIG"}
    found = []
    for name in sorted(env):
        if name.upper().startswith(ENV_PREFIX + "_") and name not in known:
            close = difflib.get_close_matches(name.upper(), sorted(known), n=1)
            found.append(f"environment variable {name} is not a setting of the bridge and is ignored"
                         + (f" (did you mean {close[0]}?)" if close else ""))
    return found
