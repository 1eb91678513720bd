"""The public surface of `vtiger_ws` is exactly what `__all__` says (httpx's test_exported_members)."""

from __future__ import annotations

import vtiger_ws
from vtiger_ws import vtql

EXPECTED = {
    "VtigerClient",
    "vtql",
    "parse_response",
    "crmid_of",
    "ERROR_CLASSES",
    "MAX_RELOGINS",
    "OPERATION_METHODS",
    "VtigerId",
    "ModuleName",
    "LoginInfo",
    "FieldInfo",
    "ModuleDescription",
    "ModuleType",
    "RelatedType",
    "VtigerError",
    "VtigerAuthError",
    "VtigerSessionExpired",
    "VtigerCredentialsError",
    "VtigerAccessDenied",
    "VtigerInvalidRequest",
    "VtigerNotFound",
    "VtigerDuplicate",
    "VtigerServerError",
    "VtigerUnknownError",
    "VtigerProtocolError",
    "VtigerConnectionError",
}


def test_all_is_the_expected_public_api() -> None:
    assert set(vtiger_ws.__all__) == EXPECTED
    assert len(vtiger_ws.__all__) == len(set(vtiger_ws.__all__))


def test_every_exported_member_exists_and_belongs_to_the_package() -> None:
    for name in vtiger_ws.__all__:
        member = getattr(vtiger_ws, name)
        if isinstance(member, (dict, int)) or type(member).__name__ == "mappingproxy":
            continue  # constants
        module = getattr(member, "__module__", None) or getattr(member, "__name__", "")
        assert module.startswith("vtiger_ws"), (name, module)


def test_no_public_module_level_name_is_left_out_of_all() -> None:
    public = {n for n in dir(vtiger_ws) if not n.startswith("_")}
    submodules = {"client", "errors", "transport", "types", "vtql"}
    assert public - submodules == set(vtiger_ws.__all__) - {"vtql"}


def test_vtql_all_lists_its_builders() -> None:
    for name in vtql.__all__:
        assert hasattr(vtql, name), name
    assert {"select", "eq", "in_", "like", "and_", "or_", "quote"} <= set(vtql.__all__)
