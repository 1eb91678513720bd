"""Settings from the environment: any key of the configuration as `VSB_<SECTION>_<KEY>` (nested keys joined
with `_`, upper case; e.g. `VSB_VTIGER_ACCESS_KEY`, `VSB_NETWORKS_VK_TOKEN`), and warnings for `VSB_*`
variables that name no setting."""

from __future__ import annotations

import dataclasses
import difflib
import typing
from collections.abc import Mapping
from typing import Any

import yaml

from bridge.config.schema import ENV_PREFIX, Config
from bridge.config.secrets import Secret


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
            # Scalars are read as YAML ("true", "20") so types match the file; secrets stay verbatim, and
            # so does a value that is not YAML (its text would otherwise end up in a parser error).
            parsed: Any = env[name]
            if not is_secret_path(path):
                try:
                    parsed = yaml.safe_load(env[name])
                except yaml.YAMLError:
                    parsed = env[name]
            node[path[-1]] = "" if parsed is None else parsed
            lines[path] = 0


def is_secret_path(path: tuple[str, ...]) -> bool:
    cls: Any = Config
    for part in path:
        if not dataclasses.is_dataclass(cls):
            return False
        hint = typing.get_type_hints(cls).get(part)
        if hint is None:
            return False
        cls = hint
    return cls is Secret


# The real-CRM suite's variables (`tools/real-vtiger/real-vtiger env`, tests/real_crm): a developer's shell
# that has them set runs the bridge too, and they are neither settings nor typos of one.
NOT_SETTINGS = ("VSB_REAL_VTIGER_", "VSB_REAL_CRM_")


def unknown_env(env: Mapping[str, str]) -> list[str]:
    """Warnings for `VSB_*` variables that name no setting (a typo would otherwise be ignored silently)."""
    known = {env_name(path) for path in setting_paths(Config, ())} | {"VSB_CONFIG"}
    found = []
    for name in sorted(env):
        if name.upper().startswith(NOT_SETTINGS):
            continue
        if name.upper().startswith(ENV_PREFIX + "_") and name not in known:
            close = difflib.get_close_matches(name.upper(), sorted(known), n=1)
            found.append(
                f"environment variable {name} is not a setting of the bridge and is ignored"
                + (f" (did you mean {close[0]}?)" if close else "")
            )
    return found
