"""The CRM URL index: which client record holds which social profile URL, and whose account it is.

One row per (record_id, field). The import matches an incoming peer by (network, account_id); the resolver
fills account ids for URLs that only name a screen name, one (network, ref_kind, ref_value) at a time, so
every record sharing that profile gets it at once. Sized for 100,000+ rows: every lookup is an index search.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from bridge.store.db import Table, from_json, to_json


@dataclass(frozen=True, slots=True)
class IndexRow:
    module: str
    record_id: str
    field: str
    url: str
    network: str
    ref_kind: str  # "id" | "screen_name", as in providers.base.ProfileRef
    ref_value: str
    account_id: str | None = None
    modifiedtime: str | None = None  # the CRM's own modifiedtime text, used as the refresh watermark


@dataclass(frozen=True, slots=True)
class IndexKey:
    module: str
    record_id: str
    field: str


@dataclass(frozen=True, slots=True)
class UnresolvedRef:
    ref_kind: str
    ref_value: str


_WATERMARK_KEY = "urlindex.watermark."  # + module, a JSON string in kv
_BUILT_KEY = "urlindex.built"  # {"layout": ..., "at": ...} of the last complete full build

# When a row is re-read from the CRM with the same profile reference, keep the account id resolved
# earlier (the refresh does not know it); when the URL now names another profile, take the new value.
_UPSERT = """
INSERT INTO url_index (module, record_id, field, url, network, ref_kind, ref_value, account_id, modifiedtime)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (record_id, field) DO UPDATE SET
    module = excluded.module,
    url = excluded.url,
    network = excluded.network,
    ref_kind = excluded.ref_kind,
    ref_value = excluded.ref_value,
    modifiedtime = excluded.modifiedtime,
    account_id = CASE
        WHEN url_index.network = excluded.network AND url_index.ref_kind = excluded.ref_kind
             AND url_index.ref_value = excluded.ref_value
        THEN COALESCE(excluded.account_id, url_index.account_id)
        ELSE excluded.account_id
    END
"""


def _params(row: IndexRow) -> tuple[str | None, ...]:
    return (
        row.module,
        row.record_id,
        row.field,
        row.url,
        row.network,
        row.ref_kind,
        row.ref_value,
        row.account_id,
        row.modifiedtime,
    )


class UrlIndexTable(Table):
    """The `url_index` table (see the module docstring); the refresh watermarks live in `kv`."""

    def upsert(self, rows: Iterable[IndexRow]) -> int:
        """Insert or update rows keyed by (record_id, field) in one transaction; returns how many."""
        params = [_params(r) for r in rows]
        with self._db.transaction() as conn:
            conn.executemany(_UPSERT, params)
        return len(params)

    def replace_record(self, record_id: str, rows: Iterable[IndexRow]) -> None:
        """Make `rows` the record's whole entry: fields emptied in the CRM disappear from the index."""
        self.replace_records({record_id: list(rows)})

    def replace_records(
        self, entries: Mapping[str, Iterable[IndexRow]], modified: Mapping[str, str] | None = None
    ) -> None:
        """`replace_record` for many records in one transaction (one fsync per page, not per record).

        `modified`: each record's `modifiedtime` as read; a record the index already holds from a later
        save (a webhook event indexed it while a rebuild's older page was on its way) is left as it is.
        """
        with self._db.transaction() as conn:
            for record_id, rows in entries.items():
                params = [_params(r) for r in rows]
                if any(p[1] != record_id for p in params):
                    raise ValueError(f"rows for another record given to replace_record({record_id!r})")
                read_at = (modified or {}).get(record_id)
                if read_at:
                    held = conn.execute(
                        "SELECT MAX(modifiedtime) FROM url_index WHERE record_id = ?", (record_id,)
                    ).fetchone()[0]
                    if held and held > read_at:
                        continue
                keep = {p[2] for p in params}
                for (field,) in conn.execute(
                    "SELECT field FROM url_index WHERE record_id = ?", (record_id,)
                ).fetchall():
                    if field not in keep:
                        conn.execute(
                            "DELETE FROM url_index WHERE record_id = ? AND field = ?", (record_id, field)
                        )
                conn.executemany(_UPSERT, params)

    def remove_record(self, record_id: str) -> int:
        """Forget a record (deleted in the CRM); returns the rows removed."""
        with self._db.transaction() as conn:
            return conn.execute("DELETE FROM url_index WHERE record_id = ?", (record_id,)).rowcount

    def prune(self, module: str, keep_record_ids: Iterable[str]) -> int:
        """After a full refresh of `module`, drop its records not seen (deleted in the CRM)."""
        keep = set(keep_record_ids)
        with self._db.transaction() as conn:
            known = [
                r[0]
                for r in conn.execute("SELECT DISTINCT record_id FROM url_index WHERE module = ?", (module,))
            ]
            removed = 0
            for record_id in known:
                if record_id not in keep:
                    removed += conn.execute(
                        "DELETE FROM url_index WHERE record_id = ?", (record_id,)
                    ).rowcount
            return removed

    def records_for_account(self, network: str, account_id: str) -> list[IndexKey]:
        rows = self._db.execute(
            "SELECT module, record_id, field FROM url_index WHERE network = ? AND account_id = ?"
            " ORDER BY record_id, field",
            (network, account_id),
        )
        return [IndexKey(r[0], r[1], r[2]) for r in rows]

    def rows_of(self, record_id: str) -> list[IndexRow]:
        """The index entry of one record (one row per social field that holds a usable link)."""
        rows = self._db.execute(
            "SELECT module, record_id, field, url, network, ref_kind, ref_value, account_id, modifiedtime"
            " FROM url_index WHERE record_id = ? ORDER BY field",
            (record_id,),
        )
        return [IndexRow(*row) for row in rows]

    def unresolved(self, network: str, limit: int = 100) -> list[UnresolvedRef]:
        """Distinct profile references of this network whose account id is not known yet."""
        rows = self._db.execute(
            "SELECT DISTINCT ref_kind, ref_value FROM url_index WHERE network = ? AND account_id IS NULL"
            " ORDER BY ref_kind, ref_value LIMIT ?",
            (network, limit),
        )
        return [UnresolvedRef(r[0], r[1]) for r in rows]

    def set_account(self, network: str, ref_kind: str, ref_value: str, account_id: str) -> int:
        """Fill the account id into every row naming this profile; returns the rows updated."""
        with self._db.transaction() as conn:
            return conn.execute(
                "UPDATE url_index SET account_id = ? WHERE network = ? AND ref_kind = ? AND ref_value = ?",
                (account_id, network, ref_kind, ref_value),
            ).rowcount

    def watermark(self, module: str) -> str | None:
        """How far the last refresh of `module` read the CRM's changes (its newest `modifiedtime`): the next
        refresh asks for records saved after it. None: no refresh of it ever ended (read it all).

        Only a refresh moves it (`set_watermark`), not the rows: a record indexed on its own (a webhook
        event) may be newer than changes the refresh has not read yet, and a build stopped midway leaves
        rows read in id order, not by save time.
        """
        rows = self._db.execute("SELECT value FROM kv WHERE key = ?", (_WATERMARK_KEY + module,))
        return str(from_json(rows[0][0])) if rows else None

    def set_watermark(self, module: str, modifiedtime: str) -> None:
        """Remember how far a refresh of `module` got (never moves backwards)."""
        if (self.watermark(module) or "") >= modifiedtime:
            return
        self._put(_WATERMARK_KEY + module, modifiedtime)

    def built(self) -> tuple[str, str] | None:
        """(layout, when) of the last full build that read every module to its end, or None."""
        rows = self._db.execute("SELECT value FROM kv WHERE key = ?", (_BUILT_KEY,))
        value = from_json(rows[0][0]) if rows else None
        if not isinstance(value, dict):
            return None
        return str(value.get("layout", "")), str(value.get("at", ""))

    def set_built(self, layout: str, at: str) -> None:
        """A full build of `layout` (which modules and fields the index holds) ended at `at`."""
        self._put(_BUILT_KEY, {"layout": layout, "at": at})

    def _put(self, key: str, value: object) -> None:
        with self._db.transaction() as conn:
            conn.execute(
                "INSERT INTO kv (key, value, updated_at) VALUES (?, ?, ?)"
                " ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at",
                (key, to_json(value), self._now()),
            )

    def count(self) -> int:
        return int(self._db.execute("SELECT COUNT(*) FROM url_index")[0][0])
