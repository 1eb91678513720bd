"""The configuration's typed schema: one frozen dataclass per section, with every default.

`bridge.config.loader` reads the YAML into these (and validates it); nothing else reads raw dicts.
Secrets are `Secret` objects: their repr, str and format are masked.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

from bridge.config.import_start import DEFAULT_START
from bridge.config.secrets import Secret
from bridge.crm.fields import DEFAULT_FIELD_MAP
from bridge.crm.schema import DEFAULT_URL_FIELDS, MessagesLayout

CONFIG_VERSION = 1
ENV_PREFIX = "VSB"
PLACEHOLDER_MARKERS = ("CHANGE_ME", "example.com")
# The networks the configuration has a section for (`networks:`), in the order they are named everywhere.
NETWORKS: tuple[str, ...] = ("vk", "x", "facebook", "telegram", "max")
# The bots: a client is linked by an invitation link (`invite`), never by a profile link.
BOT_NETWORKS: tuple[str, ...] = ("telegram", "max")


NO_SECRET = Secret("")  # immutable, so one shared default is safe


@dataclass(frozen=True)
class VtigerConfig:
    url: str = ""
    username: str = "admin"
    access_key: Secret = NO_SECRET
    timezone: str = "UTC"
    timeout: float = 20.0
    # auto: look (read-only) for emoji the CRM already stores; true/false: trust the administrator.
    supports_4byte_utf8: str = "auto"
    # Language of the texts the bridge writes into the CRM for people: auto (the API user's language in
    # vtiger), ru or en.
    language: str = "auto"


# The messages module and its values: SalesPlatform's by default (`bridge.crm.schema.MessagesLayout`).
MessagesConfig = MessagesLayout


@dataclass(frozen=True)
class FieldsConfig:
    url_fields: dict[str, str] = field(default_factory=lambda: dict(DEFAULT_URL_FIELDS))
    outgoing_text_field: str = ""
    outgoing_networks_field: str = ""
    # The field an `invite` event writes the bots' invitation links into (one per line), for an e-mail or
    # SMS workflow to send; "" = invite events are refused with a reason.
    invitation_field: str = ""
    profile_map: dict[str, dict[str, str]] = field(
        default_factory=lambda: {m: dict(v) for m, v in DEFAULT_FIELD_MAP.items()}
    )


@dataclass(frozen=True)
class ImportConfig:
    interval_minutes: float = 5.0
    limit: int = 20
    unknown_sender: str = "skip"
    # Where the first import starts: now, all or last_days N (bridge/config/import_start.py).
    start: str = DEFAULT_START


@dataclass(frozen=True)
class VkConfig:
    enabled: bool = False
    token_type: str = "community"
    token: Secret = NO_SECRET
    group_id: int = 0
    api_url: str = "https://api.vk.ru/method/"
    rate_limit: float = 20.0
    # How messages come in: longpoll (VK Bots Long Poll, within seconds; needs a community token), poll
    # (the scheduled import only), or auto: longpoll for a community token, poll for a user token.
    # With longpoll the scheduled import keeps running as the catch-up (bridge/services/stream.py).
    intake: str = "auto"
    longpoll_wait: int = 25  # seconds VK holds a poll open when nothing happens (1..90; 25 passes proxies)
    imports: ImportConfig = field(default_factory=ImportConfig)

    @property
    def intake_mode(self) -> str:
        """ "longpoll" or "poll", with auto resolved from the token's kind."""
        if self.intake == "auto":
            return "longpoll" if self.token_type == "community" else "poll"
        return self.intake


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
class BotConfig:
    """What the Telegram and MAX bots share. Reachability: `api_url`, `proxy_url` (http/https/socks5; may
    carry a password, so a secret) and `ca_bundle` (a PEM file; verification is never switched off)."""

    enabled: bool = False
    token: Secret = NO_SECRET
    api_url: str = ""
    proxy_url: Secret = NO_SECRET
    ca_bundle: str = ""
    # True: delete a webhook set on the bot before polling; False: refuse to poll while one is set.
    take_over_webhook: bool = False
    rate_limit: float = 25.0
    # Days an invitation link stays valid (single use; `invite`).
    invitation_days: float = 3.0
    imports: ImportConfig = field(default_factory=ImportConfig)


@dataclass(frozen=True)
class TelegramConfig(BotConfig):
    """A Telegram bot (@BotFather); `api_url` may name a local Bot API server or a reverse proxy."""

    api_url: str = "https://api.telegram.org"


@dataclass(frozen=True)
class MaxConfig(BotConfig):
    """A MAX bot (business.max.ru). Its host's certificate chain ends at the Russian Trusted Root CA,
    which default bundles lack: `ca_bundle` names a PEM file that holds it."""

    api_url: str = "https://platform-api2.max.ru"


@dataclass(frozen=True)
class NetworksConfig:
    vk: VkConfig = field(default_factory=VkConfig)
    x: XConfig = field(default_factory=XConfig)
    facebook: FacebookConfig = field(default_factory=FacebookConfig)
    telegram: TelegramConfig = field(default_factory=TelegramConfig)
    max: MaxConfig = field(default_factory=MaxConfig)

    def enabled(self) -> list[str]:
        return [n for n in NETWORKS if getattr(self, n).enabled]


@dataclass(frozen=True)
class WebhookConfig:
    bind: str = "127.0.0.1"
    port: int = 8787
    secret: Secret = NO_SECRET
    max_body: int = 65536


@dataclass(frozen=True)
class StateConfig:
    path: str = "state.sqlite3"
    # Days after a send or webhook event finished: its message text is dropped (the CRM keeps it), then
    # the row itself is forgotten. Events older than forget_after_days - 1 are refused by the webhook.
    keep_texts_days: float = 30.0
    forget_after_days: float = 400.0


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
