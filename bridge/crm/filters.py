"""Record filters typed on the command line, turned into VTQL (`Filter`) through `vtiger_ws.vtql` only.

Grammar (deliberately small): `FIELD OP VALUE [AND FIELD OP VALUE ...]`, OP one of = != < > <= >= LIKE,
VALUE bare or in single/double quotes. Example: `mailingcity = 'Санкт-Петербург' AND vk_url LIKE '%vk.com%'`.
Nothing the user types reaches the query except as a quoted value or a validated identifier.
"""

from __future__ import annotations

import re

from vtiger_ws import vtql

_TERM = re.compile(
    r"""\s*(?P<field>[A-Za-z_][A-Za-z0-9_]*)\s*(?P<op><=|>=|!=|=|<|>|\bLIKE\b)\s*
        (?P<value>'(?:[^']|'')*'|"(?:[^"]|"")*"|[^\s'"]+)\s*""",
    re.IGNORECASE | re.VERBOSE,
)
# A condition on a module's records, as the gateway's queries take it (`Crm.records`, `Crm.record_ids`).
Filter = vtql.Condition

_AND = re.compile(r"AND\s+", re.IGNORECASE)
_OPS = {
    "=": vtql.eq,
    "!=": vtql.ne,
    "<": vtql.lt,
    ">": vtql.gt,
    "<=": vtql.le,
    ">=": vtql.ge,
    "LIKE": vtql.like,
}


def parse_where(text: str) -> Filter:
    """Parse a filter; raises ValueError naming the part it could not read."""
    conditions = []
    position, end = 0, len(text)
    # Scan term by term (not split on "AND" first): a quoted value may itself contain " AND ".
    while True:
        match = _TERM.match(text, position)
        if match is None or (match.end() < end and not _AND.match(text, match.end())):
            rest = text[position:].strip()
            part = _AND.split(rest, maxsplit=1)[0] if match is None else rest
            raise ValueError(
                f"cannot read the condition {part!r}: expected FIELD OP VALUE, e.g. mailingcity = 'Омск'"
            )
        value = match["value"]
        if value[:1] in "'\"" and value[-1:] == value[:1] and len(value) >= 2:
            quote = value[0]
            value = value[1:-1].replace(quote * 2, quote)
        conditions.append(_OPS[match["op"].upper()](match["field"], value))
        if match.end() == end:
            return vtql.and_(*conditions)
        separator = _AND.match(text, match.end())
        assert separator is not None
        position = separator.end()


def filter_fields(condition: Filter) -> set[str]:
    """The field names a filter compares."""
    return {comparison.split(" ", 1)[0] for term in condition.terms for comparison in term}
