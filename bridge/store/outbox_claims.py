"""Outbox claims for the outbox workers (`bridge.services.outbox_workers`): one send at a time, per lane.

A delivery lane takes the oldest send with a due target on *its* network; a recorder takes the oldest
send whose targets on every lane's network are finished (only its CRM record is left). Both take the
same lease as `claim_due_sends`, so a send has one worker at a time whichever kind it is, and an expired
lease (a worker that died) makes it claimable again. `hold` keeps a lease running after a failure: that
send waits, the others go on.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence

from bridge.store.db import Table, from_db_time, placeholders, to_db_time
from bridge.store.outbox_rows import OutboxSend, load_sends

_FREE = "o.done_at IS NULL AND (o.lease_until IS NULL OR o.lease_until <= ?)"
# A target needs its network's lane now: left in `sending` by a worker that died, or pending and due.
_DUE_TARGET = (
    "(t.state = 'sending' OR (t.state = 'pending' AND (t.next_attempt_at IS NULL OR t.next_attempt_at <= ?)))"
)


def _unfinished_lane_target(lanes: Sequence[str]) -> str:
    # What keeps a send from its recorder: an unfinished target on a network a lane serves, or one on a
    # network without a lane (disabled) that waits for a later attempt.
    return (
        "EXISTS (SELECT 1 FROM outbox_target AS t WHERE t.outbox_id = o.id"
        " AND t.state IN ('pending', 'sending') AND (t.network IN"
        f" ({placeholders(len(lanes))}) OR (t.state = 'pending' AND t.next_attempt_at > ?)))"
    )


class OutboxClaims(Table):
    """Part of `Outbox`: claims one send at a time for a delivery lane or a recorder."""

    def claim_send_for(self, network: str, now: dt.datetime, lease_seconds: float) -> OutboxSend | None:
        """Lease the oldest send with a due `network` target; None when there is none now."""
        at = to_db_time(now)
        sql = (
            f"SELECT o.id FROM outbox AS o WHERE {_FREE} AND EXISTS (SELECT 1 FROM outbox_target AS t"
            f" WHERE t.outbox_id = o.id AND t.network = ? AND {_DUE_TARGET}) ORDER BY o.id LIMIT 1"
        )
        return self._claim_one(sql, (at, network, at), now, lease_seconds)

    def claim_send_to_record(
        self, lanes: Sequence[str], now: dt.datetime, lease_seconds: float
    ) -> OutboxSend | None:
        """Lease the oldest send that only its CRM phase holds open (see the module docstring)."""
        at = to_db_time(now)
        sql = (
            f"SELECT o.id FROM outbox AS o WHERE {_FREE} AND NOT {_unfinished_lane_target(lanes)}"
            " ORDER BY o.id LIMIT 1"
        )
        return self._claim_one(sql, (at, *lanes, at), now, lease_seconds)

    def _claim_one(
        self, sql: str, params: tuple[object, ...], now: dt.datetime, lease_seconds: float
    ) -> OutboxSend | None:
        token = uuid.uuid4().hex
        until = to_db_time(now + dt.timedelta(seconds=lease_seconds))
        with self._db.transaction() as conn:
            row = conn.execute(sql, params).fetchone()
            if row is None:
                return None
            conn.execute(
                "UPDATE outbox SET lease_until = ?, lease_token = ? WHERE id = ?", (until, token, row[0])
            )
            return load_sends(conn, [row[0]])[0]

    def hold(self, outbox_id: int, lease_token: str, until: dt.datetime) -> bool:
        """Keep this lease until `until` (no worker takes the send before); False if it is no longer ours."""
        with self._db.transaction() as conn:
            cur = conn.execute(
                "UPDATE outbox SET lease_until = ? WHERE id = ? AND lease_token = ? AND done_at IS NULL",
                (to_db_time(until), outbox_id, lease_token),
            )
            return cur.rowcount == 1

    def next_due_for(self, network: str) -> dt.datetime | None:
        """When a send may next be claimable for `network` (a target's next attempt, or a lease's end);
        None when no open send has an unfinished `network` target. Earlier than now means at once."""
        rows = self._db.execute(
            "SELECT MIN(MAX(COALESCE(t.next_attempt_at, ''), COALESCE(o.lease_until, '')))"
            " FROM outbox_target AS t JOIN outbox AS o ON o.id = t.outbox_id"
            " WHERE t.network = ? AND t.state IN ('pending', 'sending') AND o.done_at IS NULL",
            (network,),
        )
        return _time_or_now(rows[0][0])

    def next_due_to_record(self, lanes: Sequence[str], now: dt.datetime) -> dt.datetime | None:
        """When a held send (see `hold`) that only its CRM phase holds open becomes claimable again."""
        at = to_db_time(now)
        rows = self._db.execute(
            "SELECT MIN(o.lease_until) FROM outbox AS o WHERE o.done_at IS NULL AND o.lease_until > ?"
            f" AND NOT {_unfinished_lane_target(lanes)}",
            (at, *lanes, at),
        )
        return _time_or_now(rows[0][0])


def _time_or_now(value: str | None) -> dt.datetime | None:
    if value is None:
        return None
    return from_db_time(value) if value else dt.datetime.min.replace(tzinfo=dt.UTC)
