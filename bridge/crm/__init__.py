"""The only door into vtiger: everything the bridge asks of the CRM goes through `Crm`.

    gateway.py  `Crm`: records, Leads, the session
    messages.py the messages module and comments (part of `Crm`)
    schema.py   SalesPlatform's schema (module and field names, every default) and `check_schema`
    fields.py   the profile field map: which profile attribute fills which CRM field
    values.py   values as vtiger stores them (emoji, HTML-escaped answers, cut columns)
    texts.py    texts written into the CRM for people, in the CRM's language
    filters.py  filters typed on the command line -> VTQL
    errors.py   the CRM's errors (vtiger_ws's classes, passed through the door)

Nothing outside `bridge/crm/` imports `vtiger_ws` or touches a gateway's client (tests/test_project.py).
"""

from bridge.crm.errors import (
    VtigerAccessDenied,
    VtigerAuthError,
    VtigerConnectionError,
    VtigerCredentialsError,
    VtigerError,
    VtigerProtocolError,
)
from bridge.crm.fields import FieldMap
from bridge.crm.filters import Filter
from bridge.crm.gateway import Crm, Record
from bridge.crm.schema import CLIENT_MODULES, CrmSchemaError, MessagesLayout, SchemaReport

__all__ = [
    "CLIENT_MODULES",
    "Crm",
    "CrmSchemaError",
    "FieldMap",
    "Filter",
    "MessagesLayout",
    "Record",
    "SchemaReport",
    "VtigerAccessDenied",
    "VtigerAuthError",
    "VtigerConnectionError",
    "VtigerCredentialsError",
    "VtigerError",
    "VtigerProtocolError",
]
