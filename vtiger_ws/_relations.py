"""The relation operations of `VtigerClient` (vtiger 7.0+): add_related, retrieve_related, query_related."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from . import vtql
from ._paging import related_rows
from .errors import VtigerProtocolError


def expect_result(result: Any, kind: type, operation: str, subject: str) -> Any:
    """`result` if it has the shape the operation promises, else a protocol error naming both."""
    if not isinstance(result, kind):
        raise VtigerProtocolError(
            f"vtiger {operation} {subject}: result is a {type(result).__name__}, expected {kind.__name__}",
            status=200,
            body_excerpt="",
            operation=operation,
            subject=subject,
        )
    return result


class RelationsMixin:
    """Relations between records; mixed into `VtigerClient`, which provides `_call` and `_columns`."""

    def _call(self, operation: str, params: Mapping[str, str], *, subject: str = "", attempt: int = 0) -> Any:
        raise NotImplementedError

    def _columns(self, module: str, fields: Sequence[str] | None, *required: str) -> list[str]:
        raise NotImplementedError

    def add_related(self, source_id: str, related_id: str, label: str) -> None:
        """Link two records through the relation `label` (see `relatedtypes`).

        The server answers success even when nothing was linked (unknown label, missing related record),
        so validate the label with `relatedtypes` and read the link back if it matters.
        """
        self._call(
            "add_related",
            {"sourceRecordId": source_id, "relatedRecordId": related_id, "relationIdLabel": label},
            subject=source_id,
        )

    def retrieve_related(self, record_id: str, related_module: str, label: str) -> list[dict[str, Any]]:
        """All fields of the records related to `record_id` (the server runs `SELECT *` internally).

        On SalesPlatform 7.2 this answers HTTP 500 (VtigerProtocolError) because of the `tags` column;
        use `query_related`, which selects explicit columns.
        """
        result = self._call(
            "retrieve_related",
            {"id": record_id, "relatedType": related_module, "relatedLabel": label},
            subject=record_id,
        )
        return list(expect_result(result, list, "retrieve_related", record_id))

    def query_related(
        self,
        record_id: str,
        related_module: str,
        label: str,
        *,
        fields: Sequence[str] | None = None,
        where: vtql.Condition | None = None,
    ) -> list[dict[str, Any]]:
        """Records of `related_module` related to `record_id` through `label`.

        The server prepends `id IN (...) AND` to the WHERE, caps the answer at 100 rows and accepts no
        ORDER BY/LIMIT (vtiger's QueryRelated.php). So a condition with OR is sent as one query per OR-term,
        an answer that hit the cap is split by id range and asked again, and the rows are merged by id.
        """
        columns = self._columns(related_module, fields)

        def fetch(text: str) -> list[dict[str, Any]]:
            result = self._call(
                "query_related", {"query": text, "id": record_id, "relatedLabel": label}, subject=record_id
            )
            return list(expect_result(result, list, "query_related", record_id))

        rows: dict[str, dict[str, Any]] = {}
        for part in where.disjuncts if where is not None else (None,):
            for row in related_rows(fetch, related_module, columns, part):
                rows.setdefault(str(row.get("id")), row)
        return list(rows.values())
