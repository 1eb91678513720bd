"""What the record commands need to read their arguments: record ids as people have them, and filters
checked against the CRM's fields before anything is asked of vtiger.

A vtiger administrator sees `record=5` in the address bar, not the webservice id `12x5`: a bare number
is accepted together with `--module`, and so is a record's address copied from the browser.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable
from urllib.parse import parse_qs, urlsplit

from bridge.crm import CLIENT_MODULES, Crm
from bridge.crm.filters import Filter, filter_fields, parse_where
from bridge.exits import EXIT_USAGE, Failure

_WS_ID = re.compile(r"\d+x\d+")


def record_id(crm: Crm, given: str, module: str | None) -> str:
    """The webservice id for what the user typed: `12x5`, `5` with a module, or a record's CRM address.

    Raises:
        Failure(EXIT_USAGE): the text names no record of Contacts, Accounts or Leads.
    """
    text = given.strip()
    if "record=" in text:  # index.php?module=Contacts&view=Detail&record=5 pasted from the browser
        query = parse_qs(urlsplit(text).query)
        number = (query.get("record") or [""])[0]
        module = module or (query.get("module") or [""])[0] or None
        text = number
    if _WS_ID.fullmatch(text):
        crm.module_of(text)  # a prefix of another module is refused here, with the module names
        return text
    if text.isdigit():
        if module is None:
            raise Failure(
                EXIT_USAGE,
                f"{given!r} is a record number (record={text} in the CRM's address bar); say which module it "
                f"belongs to, e.g. --module Contacts, or give the webservice id (for a Contact: "
                f"{_prefix(crm, 'Contacts')}x{text})",
            )
        if module not in CLIENT_MODULES:
            raise Failure(EXIT_USAGE, f"--module must be one of {', '.join(CLIENT_MODULES)}, not {module!r}")
        return f"{_prefix(crm, module)}x{text}"
    raise Failure(
        EXIT_USAGE,
        f"{given!r} is not a record: give the webservice id (e.g. {_prefix(crm, 'Contacts')}x5), or the "
        "number from record=... in the CRM's address bar together with --module",
    )


def _prefix(crm: Crm, module: str) -> str:
    return crm.id_prefix(module) or "12"


def checked_filter(crm: Crm, module: str, text: str) -> Filter:
    """`--where` parsed and every field checked against the module's fields (vtiger would answer an unknown
    field with ACCESS_DENIED, which reads like a permission problem)."""
    condition = parse_where(text)
    known = crm.field_names(module)
    for name in sorted(filter_fields(condition)):
        if name not in known:
            raise Failure(
                EXIT_USAGE,
                f"{module} has no field {name!r}{_suggest(name, known)}; --where uses "
                "vtiger's field names (Settings -> Module Layouts & Fields), not the labels",
            )
    return condition


def _suggest(name: str, known: Iterable[str]) -> str:
    names = sorted(known)
    lower = name.lower()
    similar = [n for n in names if lower in n.lower()] + difflib.get_close_matches(name, names, n=3)
    similar = list(dict.fromkeys(similar))[:4]
    return f" (did you mean {', '.join(similar)}?)" if similar else ""
