"""SalesPlatform's CRM schema as the bridge uses it, and the start-up check that the CRM really has it.

Every name the bridge writes into or reads from vtiger is here (or in `bridge.crm.fields`, the profile
field map), as the default of SalesPlatform 7.2; the configuration may rename the messages module, its
values and the social URL fields (`messages:` and `fields:` in the configuration file), never anything
else. `check_schema` runs at start-up and refuses a CRM that lacks what the configuration maps.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from bridge.crm.fields import FieldMap
from vtiger_ws import VtigerClient

log = logging.getLogger(__name__)

# The modules whose records are the clients the bridge writes to (and whose URL fields it reads).
CLIENT_MODULES: tuple[str, ...] = ("Contacts", "Accounts", "Leads")
# network -> the client modules' field that holds the person's profile link.
# Telegram's and MAX's fields are added by the SocialBridge module (vtiger_plugin/crm_schema.json): they
# hold the account an invitation linked (`tg://user?id=<id>`, a MAX user id), or a link typed by a person.
DEFAULT_URL_FIELDS: dict[str, str] = {
    "vk": "vk_url",
    "x": "tw_url",
    "facebook": "fb_url",
    "telegram": "tg_url",
    "max": "max_url",
}
# Webservice id prefixes of a fresh vtiger/SalesPlatform install (vtiger_ws_entity ids); only used to turn
# a bare crmid from a flat/Cloud webhook body into a webservice id. Installs with other prefixes pass
# their own map to the webhook.
DEFAULT_ID_PREFIXES: Mapping[str, int] = {"Accounts": 11, "Contacts": 12, "Leads": 10}

# Fields every record has, in vtiger's names.
ID = "id"
OWNER = "assigned_user_id"
MODIFIEDTIME = "modifiedtime"  # the database time of the record's last save, "YYYY-MM-DD HH:MM:SS"
# Fields vtiger's change list (VTEntityDelta) names with any write, whatever the write changed.
META_FIELDS = frozenset({MODIFIEDTIME, "modifiedby", "label"})
VTIGER_DATETIME = "%Y-%m-%d %H:%M:%S"

# A Lead created for an unknown sender: its name and the field of its profile link.
LEAD_MODULE = "Leads"
LEAD_LAST_NAME = "lastname"
LEAD_FIRST_NAME = "firstname"

# A comment on a client record (vtiger refuses one on a messages-module record).
COMMENT_MODULE = "ModComments"
COMMENT_TEXT = "commentcontent"
COMMENT_RECORD = "related_to"

# The messages module's own fields (beyond the per-network status and id fields below).
MESSAGE_TEXT = "message"
MESSAGE_DATETIME = "message_datetime"
MESSAGE_TYPE = "type"
MESSAGE_FIELDS = (MESSAGE_TEXT, OWNER, MESSAGE_DATETIME, MESSAGE_TYPE)


@dataclass(frozen=True)
class MessagesLayout:
    """The module that holds one record per message (SalesPlatform's `SPSocialConnector`), its values and
    its per-network fields. The configuration's `messages:` section is this layout (`MessagesConfig`)."""

    module: str = "SPSocialConnector"
    type_outbound: str = "Outbound"
    type_inbound: str = "Incoming"
    status_sent: str = "Sent"
    status_not_sent: str = "Not sent"
    status_received: str = "Received"
    # A send that may or may not have arrived and must not be repeated (Telegram keeps no idempotency key
    # and shows a bot no history): a person checks with the client.
    status_unknown: str = "Delivery unknown"
    # Per network, the fields holding its status and its message id; a network whose fields the CRM
    # lacks (e.g. Facebook on SalesPlatform 7.x) is still sent to, its outcome kept in the comment.
    status_fields: dict[str, str] = field(
        default_factory=lambda: {
            "vk": "vk_status",
            "x": "tw_status",
            "facebook": "fb_status",
            "telegram": "tg_status",
            "max": "max_status",
        }
    )
    id_fields: dict[str, str] = field(
        default_factory=lambda: {
            "vk": "vk_message_id",
            "x": "tw_message_id",
            "facebook": "fb_message_id",
            "telegram": "tg_message_id",
            "max": "max_message_id",
        }
    )
    # A TEXT column holds 65,535 bytes: with MySQL's 3-byte utf8 that is 21,845 characters for sure.
    max_chars: int = 20_000


class CrmSchemaError(Exception):
    """The CRM lacks fields or relations the configuration needs; the message names each one."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("The CRM schema does not fit the configuration:\n  - " + "\n  - ".join(problems))
        self.problems = problems


@dataclass
class SchemaReport:
    """What start-up learned about the CRM."""

    url_fields: dict[str, dict[str, str]]  # module -> network -> field (only fields that exist)
    status_fields: dict[str, tuple[str, str]]  # network -> (status, id) fields that exist
    disabled_networks: dict[str, str]  # network -> reason
    id_prefixes: dict[str, str]  # idPrefix -> module
    field_types: dict[str, dict[str, str]]  # module -> field -> type name
    warnings: list[str]


def check_schema(
    client: VtigerClient,
    networks: Iterable[str],
    *,
    messages: MessagesLayout,
    field_map: FieldMap,
    url_field_names: Mapping[str, str],
) -> SchemaReport:
    """Describe the client modules and the messages module; refuse a CRM that lacks mapped fields.

    Raises:
        CrmSchemaError: naming every missing or incompatible field.
    """
    networks = list(networks)
    problems: list[str] = []
    warnings: list[str] = []
    field_types: dict[str, dict[str, str]] = {}
    prefixes: dict[str, str] = {}
    for module in (*CLIENT_MODULES, messages.module):
        described = client.describe(module)
        field_types[module] = {f.name: f.type_name for f in described.fields}
        prefixes[described.id_prefix] = module
    for module in CLIENT_MODULES:
        types = field_types[module]
        for attribute, field_name in field_map.for_module(module).items():
            if field_name not in types:
                problems.append(f"{module}.{field_name} (mapped from profile {attribute}) does not exist")
            elif not field_map.compatible(attribute, types[field_name]):
                problems.append(
                    f"{module}.{field_name} is of type {types[field_name]!r}, "
                    f"which cannot hold the profile's {attribute}"
                )
    msg_types = field_types[messages.module]
    for required in MESSAGE_FIELDS:
        if required not in msg_types:
            problems.append(f"{messages.module}.{required} does not exist")
    url_fields: dict[str, dict[str, str]] = {m: {} for m in CLIENT_MODULES}
    disabled: dict[str, str] = {}
    status_fields: dict[str, tuple[str, str]] = {}
    for network in networks:
        name = url_field_names.get(network)
        present = [m for m in CLIENT_MODULES if name and name in field_types[m]]
        for module in present:
            url_fields[module][network] = name or ""
        if not present:
            disabled[network] = f"no {name!r} field on Contacts, Accounts or Leads"
            warnings.append(f"{network} disabled: the CRM has no {name!r} field")
        pair = (messages.status_fields.get(network, ""), messages.id_fields.get(network, ""))
        if pair[0] in msg_types and pair[1] in msg_types:
            status_fields[network] = pair
        elif network not in disabled:
            warnings.append(
                f"{messages.module} has no status fields for {network}; "
                "its sends are still recorded, without a per-network status"
            )
    # add_related answers success even for a label that links nothing: check the labels up front.
    labels = {r.label for r in client.relatedtypes(messages.module)}
    for module in CLIENT_MODULES:
        if module not in labels:
            problems.append(f"{messages.module} has no relation labelled {module!r}")
    if problems:
        raise CrmSchemaError(problems)
    report = SchemaReport(url_fields, status_fields, disabled, prefixes, field_types, warnings)
    for warning in warnings:
        log.warning("%s", warning)
    return report
