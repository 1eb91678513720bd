"""A client for vtiger CRM's `webservice.php` (incl. SalesPlatform 7.2), built on `requests`.

from vtiger_ws import VtigerClient, vtql

with VtigerClient("https://crm.example.com", "admin", "<access key>") as crm:
    for row in crm.query_iter("Contacts", where=vtql.like("vk_url", "%vk.com%")):
        ...
"""

from . import vtql
from .client import MAX_RELOGINS, VtigerClient
from .errors import (
    ERROR_CLASSES,
    VtigerAccessDenied,
    VtigerAuthError,
    VtigerConnectionError,
    VtigerCredentialsError,
    VtigerDuplicate,
    VtigerError,
    VtigerInvalidRequest,
    VtigerNotFound,
    VtigerProtocolError,
    VtigerServerError,
    VtigerSessionExpired,
    VtigerUnknownError,
)
from .transport import OPERATION_METHODS, parse_response
from .types import (
    FieldInfo,
    LoginInfo,
    ModuleDescription,
    ModuleName,
    ModuleType,
    RelatedType,
    VtigerId,
    crmid_of,
)

__all__ = [
    "ERROR_CLASSES",
    "MAX_RELOGINS",
    "OPERATION_METHODS",
    "FieldInfo",
    "LoginInfo",
    "ModuleDescription",
    "ModuleName",
    "ModuleType",
    "RelatedType",
    "VtigerAccessDenied",
    "VtigerAuthError",
    "VtigerClient",
    "VtigerConnectionError",
    "VtigerCredentialsError",
    "VtigerDuplicate",
    "VtigerError",
    "VtigerId",
    "VtigerInvalidRequest",
    "VtigerNotFound",
    "VtigerProtocolError",
    "VtigerServerError",
    "VtigerSessionExpired",
    "VtigerUnknownError",
    "crmid_of",
    "parse_response",
    "vtql",
]
