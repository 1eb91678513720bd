"""Where the files that are not Python live: the vtiger plugin and the example configuration.

In a checkout they are `vtiger_plugin/` and `config/example-config.yaml`; after `pip install .` they are
installed as package data (`vtiger_plugin` as a data-only package, the example inside `bridge/data/`,
see pyproject.toml), so `plugin` always prints paths that exist.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

_PACKAGE = Path(__file__).resolve().parents[1]  # bridge/


def plugin_dir() -> Path:
    checkout = _PACKAGE.parent / "vtiger_plugin"
    if (checkout / "install.php").is_file():
        return checkout
    spec = importlib.util.find_spec("vtiger_plugin")
    for location in (spec.submodule_search_locations or []) if spec else []:
        if (Path(location) / "install.php").is_file():
            return Path(location)
    return checkout  # not installed: the message names where it should have been


def example_config() -> Path:
    checkout = _PACKAGE.parent / "config" / "example-config.yaml"
    return checkout if checkout.is_file() else _PACKAGE / "data" / "example-config.yaml"
