"""VK (VKontakte) behind `providers.base.Provider`.

Honest about what VK allows today (dev.vk.com/en/method/messages.send, dev.vk.com/en/reference/access-rights):

* A **community token** can message only people who wrote to the community or allowed its messages;
  anyone else is refused with 901, surfaced as `ProviderNotAllowed(NOT_OPTED_IN)`.
* A **user token** of a new app never gets the `messages` right (VK answers 15), so it is good for
  profiles only; its capabilities say so.
* Every send carries a `random_id` derived from the idempotency key, so a retry can never deliver twice.
  VK keeps one message per `random_id` and sender for the whole history: a key that was used before for
  another person makes VK answer with that earlier message and deliver nothing. An answer that is not
  newer than every message this client has seen is checked with `messages.getById` (one request, only
  then); one with another person raises `ProviderKeyReused`.

No `messages.isMessagesFromGroupAllowed` pre-check before a send: a refused send costs the same one
request as the check and delivers nothing, while a check would double the cost of every successful
send and could still race with the person changing their mind. `messages_allowed()` exists for
screens that want to show the state of many people at once (25 checks per request).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import time
from collections import Counter
from collections.abc import Iterable, Mapping
from typing import Any

import requests

from providers.base import (
    AccountId,
    Capabilities,
    NetworkMessage,
    PollResult,
    Profile,
    ProfileRef,
    SentMessage,
)
from providers.errors import ProviderError, ProviderKeyReused, ProviderNotFound
from providers.ratelimit import Clock, RateLimiter, Sleep
from providers.vk.longpoll import VkLongPoll
from providers.vk.messages import fetch, start_cursor
from providers.vk.profiles import PROFILE_FIELD_NAMES, PROFILE_FIELDS, USERS_PER_CALL, to_profile
from providers.vk.rate import DEFAULT_RPS, default_limiter, rate_limiter
from providers.vk.transport import VkTransport, raise_unless
from providers.vk.urls import parse_vk_url, vk_profile_url

INT32_MAX = 2**31 - 1
MAX_TEXT = 9000  # messages.send `message` maxLength (vk-api-schema)


def random_id_for(idempotency_key: str) -> int:
    """A stable random_id in 1..2**31-1 for `idempotency_key` (0 would switch VK's dedup off)."""
    digest = hashlib.sha256(idempotency_key.encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big") % INT32_MAX + 1


def _chunks(items: list[str], size: int) -> list[list[str]]:
    return [items[i : i + size] for i in range(0, len(items), size)]


class VkProvider:
    name = "vk"

    def __init__(
        self,
        token: str,
        *,
        token_type: str = "community",
        group_id: int | None = None,
        api_url: str = "https://api.vk.ru/method/",
        api_version: str = "5.199",
        rate_limiter: RateLimiter | None = None,
        session: requests.Session | None = None,
        timeout: float = 10.0,
        clock: Clock = time.monotonic,
        sleep: Sleep = time.sleep,
    ) -> None:
        if token_type not in DEFAULT_RPS:
            raise ValueError(f"token_type must be 'community' or 'user', got {token_type!r}")
        if not token:
            raise ValueError("a VK access token is required")
        self.token_type = token_type
        self.group_id = group_id
        limiter = rate_limiter or default_limiter(token_type, clock=clock, sleep=sleep)
        self._transport = VkTransport(
            token,
            api_url=api_url,
            api_version=api_version,
            limiter=limiter,
            session=session,
            timeout=timeout,
            sleep=sleep,
        )
        self._long_poll = VkLongPoll(self._transport, group_id if token_type == "community" else None)
        # The highest message id this client has seen (sent or fetched); None until the first one.
        self._newest_seen: int | None = None
        community = token_type == "community"
        self.capabilities = Capabilities(
            can_start_conversation=False,  # community: only after the person writes/allows; user: no right
            needs_prior_inbound=community,
            reply_window=None,
            profile_fields=PROFILE_FIELD_NAMES,
            can_import_messages=community,
            max_text_length=MAX_TEXT,
        )

    @classmethod
    def from_settings(cls, settings: Mapping[str, Any]) -> VkProvider:
        """A provider from the bridge's `networks.vk` settings (token revealed), at VK's rate budget."""
        return cls(
            str(settings["token"]),
            token_type=str(settings["token_type"]),
            group_id=int(settings["group_id"]) or None,
            api_url=str(settings["api_url"]),
            rate_limiter=rate_limiter(float(settings["rate_limit"])),
        )

    def __repr__(self) -> str:
        return f"VkProvider(token_type={self.token_type!r}, group_id={self.group_id!r})"

    @property
    def stats(self) -> Counter[str]:
        """HTTP requests made so far, per VK method ("execute" for batches)."""
        return self._transport.stats

    @property
    def rate_limiter(self) -> RateLimiter:
        return self._transport.limiter

    def close(self) -> None:
        self._long_poll.close()
        self._transport.close()

    def __enter__(self) -> VkProvider:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- URLs ------------------------------------------------------------------------------------
    def parse_profile_url(self, url: str) -> ProfileRef | None:
        return parse_vk_url(url)

    def profile_url(self, ref: ProfileRef) -> str:
        return vk_profile_url(ref)

    # --- people ----------------------------------------------------------------------------------
    def resolve(self, refs: Iterable[ProfileRef]) -> dict[ProfileRef, AccountId]:
        """Ids need no request; screen names go 1000 per users.get, 25 users.get per execute."""
        resolved: dict[ProfileRef, AccountId] = {}
        by_name: dict[str, list[ProfileRef]] = {}
        for ref in refs:
            if ref.network != "vk":
                continue
            if ref.kind == "id" and ref.value.isdigit():
                resolved[ref] = AccountId(ref.value)
            elif ref.kind == "screen_name" and ref.value:
                by_name.setdefault(ref.value.lower(), []).append(ref)
        if not by_name:
            return resolved
        calls = [
            ("users.get", {"user_ids": ",".join(chunk), "fields": "screen_name"})
            for chunk in _chunks(list(by_name), USERS_PER_CALL)
        ]
        for result in self._transport.batch(calls):
            # 113: nobody in this chunk is a person (communities, unknown names): leave them out.
            for user in raise_unless(result, 113) or []:
                user_id = str(user["id"])
                for key in {str(user.get("screen_name") or "").lower(), f"id{user_id}"}:
                    for ref in by_name.get(key, []):
                        resolved.setdefault(ref, AccountId(user_id))
        return resolved

    def fetch_profiles(self, account_ids: Iterable[AccountId]) -> dict[AccountId, Profile]:
        ids = list(dict.fromkeys(str(a) for a in account_ids if str(a).isdigit()))
        if not ids:
            return {}
        calls = [
            ("users.get", {"user_ids": ",".join(chunk), "fields": PROFILE_FIELDS})
            for chunk in _chunks(ids, USERS_PER_CALL)
        ]
        profiles: dict[AccountId, Profile] = {}
        wanted = set(ids)
        for result in self._transport.batch(calls):
            for user in raise_unless(result, 113) or []:
                if str(user.get("id")) in wanted:
                    profile = to_profile(user)
                    profiles[profile.account_id] = profile
        return profiles

    def token_community(self) -> tuple[int, str] | None:
        """(id, name) of the community a community token belongs to; None for a user token.

        `groups.getById` without ids answers the token's own community, which tells a wrong `group_id`
        apart from a token that lacks a right (VK answers both with error 15 on messages methods).
        """
        if self.token_type != "community":
            return None
        answer = self._transport.call("groups.getById", {})
        groups = answer.get("groups", []) if isinstance(answer, dict) else answer  # 5.194+ wraps the list
        if not groups:
            return None
        return int(groups[0]["id"]), str(groups[0].get("name", ""))

    # --- messages --------------------------------------------------------------------------------
    def _group_params(self) -> dict[str, object]:
        return {"group_id": self.group_id} if self.token_type == "community" and self.group_id else {}

    def send_message(self, account_id: AccountId, text: str, idempotency_key: str) -> SentMessage:
        if not str(account_id).isdigit():
            raise ProviderNotFound(
                f"{account_id!r} is not a VK person id; resolve the profile link first.", network=self.name
            )
        if not idempotency_key:
            raise ValueError("an idempotency key is required so a retry cannot deliver twice")
        newest_before = self._newest_seen
        message_id = int(
            self._transport.call(
                "messages.send",
                {
                    **self._group_params(),
                    "peer_id": account_id,
                    "random_id": random_id_for(idempotency_key),
                    "message": text,
                },
            )
        )
        # VK gives no sign that a random_id was a repeat: it answers the first message's id again. Ids of a
        # community's messages only grow, so an id above every one seen before this call is a new message;
        # anything else may be the answer to a repeated key and is asked about.
        if newest_before is None or message_id <= newest_before:
            self._check_own(account_id, message_id)
        self._saw(message_id)
        return SentMessage(message_id=str(message_id), sent_at=dt.datetime.now(dt.UTC))

    def _check_own(self, account_id: AccountId, message_id: int) -> None:
        try:
            params = {**self._group_params(), "message_ids": message_id}
            found = self._transport.call("messages.getById", params)
        except ProviderError as exc:
            if exc.transient:
                raise  # asked again with the same key later: VK answers the same id, nothing is sent twice
            return  # VK will not say (e.g. no access): the answer stands, as it did before this check
        items = found.get("items") or [] if isinstance(found, dict) else []
        if not items:
            return  # deleted since: nothing to compare; the key was ours to use
        peer = int(items[0].get("peer_id") or 0)
        if peer != int(account_id):
            raise ProviderKeyReused(
                f"VK answered with message {message_id}, which it had delivered to another person under the "
                "same random_id",
                message_id=str(message_id),
                network=self.name,
            )

    def _saw(self, *message_ids: int) -> None:
        newest = max(message_ids, default=None)
        if newest is not None and (self._newest_seen is None or newest > self._newest_seen):
            self._newest_seen = newest

    def fetch_messages(self, cursor: str | None, limit: int) -> tuple[list[NetworkMessage], str | None]:
        messages, next_cursor = fetch(self._transport, self._group_params(), cursor, limit)
        seen = [int(m.message_id) for m in messages]
        if next_cursor and next_cursor.isdigit():
            seen.append(int(next_cursor))
        self._saw(*seen)
        return messages, next_cursor

    def poll_updates(self, offset: str | None, timeout: float) -> PollResult:
        """Bots Long Poll (community token only): the messages after `offset` (VK's `ts`), held up to
        `timeout` s (90 at most); see providers/vk/longpoll.py for failed 1/2/3."""
        return self._long_poll.poll(offset, timeout)

    def start_cursor(self, last_days: float | None) -> str:
        since = None if last_days is None else dt.datetime.now(dt.UTC) - dt.timedelta(days=last_days)
        return start_cursor(self._transport, self._group_params(), since)

    def messages_allowed(self, account_ids: Iterable[AccountId]) -> dict[AccountId, bool]:
        """Whether each person allows messages from our community (for display; 25 per request)."""
        ids = [AccountId(str(a)) for a in dict.fromkeys(account_ids) if str(a).isdigit()]
        if not ids or self.group_id is None:
            return {}
        calls = [
            ("messages.isMessagesFromGroupAllowed", {"group_id": self.group_id, "user_id": uid})
            for uid in ids
        ]
        results = self._transport.batch(calls)
        return {
            uid: bool((raise_unless(result) or {}).get("is_allowed"))
            for uid, result in zip(ids, results, strict=True)
        }
