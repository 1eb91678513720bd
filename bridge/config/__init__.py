"""The bridge's configuration: one YAML file parsed once into typed, validated objects.

schema.py        the sections and their defaults (SalesPlatform's come from `bridge.crm.schema`)
loader.py        `load_config`: YAML -> schema, environment overrides, every error with key and line
secrets.py       `Secret`, a value that never shows itself in repr, str or logs
import_start.py  `networks.<n>.imports.start`: where a network's first import begins
"""

from bridge.config.loader import ConfigError, load_config
from bridge.config.schema import (
    CONFIG_VERSION,
    Config,
    FacebookConfig,
    FieldsConfig,
    ImportConfig,
    JobsConfig,
    LoggingConfig,
    MessagesConfig,
    NetworksConfig,
    StateConfig,
    VkConfig,
    VtigerConfig,
    WebhookConfig,
    XConfig,
)

__all__ = [
    "CONFIG_VERSION",
    "Config",
    "ConfigError",
    "FacebookConfig",
    "FieldsConfig",
    "ImportConfig",
    "JobsConfig",
    "LoggingConfig",
    "MessagesConfig",
    "NetworksConfig",
    "StateConfig",
    "VkConfig",
    "VtigerConfig",
    "WebhookConfig",
    "XConfig",
    "load_config",
]
