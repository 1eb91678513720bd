"""Skip-proof import of a community's VK messages.

VK message ids of one community are increasing integers across all its conversations, so the
cursor is simply "the last id handed out". Each call:

1. `messages.getConversations` (newest activity first, <= 200 per page) until a conversation's last
   message is at or below the cursor. The highest id seen is the snapshot mark `high`: every message
   with an id <= `high` existed when the snapshot was taken, so its conversation is in the list.
   Nothing new -> the call ends here (an idle import costs exactly one request).
2. `messages.getHistory` for each conversation with news, from the cursor forward
   (`start_message_id=cursor, offset=-K, count=K`), packed 25 per `execute`.
3. Keep ids in (cursor, min(high, bound)], where `bound` is the highest id of any conversation whose
   window was full (it may hold more news beyond the window); hand out the `limit` oldest.

So a message can be late but never skipped (every id below the new cursor was seen) and never
repeated (every id handed out is above the old cursor).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Mapping
from itertools import islice
from typing import Any

from providers.base import AccountId, Direction, NetworkMessage
from providers.vk.transport import VkTransport, raise_unless

PAGE = 200  # getConversations / getHistory `count` maximum
UNREADABLE = (18, 936)  # a deleted/unknown peer's history: nothing to import, not an outage


def to_message(raw: Mapping[str, Any]) -> NetworkMessage:
    attachments = []
    for item in raw.get("attachments") or []:
        kind = item.get("type", "")
        body = item.get(kind) if isinstance(item.get(kind), dict) else {}
        if "owner_id" in body and "id" in body:
            attachments.append(f"{kind}{body['owner_id']}_{body['id']}")  # VK's attachment notation
        else:
            attachments.append(str(kind))
    return NetworkMessage(
        network="vk",
        message_id=str(raw["id"]),
        peer_id=AccountId(str(raw["peer_id"])),
        direction=Direction.OUT if raw.get("out") else Direction.IN,
        text=str(raw.get("text") or ""),
        sent_at=dt.datetime.fromtimestamp(int(raw["date"]), dt.UTC),
        attachments=tuple(attachments),
        random_id=int(raw["random_id"]) if raw.get("random_id") else None,  # 0 = sent without a key
    )


def parse_cursor(cursor: str | None) -> int | None:
    if cursor is None:
        return None
    if not cursor.isdigit():
        raise ValueError(f"not a VK import cursor: {cursor!r}")
    return int(cursor)


def _conversations(
    transport: VkTransport, group: Mapping[str, object], size: int = PAGE
) -> Iterator[Mapping[str, Any]]:
    """Conversation items, newest activity first, `size` per request; lazy, so a caller that stops
    early (or takes only the first `size`) makes no further request."""
    offset = 0
    while True:
        page = transport.call(
            "messages.getConversations", {**group, "count": size, "offset": offset, "filter": "all"}
        )
        items = page.get("items") or []
        yield from items
        if len(items) < size:
            return
        offset += size


def _snapshot(
    transport: VkTransport, group: Mapping[str, object], after: int | None, limit: int
) -> tuple[list[int], int]:
    """User peers with messages above `after`, and the highest message id seen."""
    peers: list[int] = []
    high = after or 0
    size = PAGE if after is not None else min(limit, PAGE)  # the newest `limit` sit in the top `limit`
    items = _conversations(transport, group, size)
    for item in items if after is not None else islice(items, size):
        conversation = item["conversation"]
        last_id = int(conversation["last_message_id"])
        if after is not None and last_id <= after:
            break
        high = max(high, last_id)
        peer = conversation["peer"]
        if peer.get("type") == "user":  # chats have other senders than the peer: not imported
            peers.append(int(peer["id"]))
    return peers, high


def fetch(
    transport: VkTransport, group: Mapping[str, object], cursor: str | None, limit: int
) -> tuple[list[NetworkMessage], str | None]:
    if limit <= 0:
        raise ValueError("limit must be positive")
    after = parse_cursor(cursor)
    peers, high = _snapshot(transport, group, after, limit)
    if not peers:
        return [], str(high)
    window = min(limit, PAGE)
    calls: list[tuple[str, Mapping[str, object]]] = []
    for peer in peers:
        params: dict[str, object] = {**group, "peer_id": peer, "count": window}
        if after:
            params.update(start_message_id=after, offset=-window)
        elif after == 0:
            params["rev"] = 1  # nothing imported yet: read from the oldest message on
        calls.append(("messages.getHistory", params))
    bound = high
    candidates: dict[int, Mapping[str, Any]] = {}
    for result in transport.batch(calls):
        history = raise_unless(result, *UNREADABLE)
        if history is None:
            continue
        fresh = [m for m in history.get("items") or [] if after is None or int(m["id"]) > after]
        if after is not None and len(fresh) >= window:
            bound = min(bound, max(int(m["id"]) for m in fresh))
        for message in fresh:
            if int(message["id"]) <= high:  # newer than the snapshot: next call's business
                candidates[int(message["id"])] = message
    if after is None:
        newest = sorted(candidates)[-limit:]
        return [to_message(candidates[i]) for i in newest], str(high)
    eligible = sorted(i for i in candidates if i <= bound)
    taken = eligible[:limit]
    complete = len(taken) == len(eligible) and bound == high
    next_cursor = high if complete else taken[-1]
    return [to_message(candidates[i]) for i in taken], str(next_cursor)


def start_cursor(transport: VkTransport, group: Mapping[str, object], since: dt.datetime | None) -> str:
    """The cursor before the first message dated at or after `since` (None: before every message).

    Message ids grow with time across the community, so the start is one id: the lowest id dated at or
    after `since`, minus one. Conversations come newest activity first, so the listing stops at the first
    one whose last message is older; each newer conversation is read back (200 per page, 25 pages per
    `execute`) to its first message older than `since`. One-time cost: the messages since `since`.
    """
    if since is None:
        return "0"
    edge = since.timestamp()
    high, peers = 0, []
    for item in _conversations(transport, group):
        conversation = item["conversation"]
        high = max(high, int(conversation["last_message_id"]))
        if int((item.get("last_message") or {}).get("date", 0)) < edge:
            break  # older activity from here on
        peers.append(int(conversation["peer"]["id"]))
    lowest: int | None = None
    offsets = dict.fromkeys(peers, 0)
    while offsets:
        calls = [
            ("messages.getHistory", {**group, "peer_id": peer, "count": PAGE, "offset": at})
            for peer, at in offsets.items()
        ]
        further: dict[int, int] = {}
        for (peer, at), result in zip(offsets.items(), transport.batch(calls), strict=True):
            history = raise_unless(result, *UNREADABLE)
            items = (history or {}).get("items") or []  # newest first
            recent = [int(m["id"]) for m in items if int(m["date"]) >= edge]
            if recent:
                lowest = min(recent) if lowest is None else min(lowest, *recent)
            if items and len(recent) == len(items) and len(items) == PAGE:
                further[peer] = at + PAGE
        offsets = further
    return str(high if lowest is None else lowest - 1)
