"""The message ledger: every network message the bridge has recorded (or is recording) in the CRM, and the
claim that lets exactly one writer record it.

Every path that puts a network message into the CRM claims (network, message id) first: the outbox when a
network accepts a send (`Outbox.mark_target_sent`), the import and any other intake (`Ledger.claim`,
used by `bridge.services.intake`). Whoever claims a message first is its only writer; the others adopt its
record:

- not in the ledger: the claim is taken. The writer looks the message up in the CRM by network message id
  (a new state file knows nothing of what the CRM holds), then creates the record or adopts the one found,
  and `Ledger.record`s it.
- recorded (CRM id set): nobody creates it again; a later path adopts the record (links it, completes its
  statuses).
- claimed by an intake that is alive (`claim_until` not passed): the others leave it alone and come back.
- claimed by an intake that died (lease passed, or every claim released when the daemon starts): taken
  over, again looking in the CRM first, since the dead writer may have created the record.
- marked by a send (`outbox_id` set): that send records it — one CRM record for all its networks — while
  it holds its outbox lease, so an intake never takes it over.
- an outbound message to someone a send is delivering to on that network right now (`sends_in_flight`:
  the send's target is `sending`) may be that send's own message, delivered but not marked yet (its answer
  is on the way, or a kill -9 cut it off): an intake does not claim it and comes back after the send has
  marked it. Only the send's mark ties its networks' messages together: claimed by the intakes, a send to
  VK and X would get a record from each network's import. (A target waiting for its retry after an attempt
  that got no answer is not `sending`: an import may record its message first and the send adopts that
  record; two networks left so in one send would still get a record each.)
"""

from __future__ import annotations

import datetime as dt
import sqlite3
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

from bridge.store.db import StateError, Table, chunked, placeholders, to_db_time

LedgerOrigin = Literal["import", "outbox"]


class ForeignMessageError(StateError):
    """A network answered a send with a message the ledger holds for another send or another person."""

    def __init__(self, message: str, *, network: str, message_id: str) -> None:
        super().__init__(message)
        self.network = network
        self.message_id = message_id


@dataclass(frozen=True, slots=True)
class LedgerEntry:
    network: str
    message_id: str
    crm_message_id: str | None
    origin: str  # the path that claimed it first: "import" or "outbox"
    outbox_id: int | None  # the send that delivered it, once a send has marked it
    peer_id: str | None  # the account on the other side, when known
    claim_token: str | None
    claimed: bool  # an intake holds a live claim on it (token set, lease not passed)

    @property
    def recorded(self) -> bool:
        return self.crm_message_id is not None

    def mine(self, token: str) -> bool:
        """The writer with `token` holds the claim and must record the message."""
        return self.crm_message_id is None and self.claim_token == token


def _entry(row: sqlite3.Row, now: str) -> LedgerEntry:
    until = row["claim_until"]
    return LedgerEntry(
        network=row["network"],
        message_id=row["message_id"],
        crm_message_id=row["crm_message_id"],
        origin=row["origin"],
        outbox_id=row["outbox_id"],
        peer_id=row["peer_id"],
        claim_token=row["claim_token"],
        claimed=row["claim_token"] is not None and until is not None and until > now,
    )


def read_entries(
    conn: sqlite3.Connection, network: str, message_ids: Sequence[str], now: str
) -> dict[str, LedgerEntry]:
    found: dict[str, LedgerEntry] = {}
    for chunk in chunked(list(dict.fromkeys(message_ids))):
        for row in conn.execute(
            f"SELECT * FROM message_ledger WHERE network = ? AND message_id IN ({placeholders(len(chunk))})",
            (network, *chunk),
        ):
            found[row["message_id"]] = _entry(row, now)
    return found


def claim_for_send(
    conn: sqlite3.Connection,
    network: str,
    message_id: str,
    *,
    outbox_id: int,
    peer: str | None,
    crm_message_id: str | None,
    now: str,
) -> LedgerEntry:
    """Enter a message a network accepted for send `outbox_id` (inside the caller's transaction).

    Raises:
        ForeignMessageError: the ledger holds this message for another send, or with another person: the
            network's answer names a message the bridge did not write for this send.
    """
    row = conn.execute(
        "SELECT * FROM message_ledger WHERE network = ? AND message_id = ?", (network, message_id)
    ).fetchone()
    if row is None:
        conn.execute(
            "INSERT INTO message_ledger"
            " (network, message_id, crm_message_id, origin, outbox_id, peer_id, created_at)"
            " VALUES (?, ?, ?, 'outbox', ?, ?, ?)",
            (network, message_id, crm_message_id, outbox_id, peer, now),
        )
    elif row["outbox_id"] not in (None, outbox_id):
        raise ForeignMessageError(
            f"{network} answered with message {message_id}, which the bridge recorded for send "
            f"{row['outbox_id']}",
            network=network,
            message_id=message_id,
        )
    elif peer and row["peer_id"] and row["peer_id"] != peer:
        raise ForeignMessageError(
            f"{network} answered with message {message_id}, which is a message with another person "
            f"({row['peer_id']}), not with {peer}",
            network=network,
            message_id=message_id,
        )
    else:
        # Seen first by an intake (e.g. the import ran between the network's answer and this line): the
        # send owns it from now on; a live intake claim still finishes recording it, and the send adopts.
        conn.execute(
            "UPDATE message_ledger SET outbox_id = ?, peer_id = COALESCE(peer_id, ?)"
            " WHERE network = ? AND message_id = ?",
            (outbox_id, peer, network, message_id),
        )
    return read_entries(conn, network, [message_id], now)[message_id]


class Ledger(Table):
    """The `message_ledger` table (see the module docstring)."""

    def entries(self, network: str, message_ids: Sequence[str]) -> dict[str, LedgerEntry]:
        """The given ids that are in the ledger, as they stand now."""
        with self._db.transaction(write=False) as conn:
            return read_entries(conn, network, message_ids, self._now())

    def lookup(self, network: str, message_ids: Sequence[str]) -> dict[str, str | None]:
        """The given ids already in the ledger, mapped to their CRM id (None while still being recorded)."""
        return {k: e.crm_message_id for k, e in self.entries(network, message_ids).items()}

    def sends_in_flight(self, network: str, peers: Collection[str]) -> set[str]:
        """The `peers` an open send is delivering to on `network` now (its target is `sending`: the network
        call is under way, or a crash cut it off), whose outbound messages the send may not have marked yet.

        Read it after fetching the messages and before claiming them: a target is `sending` from before its
        network call until the transaction that marks the message (`claim_for_send`), so a message found
        in the network either has its send still `sending` here or is already marked when it is claimed.
        """
        wanted = list(dict.fromkeys(peers))
        found: set[str] = set()
        for chunk in chunked(wanted):
            rows = self._db.execute(
                "SELECT DISTINCT t.account_id FROM outbox_target AS t JOIN outbox AS o ON o.id = t.outbox_id"
                " WHERE t.state = 'sending' AND o.done_at IS NULL AND t.network = ?"
                f" AND t.account_id IN ({placeholders(len(chunk))})",
                (network, *chunk),
            )
            found.update(str(r[0]) for r in rows)
        return found

    def claim(
        self,
        network: str,
        messages: Mapping[str, str | None],
        *,
        token: str,
        lease_seconds: float,
        origin: LedgerOrigin = "import",
    ) -> dict[str, LedgerEntry]:
        """Claim messages (id -> peer account) for an intake; every entry as it stands afterwards.

        `entry.mine(token)`: this writer records it. Otherwise it is recorded (adopt it), marked by a send
        (the send records it), or claimed by another live intake (leave it, come back later).
        """
        if origin not in ("import", "outbox"):
            raise ValueError(f"unknown ledger origin {origin!r}")
        now = self._now()
        until = to_db_time(self._clock() + dt.timedelta(seconds=lease_seconds))
        ids = list(dict.fromkeys(messages))
        with self._db.transaction() as conn:
            known = read_entries(conn, network, ids, now)
            fresh = [(network, m, origin, messages[m], token, until, now) for m in ids if m not in known]
            conn.executemany(
                "INSERT INTO message_ledger"
                " (network, message_id, origin, peer_id, claim_token, claim_until, created_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?)",
                fresh,
            )
            free = [
                m
                for m, e in known.items()
                if not e.recorded and e.outbox_id is None and (not e.claimed or e.claim_token == token)
            ]
            for chunk in chunked(free):
                conn.execute(
                    "UPDATE message_ledger SET claim_token = ?, claim_until = ?"
                    f" WHERE network = ? AND message_id IN ({placeholders(len(chunk))})",
                    (token, until, network, *chunk),
                )
            return read_entries(conn, network, ids, now)

    def record(self, network: str, message_id: str, token: str, crm_message_id: str) -> None:
        """Record the CRM id of a message claimed with `token`; the claim ends.

        Raises:
            StateError: the message was never claimed, another writer holds it, or it is already recorded
                as another CRM record (a second record would be a duplicate).
        """
        now = self._now()
        with self._db.transaction() as conn:
            entry = read_entries(conn, network, [message_id], now).get(message_id)
            if entry is None:
                raise StateError(f"{network} message {message_id} was never claimed")
            if entry.crm_message_id == crm_message_id:
                return
            if entry.crm_message_id is not None:
                raise StateError(
                    f"{network} message {message_id} is already CRM record {entry.crm_message_id}"
                )
            if entry.claimed and entry.claim_token != token:
                raise StateError(f"{network} message {message_id} is being recorded by another writer")
            conn.execute(
                "UPDATE message_ledger SET crm_message_id = ?, claim_token = NULL, claim_until = NULL"
                " WHERE network = ? AND message_id = ?",
                (crm_message_id, network, message_id),
            )

    def release(self, token: str, keep: Sequence[str] = ()) -> int:
        """End the claims of `token` that were not recorded (a failed create, an unknown sender).

        Rows only this writer knew are forgotten; rows a send marked meanwhile stay, for that send to
        record. Claims on the message ids in `keep` (a create that got no answer) are left to run out.
        Returns how many claims ended.
        """
        kept = f" AND message_id NOT IN ({placeholders(len(keep))})" if keep else ""
        with self._db.transaction() as conn:
            dropped = conn.execute(
                "DELETE FROM message_ledger WHERE claim_token = ? AND crm_message_id IS NULL"
                " AND outbox_id IS NULL" + kept,
                (token, *keep),
            ).rowcount
            freed = conn.execute(
                "UPDATE message_ledger SET claim_token = NULL, claim_until = NULL"
                " WHERE claim_token = ?" + kept,
                (token, *keep),
            ).rowcount
        return int(dropped + freed)

    def unfinished(self, network: str) -> list[str]:
        """Message ids in the ledger without a CRM record yet (being recorded, or left by a crash)."""
        rows = self._db.execute(
            "SELECT message_id FROM message_ledger WHERE network = ? AND crm_message_id IS NULL"
            " ORDER BY created_at, message_id",
            (network,),
        )
        return [r[0] for r in rows]
