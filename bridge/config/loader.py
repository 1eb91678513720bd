"""Reading the configuration file into the typed schema (`bridge.config.schema`), once.

Errors name the file, the key and the line. Placeholder values from the example file are refused by
name. Any key can be overridden from the environment as `VSB_<SECTION>_<KEY>` (nested keys joined with
`_`, upper case; e.g. `VSB_VTIGER_ACCESS_KEY`, `VSB_NETWORKS_VK_TOKEN`). Here: key paths to line numbers,
environment overrides, type conversion, validation.
"""

from __future__ import annotations

import dataclasses
import os
import types
import typing
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml

from bridge.config.bots import check_bots
from bridge.config.env import apply_env, is_secret_path
from bridge.config.import_start import parse_start
from bridge.config.schema import CONFIG_VERSION, ENV_PREFIX, PLACEHOLDER_MARKERS, Config
from bridge.config.secrets import Secret
from bridge.crm.fields import DEFAULT_FIELD_MAP, PROFILE_ATTRIBUTES

_CHOICES: dict[str, tuple[str, ...]] = {
    "vtiger.supports_4byte_utf8": ("auto", "true", "false"),
    "vtiger.language": ("auto", "ru", "en"),
    "networks.vk.token_type": ("community", "user"),
    "networks.vk.intake": ("auto", "longpoll", "poll"),
    "logging.level": ("DEBUG", "INFO", "WARNING", "ERROR"),
    "logging.format": ("text", "json"),
}
# A value at least this long, one word, of letters and digits, is treated as a possible credential.
_CREDENTIAL_LENGTH = 16
# A secret is also recognised inside a longer value, and a value as part of a secret, from this length.
_MIN_PART = 6
_REQUIRED_WHEN_ENABLED: dict[str, tuple[str, ...]] = {
    "vk": ("token",),
    "x": ("consumer_key", "consumer_secret", "access_token", "access_token_secret"),
    "facebook": ("page_id", "page_token"),
    "telegram": ("token",),
    "max": ("token",),
}


class ConfigError(Exception):
    """The configuration cannot be used; the message names file, key and line."""


class Loader:
    """Builds the typed config from the raw tree, collecting every error (see `shown` for what they echo)."""

    def __init__(
        self,
        source: str,
        lines: dict[tuple[str, ...], int],
        optional: frozenset[tuple[str, ...]] = frozenset(),
        secrets: Iterable[str] = (),
    ) -> None:
        self.source = source
        self.lines = lines
        self.errors: list[str] = []
        self.optional = optional  # keys a command does not need (e.g. the token `auth x` is about to get)
        self.secrets = frozenset(s for s in secrets if s)

    def where(self, path: tuple[str, ...]) -> str:
        for n in range(len(path), 0, -1):
            if path[:n] in self.lines:
                line = self.lines[path[:n]]
                if line == 0:
                    env_name = "_".join((ENV_PREFIX, *path[:n])).upper()
                    return f"environment variable {env_name} (key {self._dotted(path)})"
                return f"{self.source}, key {self._dotted(path)}, line {line}"
        return f"{self.source}, key {self._dotted(path)}"

    def _dotted(self, path: tuple[str, ...]) -> str:
        # A key is typed by the user too: a token pasted as a key name must not come back either.
        return ".".join("<a key not shown>" if self._may_be_secret(part) else part for part in path)

    def _may_be_secret(self, text: str) -> bool:
        return _looks_like_credential(text) or any(
            text == secret
            or (len(secret) >= _MIN_PART and secret in text)
            or (len(text) >= _MIN_PART and text in secret)
            for secret in self.secrets
        )

    def shown(self, path: tuple[str, ...], value: object) -> str:
        """`value` quoted for an error message, or why it is not shown.

        Secret-bearing, so never echoed: the value of a secret key; any value given in the environment
        (VSB_* variables are where secrets are meant to live, whatever key they set); a value that is,
        contains or is part of a configured secret; and a value shaped like a credential (a long word of
        letters and digits), which is what a token put under the wrong key looks like.
        """
        text = value if isinstance(value, str) else repr(value)
        if is_secret_path(path):
            return "the secret value"
        if self.lines.get(path) == 0:
            return "the value from the environment (not shown)"
        if self._may_be_secret(text):
            return "a value that is not shown (it may be a secret)"
        return repr(value)

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
            self.fail(path, f"must be true or false, not {self.shown(path, value)}")
            return False
        if hint in (int, float):
            if isinstance(value, bool):
                self.fail(path, f"must be a number, not {self.shown(path, value)}")
                return hint(0)
            try:
                number = hint(value)
            except (TypeError, ValueError):
                self.fail(path, f"must be a number, not {self.shown(path, value)}")
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
                self.fail(path, f"must be one of {', '.join(_CHOICES[dotted])}, not {self.shown(path, text)}")
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


def secret_values(raw: object, path: tuple[str, ...] = ()) -> list[str]:
    """Every value found under a secret key of the raw tree (after the environment overlay), whatever
    its type: a token typed as a list or a number is still a token."""
    found: list[str] = []
    if isinstance(raw, Mapping):
        for key, value in raw.items():
            found += secret_values(value, (*path, str(key)))
    elif isinstance(raw, list):
        for item in raw:
            found += secret_values(item, path)
    elif raw is not None and path and is_secret_path(path):
        found.append(str(raw))
    return found


def _looks_like_credential(text: str) -> bool:
    """A single long word mixing letters and digits: how tokens, keys and secrets look, and how no key
    name, time zone, choice or URL the user means to show usually does."""
    return (
        len(text) >= _CREDENTIAL_LENGTH
        and not any(c.isspace() for c in text)
        and any(c.isdigit() for c in text)
        and any(c.isalpha() for c in text)
    )


def check(config: Config, loader: Loader) -> None:
    enabled = config.networks.enabled()
    for network in enabled:
        section = getattr(config.networks, network)
        for key in _REQUIRED_WHEN_ENABLED[network]:
            value = getattr(section, key)
            if not (value.reveal() if isinstance(value, Secret) else value):
                loader.fail(("networks", network, key), f"is required when {network} is enabled")
        if section.imports.unknown_sender not in ("skip", "create_lead"):
            where = ("networks", network, "imports", "unknown_sender")
            shown = loader.shown(where, section.imports.unknown_sender)
            loader.fail(where, f"must be skip or create_lead, not {shown}")
        try:
            parse_start(section.imports.start)
        except ValueError as exc:
            where = ("networks", network, "imports", "start")
            loader.fail(where, f"{exc}, not {loader.shown(where, section.imports.start)}")
        if section.imports.limit < 1 or section.imports.limit > 200:
            loader.fail(("networks", network, "imports", "limit"), "must be between 1 and 200")
    vk = config.networks.vk
    if vk.enabled and vk.token_type == "community" and not vk.group_id:
        loader.fail(("networks", "vk", "group_id"), "is required for a community token")
    if vk.intake == "longpoll" and vk.token_type != "community":
        loader.fail(
            ("networks", "vk", "intake"),
            "longpoll needs a community token (token_type: community): VK gives a community's events only "
            "to its own key. Use intake: poll with a user token",
        )
    if not 1 <= vk.longpoll_wait <= 90:
        loader.fail(("networks", "vk", "longpoll_wait"), "must be between 1 and 90 (seconds; VK allows 90)")
    if not config.vtiger.url:
        loader.fail(("vtiger", "url"), "is required")
    elif not config.vtiger.url.startswith(("http://", "https://")):
        shown = loader.shown(("vtiger", "url"), config.vtiger.url)
        loader.fail(("vtiger", "url"), f"must start with http:// or https://, not {shown}")
    if not config.vtiger.access_key:
        loader.fail(("vtiger", "access_key"), "is required (vtiger: My Preferences -> Access Key)")
    if not config.webhook.secret or len(config.webhook.secret.reveal()) < 16:
        loader.fail(("webhook", "secret"), "must be at least 16 characters (it signs vtiger's calls)")
    state = config.state
    if state.keep_texts_days < 1:
        loader.fail(("state", "keep_texts_days"), "must be at least 1 (day)")
    elif state.forget_after_days < state.keep_texts_days + 1:
        loader.fail(("state", "forget_after_days"), "must be at least keep_texts_days + 1")
    try:
        ZoneInfo(config.vtiger.timezone)
    except (ZoneInfoNotFoundError, ValueError):
        shown = loader.shown(("vtiger", "timezone"), config.vtiger.timezone)
        loader.fail(("vtiger", "timezone"), f"unknown time zone {shown}")
    for module, mapping in config.fields.profile_map.items():
        if module not in DEFAULT_FIELD_MAP:
            loader.fail(("fields", "profile_map", module), "must be Contacts, Accounts or Leads")
        for attribute in mapping:
            if attribute not in PROFILE_ATTRIBUTES:
                loader.fail(
                    ("fields", "profile_map", module, attribute),
                    f"unknown profile attribute (known: {', '.join(PROFILE_ATTRIBUTES)})",
                )
    check_bots(config, loader)
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
        shown = "the example placeholder" if isinstance(obj, Secret) else loader.shown(path, value)
        loader.fail(path, f"still holds {shown}; replace it with your own value")


def load_config(
    path: str | Path,
    env: Mapping[str, str] | None = None,
    *,
    optional: frozenset[tuple[str, ...]] = frozenset(),
) -> Config:
    """Read, validate and return the configuration; keys in `optional` may be empty or placeholders.

    Raises:
        ConfigError: listing every problem with file, key and line.
    """
    path = Path(path)
    env = os.environ if env is None else env
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read the configuration file: {exc.strerror}") from None
    try:
        raw = yaml.safe_load(text) or {}
        lines = key_lines(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f", line {mark.line + 1}" if mark else ""
        raise ConfigError(f"{path}{where}: not valid YAML: {getattr(exc, 'problem', exc)}") from None
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}: the top level must be a mapping of sections")
    apply_env(raw, env, lines)
    loader = Loader(str(path), lines, optional, secrets=secret_values(raw))
    if raw.get("version") != CONFIG_VERSION:
        loader.fail(("version",), f"must be {CONFIG_VERSION} (the config format this bridge reads)")
    config = loader.build(Config, raw, ())
    if not loader.errors:
        check(config, loader)
    if loader.errors:
        raise ConfigError("invalid configuration:\n  " + "\n  ".join(loader.errors))
    result: Config = dataclasses.replace(config, source=str(path))
    return result
