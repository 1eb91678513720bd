"""Identifier types and the small result records of the webservice API."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, NewType

#: A webservice id "<module prefix>x<crmid>", e.g. "12x345" (vtiger's Utils.php vtws_getId). The prefix is
#: install-specific: read it from `describe(...).id_prefix`, never hard-code it.
VtigerId = NewType("VtigerId", str)

#: A webservice module name as vtiger spells it ("Contacts", "SPSocialConnector"); case-sensitive.
ModuleName = NewType("ModuleName", str)

#: Columns that must never be selected explicitly or through `SELECT *`: on SalesPlatform 7.2 a query
#: touching `tags` answers HTTP 500 (SalesPlatform 7.2 lacks Vtiger_Tag_Model::getAllAccessibleTags).
UNSELECTABLE_FIELDS = frozenset({"tags"})


def crmid_of(record_id: str) -> int:
    """The numeric crmid of a webservice id ("12x345" -> 345).

    VTQL compares ids by crmid only and ignores the prefix (vtiger's VTQL_Parser.php), so keyset cursors must
    be ordered numerically: "12x99" < "12x100".

    Raises:
        ValueError: `record_id` is not of the form "<digits>x<digits>".
    """
    prefix, sep, crmid = record_id.partition("x")
    if not (sep and prefix.isdigit() and crmid.isdigit()):
        raise ValueError(f"not a webservice id: {record_id!r}")
    return int(crmid)


@dataclass(frozen=True)
class LoginInfo:
    """What `login` told us (the session id itself stays private to the client)."""

    user_id: VtigerId
    version: str
    vtiger_version: str


@dataclass(frozen=True)
class FieldInfo:
    """One field of `describe(...).fields`."""

    name: str
    label: str
    type_name: str
    mandatory: bool
    editable: bool
    nullable: bool
    default: str
    raw: dict[str, Any] = field(repr=False, compare=False)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> FieldInfo:
        type_info = data.get("type") or {}
        return cls(
            name=str(data.get("name", "")),
            label=str(data.get("label", "")),
            type_name=str(type_info.get("name", "")) if isinstance(type_info, dict) else "",
            mandatory=bool(data.get("mandatory", False)),
            editable=bool(data.get("editable", False)),
            nullable=bool(data.get("nullable", True)),
            default=str(data.get("default") or ""),
            raw=data,
        )


@dataclass(frozen=True)
class ModuleDescription:
    """The result of `describe(module)`."""

    name: ModuleName
    label: str
    id_prefix: str
    fields: tuple[FieldInfo, ...]
    raw: dict[str, Any] = field(repr=False, compare=False)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ModuleDescription:
        return cls(
            name=ModuleName(str(data.get("name", ""))),
            label=str(data.get("label", "")),
            id_prefix=str(data.get("idPrefix", "")),
            fields=tuple(FieldInfo.from_json(f) for f in data.get("fields") or () if isinstance(f, dict)),
            raw=data,
        )

    @property
    def field_names(self) -> tuple[str, ...]:
        return tuple(f.name for f in self.fields)

    @property
    def mandatory_fields(self) -> tuple[str, ...]:
        return tuple(f.name for f in self.fields if f.mandatory)

    def queryable_fields(self) -> tuple[str, ...]:
        """Field names safe to list in a SELECT (all but UNSELECTABLE_FIELDS)."""
        return tuple(name for name in self.field_names if name not in UNSELECTABLE_FIELDS)

    def has_field(self, name: str) -> bool:
        return name in self.field_names


@dataclass(frozen=True)
class ModuleType:
    """One entry of `listtypes`."""

    name: ModuleName
    label: str
    singular: str
    is_entity: bool


@dataclass(frozen=True)
class RelatedType:
    """One relation of `relatedtypes(module)`: the related module and the relation label to pass to
    `add_related`/`query_related` (one module can appear under several labels)."""

    module: ModuleName
    label: str
    is_entity: bool
