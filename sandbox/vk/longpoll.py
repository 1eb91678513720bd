"""The VK sandbox's Bots Long Poll server: `GET {server}?act=a_check&key=&ts=&wait=` and its knobs.

    with VkSandbox() as vk:
        lp = requests.post(vk.url + "groups.getLongPollServer", data={"group_id": vk.group_id, "v": "5.199"},
                           headers={"Authorization": f"Bearer {vk.community_token}"}).json()["response"]
        vk.incoming(uid, "Hello")
        requests.get(lp["server"], params={"act": "a_check", "key": lp["key"], "ts": lp["ts"], "wait": 25})

As VK documents it (dev.vk.com "Bots Long Poll API", VKCOM/vk-api-schema 5.199; contracts/vk-longpoll/):
- `groups.getLongPollServer(group_id)` gives `server`, `key`, `ts` (the number of the last event);
  error 100 "longpoll for this group is not enabled" while it is switched off
  (`groups.setLongPollSettings(enabled=0)`); only enabled event types are queued;
- `a_check` answers `{ts, updates: [{type, object, group_id, event_id, v}]}` with the events after `ts`;
  with none it holds the request open up to `wait` seconds (90 at most) and answers `updates: []`;
- the queue is kept on the server: a client that comes back with its `ts` gets what it missed;
- `{"failed": 1, "ts": N}`: history partly lost, continue from N; `{"failed": 2}`: key expired, get a new
  key and keep `ts`; `{"failed": 3}`: state lost, get a new key and `ts`;
- `message_new` carries `{message, client_info}` from API 5.103 on (a bare message before), `message_reply`
  a bare message (the community's own outgoing ones: messages.send, VK's UI), `message_allow`
  `{user_id, key}`, `message_deny` `{user_id}`; `v` is the API version of the long-poll settings;
- `event_id` is unique per event and the same when VK sends an event again.

The sandbox's choices, where VK documents nothing (all attributes of `vk.world.longpoll` / knobs here):
- retention: an event stays queued `retention` seconds (3600) and the queue holds `max_events` (10,000);
  the oldest go first. A `ts` older than what is left answers `failed: 1` with the `ts` of the last lost
  event, so the client gets everything still queued (the gap is for messages.getHistory to fill);
- a `ts` ahead of the last event (e.g. kept across a restart) answers `failed: 1` with the current `ts`;
  a missing or non-numeric `ts` counts as older than the queue;
- a key lives `key_lifetime` seconds (3600) on the sandbox's clock; a new key does not revoke older ones;
  an unknown key, or one of another community, answers `failed: 2`; keys from before `restart()` answer
  `failed: 3`, and the new server numbers events from 1 again;
- anything but `act=a_check` on `/whp/<group_id>` answers HTTP 400 (what VK answers is unknown);
- at most `batch_limit` (100) events per answer; `wait` missing or 0 answers at once; `wait` above 90 is
  cut to 90; `ts` is a string in `{ts, updates}` and a number in `failed: 1` (as VK's samples show it);
- the API methods need a community token of the sandbox's community or a user token with the `manage`
  right (else error 15, as VK answers a token that may not read the community's events);
  groups.get/setLongPollSettings need the `manage` right; the server starts enabled, API 5.199, with
  message_new/reply/allow/deny on.
Knobs: `lose_history`, `expire_keys`, `restart` (also drops held requests), `drop_next`, `repeat`; the
shared `vk.faults` (`slow(..., operation="a_check")`, `drop`, `http_error`) apply too. `stop()` of the
sandbox closes held requests at once.
"""

from __future__ import annotations

import threading
import time
from typing import Any

from sandbox._http import DropConnection
from sandbox.vk.lpstate import LongPollState

MAX_WAIT = 90


def _number(raw: str | None) -> int | None:
    try:
        return int(raw) if raw is not None else None
    except ValueError:
        return None


class LongPollServer:
    """`a_check` over the shared `LongPollState`, holding requests on the VK sandbox's condition."""

    def __init__(self, state: LongPollState, cond: threading.Condition) -> None:
        self.state = state
        self._cond = cond
        self.answers: list[dict[str, Any]] = []  # every a_check answer sent, for contract checks
        self.waiting = 0  # a_check requests held open right now
        self._drops = 0
        self._stopping = False

    def a_check(self, group_id: int | None, params: dict[str, str]) -> dict[str, Any]:
        with self._cond:
            body = self._check(group_id, params)
            if self._drops > 0:  # the answer was made; the connection breaks before it leaves
                self._drops -= 1
                raise DropConnection
            self.answers.append(body)
            return body

    def _check(self, group_id: int | None, params: dict[str, str]) -> dict[str, Any]:
        state = self.state
        key = params.get("key", "")
        ts = _number(params.get("ts"))
        wait = min(max(_number(params.get("wait")) or 0, 0), MAX_WAIT)
        deadline = time.monotonic() + wait
        epoch = state.epoch
        while True:
            if self._stopping or state.epoch != epoch:
                raise DropConnection  # the server went away under a held request
            state.evict()
            failure = state.key_failure(key, group_id)
            if failure:
                return {"failed": failure}
            if ts is None or ts < state.floor:
                return {"failed": 1, "ts": state.floor}
            if ts > state.last_ts:
                return {"failed": 1, "ts": state.last_ts}
            pending = state.after(ts)
            if pending:
                return {"ts": str(pending[-1].ts), "updates": [e.update for e in pending]}
            left = deadline - time.monotonic()
            if left <= 0:
                return {"ts": str(state.last_ts), "updates": []}
            # Wait on the condition: it releases the sandbox's lock, so API calls (and the events they
            # publish, which notify it) go on while this request is held.
            self.waiting += 1
            try:
                self._cond.wait(left)
            finally:
                self.waiting -= 1

    # --- knobs --------------------------------------------------------------------------------------
    def lose_history(self, keep: int = 0) -> None:
        """VK loses all queued events but the last `keep`: a client behind them gets failed:1."""
        with self._cond:
            self.state.evict(keep=keep)

    def expire_keys(self) -> None:
        """Every key issued so far answers failed:2 from now on (a new key works)."""
        with self._cond:
            self.state.expire_keys()
            self._cond.notify_all()

    def restart(self) -> None:
        """The long-poll server restarts and loses its state: the queue is gone, held requests are cut,
        older keys answer failed:3, numbering starts again."""
        with self._cond:
            self.state.restart()
            self._cond.notify_all()

    def drop_next(self, times: int = 1) -> None:
        """The next `times` a_check answers are made (held as usual) but the connection is closed
        instead of sending them; nothing moves on the server, so the same `ts` gets them again."""
        with self._cond:
            self._drops += times

    def repeat(self, event_id: str | None = None) -> int:
        """VK sends an event again (the last one, or `event_id`): same event_id and object, new ts."""
        with self._cond:
            return self.state.repeat(event_id).ts

    def queued(self) -> list[dict[str, Any]]:
        """The updates still queued, oldest first."""
        with self._cond:
            return [dict(e.update) for e in self.state.events]

    # --- lifecycle (the sandbox's start/stop) -------------------------------------------------------
    def shutdown(self) -> None:
        with self._cond:
            self._stopping = True
            self._cond.notify_all()

    def reopen(self, server_url: str) -> None:
        with self._cond:
            self._stopping = False
            self.state.server_url = server_url
