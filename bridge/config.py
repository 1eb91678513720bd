"""The bridge's configuration: one YAML file parsed once into typed, validated objects.

Errors name the file, the key and the line. Placeholder values from the example file are refused by
name. Any key can be overridden from the environment as `VSB_<SECTION>_<KEY>` (nested keys joined with
`_`, upper case; e.g. `VSB_VTIGER_ACCESS_KEY`, `VSB_NETWORKS_VK_TOKEN`). Secrets are `Secret` objects:
their repr, str and format are masked.
"""

from __future__ import annotations

import dataclasses
import os
import types
import typing
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml

from bridge.mapping import DEFAULT_FIELD_MAP, PROFILE_ATTRIBUTES
from bridge.secrets import Secret

CONFIG_VERSION = 1
ENV_PREFIX = "VSB"
PLACEHOLDER_MARKERS = ("CHANGE_ME", "example.com")


class ConfigError(Exception):
    """The configuration cannot be used; the message names file, key and line."""


NO_SECRET = Secret("")  # immutable, so one shared default is safe


@dataclass(frozen=True)
class VtigerConfig:
    url: str = ""
    username: str = "admin"
    access_key: Secret = NO_SECRET
    timezone: str = "UTC"
    timeout: float = 20.0
    # auto: probe once at start-up whether the CRM stores emoji; true/false: trust the administrator.
    supports_4byte_utf8: str = "auto"


@dataclass(frozen=True)
class MessagesConfig:
    module: str = "SPSocialConnector"
    type_outbound: str = "Outbound"
    type_inbound: str = "Incoming"
    status_sent: str = "Sent"
    status_not_sent: str = "Not sent"
    status_received: str = "Received"
    # Per network, the fields holding its status and its message id; a network whose fields the CRM
    # lacks (e.g. Facebook on SalesPlatform 7.x) is still sent to, its outcome kept in the comment.
    status_fields: dict[str, str] = field(
        default_factory=lambda: {"vk": "vk_status", "x": "tw_status", "facebook": "fb_status"}
    )
    id_fields: dict[str, str] = field(
        default_factory=lambda: {"vk": "vk_message_id", "x": "tw_message_id", "facebook": "fb_message_id"}
    )
    # A TEXT column holds 65,535 bytes: with MySQL's 3-byte utf8 that is 21,845 characters for sure.
    max_chars: int = 20_000


@dataclass(frozen=True)
class FieldsConfig:
    url_fields: dict[str, str] = field(
        default_factory=lambda: {"vk": "vk_url", "x": "tw_url", "facebook": "fb_url"}
    )
    outgoing_text_field: str = ""
    outgoing_networks_field: str = ""
    profile_map: dict[str, dict[str, str]] = field(
        default_factory=lambda: {m: dict(v) for m, v in DEFAULT_FIELD_MAP.items()}
    )


@dataclass(frozen=True)
class ImportConfig:
    interval_minutes: float = 5.0
    limit: int = 20
    unknown_sender: str = "skip"


@dataclass(frozen=True)
class VkConfig:
    enabled: bool = False
    token_type: str = "community"
    token: Secret = NO_SECRET
    group_id: int = 0
    api_url: str = "https://api.vk.ru/method/"
    rate_limit: float = 20.0
    imports: ImportConfig = field(default_factory=ImportConfig)


@dataclass(frozen=True)
class XConfig:
    enabled: bool = False
    consumer_key: Secret = NO_SECRET
    consumer_secret: Secret = NO_SECRET
    access_token: Secret = NO_SECRET
    access_token_secret: Secret = NO_SECRET
    api_url: str = "https://api.x.com"
    rate_limit: float = 1.0
    imports: ImportConfig = field(default_factory=ImportConfig)


@dataclass(frozen=True)
class FacebookConfig:
    enabled: bool = False
    page_id: str = ""
    page_token: Secret = NO_SECRET
    app_secret: Secret = NO_SECRET
    api_url: str = "https://graph.facebook.com/v21.0"
    human_agent_tag: bool = False
    rate_limit: float = 10.0
    imports: ImportConfig = field(default_factory=ImportConfig)


@dataclass(frozen=True)
class NetworksConfig:
    vk: VkConfig = field(default_factory=VkConfig)
    x: XConfig = field(default_factory=XConfig)
    facebook: FacebookConfig = field(default_factory=FacebookConfig)

    def enabled(self) -> list[str]:
        return [n for n in ("vk", "x", "facebook") if getattr(self, n).enabled]


@dataclass(frozen=True)
class WebhookConfig:
    bind: str = "127.0.0.1"
    port: int = 8787
    secret: Secret = NO_SECRET
    max_body: int = 65536


@dataclass(frozen=True)
class StateConfig:
    path: str = "state.sqlite3"


@dataclass(frozen=True)
class JobsConfig:
    outbox_interval_seconds: float = 60.0
    index_refresh_minutes: float = 10.0
    misfire_grace_seconds: int = 120
    shutdown_grace_seconds: float = 20.0


@dataclass(frozen=True)
class LoggingConfig:
    level: str = "INFO"
    format: str = "text"
    file: str = ""


@dataclass(frozen=True)
class Config:
    version: int = CONFIG_VERSION
    vtiger: VtigerConfig = field(default_factory=VtigerConfig)
    messages: MessagesConfig = field(default_factory=MessagesConfig)
    fields: FieldsConfig = field(default_factory=FieldsConfig)
    networks: NetworksConfig = field(default_factory=NetworksConfig)
    webhook: WebhookConfig = field(default_factory=WebhookConfig)
    state: StateConfig = field(default_factory=StateConfig)
    jobs: JobsConfig = field(default_factory=JobsConfig)
    logging: LoggingConfig = field(default_factory=LoggingConfig)
    source: str = field(default="<defaults>", compare=False)

    def secrets(self) -> list[str]:
        """Every secret value, for log masking."""
        found: list[str] = []

        def walk(obj: object) -> None:
            if isinstance(obj, Secret):
                found.append(obj.reveal())
            elif dataclasses.is_dataclass(obj):
                for f in dataclasses.fields(obj):
                    walk(getattr(obj, f.name))

        walk(self)
        return [s for s in found if s]


# --- loading ---------------------------------------------------------------------------------------
_CHOICES: dict[str, tuple[str, ...]] = {
    "vtiger.supports_4byte_utf8": ("auto", "true", "false"),
    "networks.vk.token_type": ("community", "user"),
    "logging.level": ("DEBUG", "INFO", "WARNING", "ERROR"),
    "logging.format": ("text", "json"),
}
_REQUIRED_WHEN_ENABLED: dict[str, tuple[str, ...]] = {
    "vk": ("token",),
    "x": ("consumer_key", "consumer_secret", "access_token", "access_token_secret"),
    "facebook": ("page_id", "page_token"),
}


class _Loader:
    def __init__(self, source: str, lines: dict[tuple[str, ...], int]) -> None:
        self.source = source
        self.lines = lines
        self.errors: list[str] = []

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


def _key_lines(text: str) -> dict[tuple[str, ...], int]:
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


def _apply_env(raw: dict[str, Any], env: Mapping[str, str], lines: dict[tuple[str, ...], int]) -> None:
    """Overlay VSB_* variables onto the raw tree, following the schema so `_` inside keys works."""

    def paths(cls: type, prefix: tuple[str, ...]) -> list[tuple[str, ...]]:
        out: list[tuple[str, ...]] = []
        hints = typing.get_type_hints(cls)
        for f in dataclasses.fields(cls):
            if f.name == "source":
                continue
            if dataclasses.is_dataclass(hints[f.name]):
                out += paths(hints[f.name], (*prefix, f.name))
            else:
                out.append((*prefix, f.name))
        return out

    for path in paths(Config, ()):
        name = "_".join((ENV_PREFIX, *path)).upper()
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


def _check(config: Config, loader: _Loader) -> None:
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


def _check_placeholders(obj: object, path: tuple[str, ...], loader: _Loader) -> None:
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


def load_config(path: str | Path, env: Mapping[str, str] | None = None) -> Config:
    """Read, validate and return the configuration.

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
        lines = _key_lines(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f", line {mark.line + 1}" if mark else ""
        raise ConfigError(f"{path}{where}: not valid YAML: {getattr(exc, 'problem', exc)}") from None
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}: the top level must be a mapping of sections")
    _apply_env(raw, env, lines)
    loader = _Loader(str(path), lines)
    if raw.get("version") != CONFIG_VERSION:
        loader.fail(("version",), f"must be {CONFIG_VERSION} (the config format this bridge reads)")
    config = loader.build(Config, raw, ())
    if not loader.errors:
        _check(config, loader)
    if loader.errors:
        raise ConfigError("invalid configuration:\n  " + "\n  ".join(loader.errors))
    return dataclasses.replace(config, source=str(path))
