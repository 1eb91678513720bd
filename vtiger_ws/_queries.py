"""The query operations of `VtigerClient`: one VTQL query, every row of a module by keyset pages, and the
records changed since a time (emulating `sync`, which fails on the servers that matter)."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from . import vtql
from ._paging import changed_since_pages, keyset_pages
from ._relations import expect_result as _expect
from .types import ModuleDescription

_FROM = re.compile(r"\bfrom\s+([A-Za-z_][A-Za-z0-9_]*)", re.IGNORECASE)


class QueriesMixin:
    """Queries; mixed into `VtigerClient`, which provides `_call` and `describe`."""

    def _call(self, operation: str, params: Mapping[str, str], *, subject: str = "", attempt: int = 0) -> Any:
        raise NotImplementedError

    def describe(self, module: str) -> ModuleDescription:
        raise NotImplementedError

    def query(self, query: str) -> list[dict[str, Any]]:
        """Run one VTQL query (at most 100 rows); build it with `vtiger_ws.vtql`. A missing `;` is added."""
        text = query.rstrip()
        if not text.endswith(";"):
            text += ";"
        match = _FROM.search(text)
        subject = match.group(1) if match else ""
        return list(_expect(self._call("query", {"query": text}, subject=subject), list, "query", subject))

    def _columns(self, module: str, fields: Sequence[str] | None, *required: str) -> list[str]:
        columns = list(fields) if fields is not None else list(self.describe(module).queryable_fields())
        return columns + [name for name in required if name not in columns]

    def query_iter(
        self, module: str, *, fields: Sequence[str] | None = None, where: vtql.Condition | None = None
    ) -> Iterator[dict[str, Any]]:
        """Every row of `module` matching `where`, in id order, paging by id (keyset, 100 per request).

        Rows added while iterating never make a row appear twice or go missing: each page asks for
        `id > <last id>` and new records get higher crmids. Ends on the first empty page.

        Args:
            module: module name.
            fields: columns to select; None = every column `describe` lists except `tags` (never
                `SELECT *`, which answers HTTP 500 on SalesPlatform 7.2).
            where: a condition built with `vtiger_ws.vtql`.
        """
        columns = self._columns(module, fields, "id")
        for page in keyset_pages(self.query, module, columns, where):
            yield from page

    def query_all(
        self, module: str, *, fields: Sequence[str] | None = None, where: vtql.Condition | None = None
    ) -> list[dict[str, Any]]:
        """`list(query_iter(...))`."""
        return list(self.query_iter(module, fields=fields, where=where))

    def changed_since(
        self,
        module: str,
        modifiedtime: str | dt.datetime,
        *,
        fields: Sequence[str] | None = None,
        where: vtql.Condition | None = None,
    ) -> Iterator[dict[str, Any]]:
        """Records of `module` (matching `where`) modified after `modifiedtime`, oldest change first
        (emulates `sync`).

        The real `sync` answers HTTP 500 on PHP >= 7.1, so this pages through
        `modifiedtime > t OR modifiedtime = t AND id > last ORDER BY modifiedtime, id`. Deletions are not
        visible. `modifiedtime` is in the server's time zone ("YYYY-MM-DD HH:MM:SS" or a datetime).
        A record modified again during the iteration is yielded again with its newer values.

        Raises:
            ValueError: the module has no `modifiedtime` field (e.g. SPSocialConnector).
        """
        if not self.describe(module).has_field("modifiedtime"):
            raise ValueError(f"{module} has no modifiedtime field; changes cannot be found by time")
        columns = self._columns(module, fields, "id", "modifiedtime")
        # A plain function returning a generator, so the checks above raise at the call, not at next().
        pages = changed_since_pages(self.query, module, columns, modifiedtime, where)
        return (row for page in pages for row in page)
