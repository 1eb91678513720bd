"""Retention: finished sends and webhook events lose their texts after a while and are forgotten later.

The state file holds message texts only while the bridge may need them; the CRM keeps every message.
Two horizons, counted from when a send or an event was finished (`done_at`), never touching open work:

- after `keep_texts`: the message text of a send (`outbox.text`) and the record data and text of an event
  (`webhook_event.payload`, then only its identity: event, module, record id, event id, ts) are dropped.
  What idempotency needs stays: the event id (a re-delivered event is still a duplicate), the outbox id
  and its targets' network message ids.
- after `forget_after`: the rows themselves go, and so do bot invitations that expired before then (a
  Start with such a token is refused as unknown, as it was as expired) and the bot updates acted on
  before then (a bot's update is repeated only until its offset is stored, seconds later). Outbox ids
  are AUTOINCREMENT, so none is issued twice;
  the message ledger (ids only, no text) is not pruned, since the import checks every fetched message
  against it. An event id can only be forgotten because the webhook
  refuses any event whose own `ts` is older than `forget_after` less a day (`bridge/webhook/endpoint.py`): a
  spooled event re-sent after its row is gone is older than that by construction.

Work goes in batches of `batch` rows per transaction, so a first prune of a large file never holds the
write lock for long.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from typing import Any

from bridge.store.db import Table, from_json, to_db_time

# What a pruned payload starts with: no stored payload does (`to_json` sorts keys, "pruned" sorts after
# every key of an event), so the prefix tells pruned rows apart without a schema change.
_PRUNED_PREFIX = '{"pruned":true'
_IDENTITY = ("event", "event_id", "id", "module", "ts")


@dataclass(frozen=True, slots=True)
class PruneReport:
    send_texts_dropped: int = 0
    event_texts_dropped: int = 0
    sends_forgotten: int = 0
    events_forgotten: int = 0
    bot_rows_forgotten: int = 0  # invitations expired and bot updates acted on, before `forget_after`

    @property
    def total(self) -> int:
        dropped = self.send_texts_dropped + self.event_texts_dropped
        return dropped + self.sends_forgotten + self.events_forgotten + self.bot_rows_forgotten


def event_age_limit(forget_after: dt.timedelta) -> dt.timedelta:
    """The oldest event (by its own `ts`) the webhook may accept when rows go after `forget_after`.

    A day short: a row is forgotten `forget_after` after the event was finished, which is after it was
    created (`ts`) give or take the two servers' clock difference, which the day absorbs.
    """
    return forget_after - dt.timedelta(days=1)


def pruned_payload(payload: Any) -> str:
    """The identity of an event without its record data or text (valid JSON, starting with the prefix)."""
    kept = {k: payload[k] for k in _IDENTITY if isinstance(payload, dict) and k in payload}
    body = json.dumps(kept, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return _PRUNED_PREFIX + ("," + body[1:] if kept else "}")


class Retention(Table):
    """Pruning across the `outbox`, `webhook_event`, `invitation` and `bot_event` tables (see the module
    docstring)."""

    def prune(
        self, now: dt.datetime, *, keep_texts: dt.timedelta, forget_after: dt.timedelta, batch: int = 500
    ) -> PruneReport:
        """Drop texts of sends and events finished before `now - keep_texts`, and the rows of those
        finished before `now - forget_after` (see the module docstring)."""
        if keep_texts < dt.timedelta(0) or forget_after < keep_texts:
            raise ValueError("need 0 <= keep_texts <= forget_after")
        texts_before = to_db_time(now - keep_texts)
        rows_before = to_db_time(now - forget_after)
        sends_forgotten = self._in_batches(
            "DELETE FROM outbox WHERE id IN (SELECT id FROM outbox"
            " WHERE done_at IS NOT NULL AND done_at < ? LIMIT ?)",
            rows_before,
            batch,
        )
        events_forgotten = self._in_batches(
            "DELETE FROM webhook_event WHERE event_id IN (SELECT event_id FROM webhook_event"
            " WHERE done_at IS NOT NULL AND done_at < ? LIMIT ?)",
            rows_before,
            batch,
        )
        send_texts = self._in_batches(
            "UPDATE outbox SET text = '' WHERE id IN (SELECT id FROM outbox"
            " WHERE done_at IS NOT NULL AND done_at < ? AND text != '' LIMIT ?)",
            texts_before,
            batch,
        )
        event_texts = 0
        while True:
            with self._db.transaction() as conn:
                rows = conn.execute(
                    "SELECT event_id, payload FROM webhook_event WHERE done_at IS NOT NULL AND done_at < ?"
                    " AND substr(payload, 1, ?) != ? LIMIT ?",
                    (texts_before, len(_PRUNED_PREFIX), _PRUNED_PREFIX, batch),
                ).fetchall()
                conn.executemany(
                    "UPDATE webhook_event SET payload = ? WHERE event_id = ?",
                    [(pruned_payload(from_json(r[1])), r[0]) for r in rows],
                )
            event_texts += len(rows)
            if len(rows) < batch:
                break
        bot_rows = self._in_batches(
            "DELETE FROM invitation WHERE token_hash IN (SELECT token_hash FROM invitation"
            " WHERE expires_at < ? LIMIT ?)",
            rows_before,
            batch,
        ) + self._in_batches(
            "DELETE FROM bot_event WHERE rowid IN (SELECT rowid FROM bot_event WHERE done_at < ? LIMIT ?)",
            rows_before,
            batch,
        )
        return PruneReport(send_texts, event_texts, sends_forgotten, events_forgotten, bot_rows)

    def _in_batches(self, sql: str, before: str, batch: int) -> int:
        total = 0
        while True:
            with self._db.transaction() as conn:
                count = conn.execute(sql, (before, batch)).rowcount
            total += count
            if count < batch:
                return total
