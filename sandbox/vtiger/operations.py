"""The operations webservice.php knows, as vtiger registers them (vtiger_ws_operation and its parameters),
and how it reads a request's parameters."""

from __future__ import annotations

from .._http import Request

# name -> (HTTP method whose superglobal holds the params, prelogin, registered params)
OPERATIONS: dict[str, tuple[str, bool, tuple[str, ...]]] = {
    "getchallenge": ("GET", True, ("username",)),
    "login": ("POST", True, ("username", "accessKey")),
    "extendsession": ("POST", True, ()),
    "logout": ("POST", False, ("sessionName",)),
    "listtypes": ("GET", False, ("fieldTypeList",)),
    "describe": ("GET", False, ("elementType",)),
    "create": ("POST", False, ("elementType", "element")),
    "retrieve": ("GET", False, ("id",)),
    "update": ("POST", False, ("element",)),
    "revise": ("POST", False, ("element",)),
    "delete": ("POST", False, ("id",)),
    "query": ("GET", False, ("query",)),
    "sync": ("GET", False, ("modifiedTime", "elementType")),
    "relatedtypes": ("GET", False, ("elementType",)),
    "retrieve_related": ("GET", False, ("id", "relatedType", "relatedLabel")),
    "query_related": ("GET", False, ("query", "id", "relatedLabel")),
    "add_related": ("POST", False, ("sourceRecordId", "relatedRecordId", "relationIdLabel")),
}


def request_value(request: Request, name: str) -> str | None:
    """$_REQUEST: the query string, overridden by the form body."""
    value = request.arg(name, source="form")
    return value if value is not None else request.arg(name)
