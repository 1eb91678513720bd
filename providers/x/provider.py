"""X (Twitter) provider: real direct messages through X API v2 with an OAuth 1.0a user token.

It never posts a tweet (SalesPlatform's module posted a public `@user text` tweet instead of a DM).

Money and rules, stated honestly (see `capabilities` and `COSTS_USD`): every DM create is billed per
call and every user or DM event read per resource; a person receives our DM only if they accept DMs
from us (or wrote to us before); X keeps no idempotency key, so a re-send is first checked against
the conversation's DM events (`find_delivered`).
"""

from __future__ import annotations

import datetime as dt
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import Any

import requests
from requests_oauthlib import OAuth1  # type: ignore[import-untyped]

from providers.base import (
    AccountId,
    Capabilities,
    NetworkMessage,
    Profile,
    ProfileRef,
    SentMessage,
    ensure_aware,
)
from providers.errors import NotAllowedReason, ProviderNotAllowed, ProviderNotFound, ProviderUnavailable
from providers.ratelimit import RateLimiter
from providers.x.messages import expanded_text, message_from_event, parse_time, snowflake_time
from providers.x.profiles import profile_from_user, valid_user_id, valid_username
from providers.x.rate import rate_limiter
from providers.x.transport import XTransport
from providers.x.urls import parse_x_url, x_profile_url

BATCH = 100  # users/by and users?ids= take at most 100 values
MAX_TEXT = 10_000
# A message of ours seen up to this long before `not_before` still counts (clocks of X and ours differ).
CLOCK_SKEW = dt.timedelta(minutes=2)
USER_FIELDS = (
    "created_at,description,entities,location,name,profile_image_url,protected,receives_your_dm,url,username"
)
EVENT_FIELDS = "id,text,created_at,sender_id,dm_conversation_id,attachments,entities,event_type"
COSTS_USD = {  # X's pay-per-use rates as published in 2026-02; check the live console
    "dm_create_per_request": 0.015,
    "dm_event_read_per_resource": 0.010,
    "user_read_per_resource": 0.010,
}

E_USERS_BY = "GET /2/users/by"
E_USERS = "GET /2/users"
E_ME = "GET /2/users/me"
E_DM_EVENTS = "GET /2/dm_events"
E_CONVERSATION_EVENTS = "GET /2/dm_conversations/with/:participant_id/dm_events"
E_DM_CREATE = "POST /2/dm_conversations/with/:participant_id/messages"


class XProvider:
    name = "x"
    capabilities = Capabilities(
        can_start_conversation=True,  # only with people who accept DMs from us; see `accepts_dms`
        needs_prior_inbound=False,
        reply_window=None,
        profile_fields=frozenset(
            {
                "first_name",
                "last_name",
                "full_name",
                "city",
                "website",
                "about",
                "photo_url",
                "screen_name",
                "profile_url",
            }
        ),
        can_import_messages=True,
        max_text_length=MAX_TEXT,
    )

    def __init__(
        self,
        consumer_key: str,
        consumer_secret: str,
        access_token: str,
        access_token_secret: str,
        *,
        api_url: str = "https://api.x.com",
        rate_limiter: RateLimiter | None = None,
        session: requests.Session | None = None,
        timeout: float = 10.0,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
        wall_clock: Callable[[], float] = time.time,
    ) -> None:
        auth = OAuth1(consumer_key, consumer_secret, access_token, access_token_secret)
        self._http = XTransport(
            auth,
            api_url=api_url,
            rate_limiter=rate_limiter,
            session=session,
            timeout=timeout,
            clock=clock,
            sleep=sleep,
            wall_clock=wall_clock,
        )
        self._wall = wall_clock
        self._me: str | None = None
        self._accepts_dms: dict[AccountId, bool] = {}
        self._attempted: dict[str, dt.datetime] = {}  # idempotency key -> first attempt (UTC)
        self._sent: dict[str, SentMessage] = {}  # idempotency key -> what X answered
        self._claimed: dict[str, str] = {}  # DM event id -> the key it was matched or sent under
        self._backlog: tuple[int | None, list[dict[str, Any]]] | None = None  # (cursor, events above it)

    @classmethod
    def from_settings(cls, settings: Mapping[str, Any]) -> XProvider:
        """A provider from the bridge's `networks.x` settings (secrets revealed), at its rate budget."""
        return cls(
            str(settings["consumer_key"]),
            str(settings["consumer_secret"]),
            str(settings["access_token"]),
            str(settings["access_token_secret"]),
            api_url=str(settings["api_url"]),
            rate_limiter=rate_limiter(float(settings["rate_limit"])),
        )

    # --- plumbing -------------------------------------------------------------------------------
    @property
    def stats(self) -> Counter[str]:
        """HTTP requests made, per endpoint (for cost accounting and benchmarks)."""
        return self._http.stats

    @property
    def limiter(self) -> RateLimiter:
        return self._http.limiter

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> XProvider:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _now(self) -> dt.datetime:
        return dt.datetime.fromtimestamp(self._wall(), dt.UTC)

    # --- URLs ---------------------------------------------------------------------------------------
    def parse_profile_url(self, url: str) -> ProfileRef | None:
        return parse_x_url(url)

    def profile_url(self, ref: ProfileRef) -> str:
        return x_profile_url(ref)

    # --- users ---------------------------------------------------------------------------------------
    def me_id(self) -> str:
        """Our own account id (asked once with `GET /2/users/me`, then remembered)."""
        if self._me is None:
            body = self._http.request("GET", "/2/users/me", E_ME)
            data = body.get("data")
            if not isinstance(data, dict) or not data.get("id"):
                raise ProviderUnavailable(
                    "X did not say which account the token belongs to.", network=self.name
                )
            self._me = str(data["id"])
        return self._me

    def accepts_dms(self, account_id: AccountId) -> bool | None:
        """X's `receives_your_dm` from the last lookup of this person; None when not known yet."""
        return self._accepts_dms.get(account_id)

    def _remember(self, user: dict[str, Any]) -> None:
        if "receives_your_dm" in user:
            self._accepts_dms[AccountId(str(user["id"]))] = bool(user["receives_your_dm"])

    def resolve(self, refs: Iterable[ProfileRef]) -> dict[ProfileRef, AccountId]:
        """Ids need no request; screen names go 100 at a time to `GET /2/users/by?usernames=`."""
        found: dict[ProfileRef, AccountId] = {}
        by_name: dict[str, list[ProfileRef]] = {}
        for ref in refs:
            if ref.network != self.name:
                continue
            if ref.kind == "id" and valid_user_id(ref.value):
                found[ref] = AccountId(ref.value)
            elif ref.kind == "screen_name" and valid_username(ref.value):
                by_name.setdefault(ref.value.lower(), []).append(ref)
        names = list(by_name)
        for chunk in _chunks(names, BATCH):
            body = self._http.request(
                "GET",
                "/2/users/by",
                E_USERS_BY,
                params={"usernames": ",".join(chunk), "user.fields": USER_FIELDS},
            )
            for user in _users_of(body):
                self._remember(user)
                for ref in by_name.get(str(user.get("username", "")).lower(), []):
                    found[ref] = AccountId(str(user["id"]))
        return found  # names X answered with a "Could not find user" problem are left out

    def fetch_profiles(self, account_ids: Iterable[AccountId]) -> dict[AccountId, Profile]:
        ids = list(dict.fromkeys(a for a in account_ids if valid_user_id(a)))
        profiles: dict[AccountId, Profile] = {}
        for chunk in _chunks(ids, BATCH):
            body = self._http.request(
                "GET", "/2/users", E_USERS, params={"ids": ",".join(chunk), "user.fields": USER_FIELDS}
            )
            for user in _users_of(body):
                self._remember(user)
                profile = profile_from_user(user)
                profiles[profile.account_id] = profile
        return profiles

    # --- sending ----------------------------------------------------------------------------------------
    def send_message(
        self, account_id: AccountId, text: str, idempotency_key: str, *, not_before: dt.datetime | None = None
    ) -> SentMessage:
        """Send a DM with `POST /2/dm_conversations/with/:id/messages`; never a tweet.

        X has no idempotency key. A key this instance already tried, or a send where the caller passes
        `not_before` (its first attempt, e.g. from its outbox after a restart), is first looked up in the
        conversation's DM events; when our message is there it is returned with `duplicate=True`.
        """
        if not text.strip() or len(text) > MAX_TEXT:
            raise ProviderNotAllowed(
                f"X direct messages must have between 1 and {MAX_TEXT} characters.",
                reason=NotAllowedReason.UNSUPPORTED_BY_NETWORK,
                network=self.name,
            )
        if not valid_user_id(account_id):
            raise ProviderNotFound("This is not an X account id.", network=self.name)
        done = self._sent.get(idempotency_key)
        if done is not None:
            return SentMessage(done.message_id, done.sent_at, duplicate=True)
        since = self._attempted.get(idempotency_key) or (ensure_aware(not_before) if not_before else None)
        if since is not None:
            earlier = self.find_delivered(account_id, text, since, idempotency_key=idempotency_key)
            if earlier is not None:
                self._sent[idempotency_key] = earlier
                return earlier
        self._attempted.setdefault(idempotency_key, self._now())
        body = self._http.request(
            "POST",
            f"/2/dm_conversations/with/{account_id}/messages",
            E_DM_CREATE,
            json_body={"text": text},
            dm_send=True,
        )
        data = body.get("data")
        if not isinstance(data, dict) or not data.get("dm_event_id"):
            raise ProviderUnavailable(
                "X accepted the message but did not return its id; it will be checked before any retry.",
                network=self.name,
            )
        event_id = str(data["dm_event_id"])
        sent = SentMessage(event_id, self._now())
        self._sent[idempotency_key] = sent
        self._claimed[event_id] = idempotency_key
        return sent

    def find_delivered(
        self, account_id: AccountId, text: str, not_before: dt.datetime, *, idempotency_key: str | None = None
    ) -> SentMessage | None:
        """Our DM to `account_id` with exactly `text`, sent at or after `not_before`, if X has it.

        Reads the conversation's events newest first and stops at the first one older than
        `not_before` (minus a small clock-skew allowance). Events this instance already matched to a
        different key are skipped, so two sends of the same text under two keys stay two messages.
        """
        since = ensure_aware(not_before) - CLOCK_SKEW
        me = self.me_id()
        match: SentMessage | None = None
        for event in self._conversation_events(account_id):
            created = parse_time(event.get("created_at")) or snowflake_time(str(event["id"]))
            if created < since:
                break
            owner = self._claimed.get(str(event["id"]))
            if (
                str(event.get("sender_id")) == me
                and expanded_text(event) == text
                and (owner is None or owner == idempotency_key)
            ):
                match = SentMessage(str(event["id"]), created, duplicate=True)  # keep going: oldest wins
        if match is not None and idempotency_key is not None:
            self._claimed[match.message_id] = idempotency_key
        return match

    def _conversation_events(self, account_id: AccountId) -> Iterator[dict[str, Any]]:
        params = {"event_types": "MessageCreate", "dm_event.fields": EVENT_FIELDS, "max_results": "50"}
        path = f"/2/dm_conversations/with/{account_id}/dm_events"
        while True:
            body = self._http.request("GET", path, E_CONVERSATION_EVENTS, params=params)
            yield from _events_of(body)
            token = (body.get("meta") or {}).get("next_token")
            if not token:
                return
            params = {**params, "pagination_token": str(token), "max_results": "100"}

    # --- importing ---------------------------------------------------------------------------------------
    def fetch_messages(self, cursor: str | None, limit: int) -> tuple[list[NetworkMessage], str | None]:
        """Up to `limit` DMs after `cursor` (the newest event id already returned), oldest first.

        `GET /2/dm_events` lists newest first. The first page is `limit` events (max 100), so an idle
        run costs one request; pages continue only while every event on them is still newer than the
        cursor. The oldest `limit` new messages are returned and the cursor moves to the last event
        consumed, so a burst larger than `limit` is delivered over several calls without a gap or a
        repeat. Ids are compared as integers (snowflakes), never as strings. Group conversations are
        consumed but not returned (the bridge links 1-1 conversations only).

        X bills every event read, and a catch-up (a first import of 30 days) would re-read the whole
        backlog on each call: the events read but not yet handed out are kept in memory for the next call
        with the returned cursor, which then reads only what is newer (after a restart, once in full).
        """
        size = max(1, min(limit, 100))
        after = int(cursor) if cursor else None
        me = self.me_id()
        held = self._backlog[1] if self._backlog is not None and self._backlog[0] == after else []
        stop = int(held[-1]["id"]) if held else after  # read back to here
        # No `expansions=sender_id`: X bills every expanded user as a read and the bridge needs only ids.
        params = {"event_types": "MessageCreate", "dm_event.fields": EVENT_FIELDS, "max_results": str(size)}
        fresh: list[dict[str, Any]] = list(held)
        while True:
            body = self._http.request("GET", "/2/dm_events", E_DM_EVENTS, params=params)
            page = list(_events_of(body))
            fresh.extend(e for e in page if stop is None or int(e["id"]) > stop)
            token = (body.get("meta") or {}).get("next_token")
            reached_cursor = stop is None or any(int(e["id"]) <= stop for e in page)
            if reached_cursor or not token:
                break
            params = {**params, "pagination_token": str(token), "max_results": "100"}
        fresh.sort(key=lambda e: int(e["id"]))
        messages: list[NetworkMessage] = []
        last = after
        for event in fresh:
            if len(messages) >= max(1, limit):
                break
            last = int(event["id"])
            message = message_from_event(event, me)
            if message is not None:
                messages.append(message)
        rest = [e for e in fresh if last is None or int(e["id"]) > last]
        self._backlog = (last, rest) if rest else None
        return messages, str(last) if last is not None else (cursor or "0")

    def start_cursor(self, last_days: float | None) -> str:
        """The id of the newest DM event created before the last `last_days` days ("0": every event X
        still lists, which is its last 30 days).

        Reads `GET /2/dm_events` back from the newest, 100 per page, until an older event: a one-time
        cost of the events in those days (X bills each one read).
        """
        if last_days is None:
            return "0"
        since = self._now() - dt.timedelta(days=last_days)
        params = {"event_types": "MessageCreate", "dm_event.fields": EVENT_FIELDS, "max_results": "100"}
        while True:
            body = self._http.request("GET", "/2/dm_events", E_DM_EVENTS, params=params)
            for event in _events_of(body):  # newest first
                if (parse_time(event.get("created_at")) or snowflake_time(str(event["id"]))) < since:
                    return str(event["id"])
            token = (body.get("meta") or {}).get("next_token")
            if not token:
                return "0"
            params = {**params, "pagination_token": str(token)}


def _chunks(items: Sequence[str], size: int) -> Iterator[list[str]]:
    for start in range(0, len(items), size):
        yield list(items[start : start + size])


def _users_of(body: dict[str, Any]) -> list[dict[str, Any]]:
    data = body.get("data")
    if isinstance(data, dict):
        data = [data]
    return [u for u in (data or []) if isinstance(u, dict) and u.get("id")]


def _events_of(body: dict[str, Any]) -> Iterator[dict[str, Any]]:
    for event in body.get("data") or []:
        if isinstance(event, dict) and str(event.get("id", "")).isdigit():
            yield event
