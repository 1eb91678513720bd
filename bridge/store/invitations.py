"""The `invitation` table: single-use invitation links of the bots, by the hash of their token.

A token is issued for one record and one network, expires, and is used once: the first Start that carries
it links that person; the same Start seen again (a poll repeated after a crash) is recognised by its update
id and answered as before, any other use is refused. The token itself is never stored.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass
from enum import StrEnum

from bridge.store.db import Table, from_db_time, require_time, to_db_time


class Redeemed(StrEnum):
    LINKED = "linked"  # the token was valid: the record is `record_id`
    UNKNOWN = "unknown"  # no such token for this network (mistyped, forged, or of another bot)
    EXPIRED = "expired"
    USED = "used"  # already used by another Start


@dataclass(frozen=True, slots=True)
class Redemption:
    outcome: Redeemed
    record_id: str | None = None


@dataclass(frozen=True, slots=True)
class IssuedInvitation:
    network: str
    record_id: str
    created_at: dt.datetime
    expires_at: dt.datetime
    used_at: dt.datetime | None
    used_by: str | None


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


class Invitations(Table):
    """The `invitation` table (see the module docstring)."""

    def issue(self, network: str, record_id: str, token: str, expires_at: dt.datetime) -> None:
        with self._db.transaction() as conn:
            conn.execute(
                "INSERT INTO invitation (token_hash, network, record_id, created_at, expires_at)"
                " VALUES (?, ?, ?, ?, ?)",
                (token_hash(token), network, record_id, self._now(), to_db_time(expires_at)),
            )

    def redeem(self, network: str, token: str, account_id: str, update_id: str) -> Redemption:
        """Use `token` for `account_id`'s Start `update_id`, once; the same update gets the same answer."""
        with self._db.transaction() as conn:
            row = conn.execute(
                "SELECT record_id, expires_at, used_update FROM invitation"
                " WHERE token_hash = ? AND network = ?",
                (token_hash(token), network),
            ).fetchone()
            if row is None:
                return Redemption(Redeemed.UNKNOWN)
            record_id, expires_at, used_update = row
            if used_update is not None:
                if used_update == update_id:
                    return Redemption(Redeemed.LINKED, record_id)
                return Redemption(Redeemed.USED)
            if require_time(expires_at) <= self._clock():
                return Redemption(Redeemed.EXPIRED)
            conn.execute(
                "UPDATE invitation SET used_at = ?, used_by = ?, used_update = ? WHERE token_hash = ?",
                (self._now(), account_id, update_id, token_hash(token)),
            )
            return Redemption(Redeemed.LINKED, record_id)

    def of_record(self, record_id: str) -> list[IssuedInvitation]:
        """The record's invitations, newest first (for `status`-like questions and tests)."""
        rows = self._db.execute(
            "SELECT network, record_id, created_at, expires_at, used_at, used_by FROM invitation"
            " WHERE record_id = ? ORDER BY created_at DESC",
            (record_id,),
        )
        return [
            IssuedInvitation(
                row[0], row[1], require_time(row[2]), require_time(row[3]), from_db_time(row[4]), row[5]
            )
            for row in rows
        ]

    def prune(self, before: dt.datetime) -> int:
        """Forget invitations that expired before `before` (used or not)."""
        with self._db.transaction() as conn:
            return int(
                conn.execute("DELETE FROM invitation WHERE expires_at < ?", (to_db_time(before),)).rowcount
            )
