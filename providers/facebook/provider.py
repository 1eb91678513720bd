"""Facebook: a Page's Messenger inbox through the Graph API (Send, Conversations and User Profile APIs).

Docs: developers.facebook.com/docs/messenger-platform (reference/send-api, conversations,
identity/user-profile, error-codes). What Facebook allows a business, stated honestly:
- a Page can only answer people who wrote to it: their Page-scoped id (PSID) exists only after that,
  and no API turns a profile link into a PSID;
- replies are allowed for 24 h after the person's last message (HUMAN_AGENT tag: 7 days, for messages
  written by a human agent only);
- profile data is first/last name and a photo URL that expires.
Facebook has no idempotency key: `find_delivered` looks in the conversation for a message we may have sent.
"""

from __future__ import annotations

import datetime as dt
import json
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any

import requests

from providers.base import (
    AccountId,
    Capabilities,
    Direction,
    NetworkMessage,
    Profile,
    ProfileRef,
    SentMessage,
    ensure_aware,
)
from providers.errors import (
    NotAllowedReason,
    ProviderError,
    ProviderNotAllowed,
    ProviderNotFound,
    ProviderUnavailable,
)
from providers.facebook.errors import NETWORK, window_closed
from providers.facebook.messages import decode_cursor, encode_cursor, parse_time
from providers.facebook.rate import default_limiter, rate_limiter
from providers.facebook.transport import GraphClient
from providers.facebook.urls import facebook_profile_url, parse_facebook_url
from providers.ratelimit import Clock, RateLimiter, Sleep

REPLY_WINDOW = dt.timedelta(hours=24)
HUMAN_AGENT_WINDOW = dt.timedelta(days=7)
MAX_TEXT = 2000  # Send API: message.text is UTF-8, at most 2000 characters
CLOCK_SLACK = dt.timedelta(seconds=5)  # our clock vs Graph's created_time, for find_delivered
MESSAGE_FIELDS = "id,created_time,from,to,message"
NO_PSID_HELP = (
    "Facebook does not let a Page find a person by profile link; the client must write to "
    "the Page first, after which the bridge links their conversation"
)


def _utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class FacebookProvider:
    """One Facebook Page (its Page access token) as the bridge sees it.

    Args:
        page_token: Page access token with `pages_messaging` (sent as `access_token`, never logged).
        page_id: the Page's id; messages whose `from.id` equals it are ours (Direction.OUT).
        api_url: Graph base URL including the version.
        app_secret: when set, every call carries `appsecret_proof` (HMAC-SHA256 of the token).
        use_human_agent_tag: reply up to 7 days after the person's last message with the HUMAN_AGENT
            tag. Meta allows it only for messages a human wrote; enable it only for such sends.
        rate_limiter, clock, sleep: local request budget and its (injectable) monotonic time.
        now: current UTC time (aware), injectable so reply windows are testable.
    """

    name = NETWORK

    def __init__(
        self,
        page_token: str,
        page_id: str,
        *,
        api_url: str = "https://graph.facebook.com/v21.0",
        app_secret: str | None = None,
        use_human_agent_tag: bool = False,
        rate_limiter: RateLimiter | None = None,
        session: requests.Session | None = None,
        timeout: float = 10.0,
        clock: Clock = time.monotonic,
        sleep: Sleep = time.sleep,
        now: Callable[[], dt.datetime] = _utc_now,
    ) -> None:
        if not page_token or not page_id:
            raise ValueError("Facebook needs a Page access token and the Page id")
        self.page_id = page_id
        self.use_human_agent_tag = use_human_agent_tag
        limiter = rate_limiter or default_limiter(clock=clock, sleep=sleep)
        self._graph = GraphClient(
            api_url,
            page_token,
            app_secret,
            limiter=limiter,
            session=session,
            timeout=timeout,
            human_agent=use_human_agent_tag,
        )
        self._now = now
        self._last_inbound: dict[str, dt.datetime] = {}
        self._sent: dict[str, SentMessage] = {}  # idempotency key -> result, for retries in this process
        self._uncertain: dict[str, tuple[str, str, dt.datetime]] = {}  # key -> (psid, text, attempt time)
        self.capabilities = Capabilities(
            can_start_conversation=False,
            needs_prior_inbound=True,
            reply_window=HUMAN_AGENT_WINDOW if use_human_agent_tag else REPLY_WINDOW,
            profile_fields=frozenset({"first_name", "last_name", "full_name", "photo_url"}),
            can_import_messages=True,
            max_text_length=MAX_TEXT,
        )

    @classmethod
    def from_settings(cls, settings: Mapping[str, Any]) -> FacebookProvider:
        """A provider from the bridge's `networks.facebook` settings (secrets revealed), at its budget."""
        return cls(
            str(settings["page_token"]),
            str(settings["page_id"]),
            api_url=str(settings["api_url"]),
            app_secret=str(settings["app_secret"]) or None,
            use_human_agent_tag=bool(settings["human_agent_tag"]),
            rate_limiter=rate_limiter(float(settings["rate_limit"])),
        )

    @property
    def stats(self) -> Counter[str]:
        """Counters: requests, sent, rate_limited, unavailable, error_<graph code>."""
        return self._graph.stats

    def close(self) -> None:
        self._graph.close()

    # --- profile links ----------------------------------------------------------------------------
    def parse_profile_url(self, url: str) -> ProfileRef | None:
        return parse_facebook_url(url)

    def profile_url(self, ref: ProfileRef) -> str:
        return facebook_profile_url(ref)

    def resolve(self, refs: Iterable[ProfileRef]) -> dict[ProfileRef, AccountId]:
        """A "psid" ref is its own account id (no request); a profile link cannot be turned into one.

        Raises:
            ProviderNotAllowed(UNSUPPORTED_BY_NETWORK): a ref names a person by screen name or global id.
        """
        resolved: dict[ProfileRef, AccountId] = {}
        for ref in refs:
            if ref.network != NETWORK:
                continue
            if ref.kind != "psid":
                raise ProviderNotAllowed(
                    NO_PSID_HELP, reason=NotAllowedReason.UNSUPPORTED_BY_NETWORK, network=NETWORK
                )
            resolved[ref] = AccountId(ref.value)
        return resolved

    def fetch_profiles(self, account_ids: Iterable[AccountId]) -> dict[AccountId, Profile]:
        """User Profile API, one request per PSID; unknown PSIDs are left out."""
        profiles: dict[AccountId, Profile] = {}
        for psid in dict.fromkeys(account_ids):
            try:
                data = self._graph.call("GET", psid, {"fields": "first_name,last_name,profile_pic"})
            except ProviderNotFound:
                continue
            first, last = data.get("first_name") or None, data.get("last_name") or None
            profiles[psid] = Profile(
                NETWORK,
                psid,
                first_name=first,
                last_name=last,
                full_name=" ".join(p for p in (first, last) if p) or None,
                photo_url=data.get("profile_pic") or None,
                profile_url=self.profile_url(ProfileRef(NETWORK, "psid", psid)),
            )
        return profiles

    # --- sending ----------------------------------------------------------------------------------
    def note_inbound(self, psid: str, at: dt.datetime) -> None:
        """Record when `psid` last wrote to the Page (from imports or a webhook), for local window checks."""
        at = ensure_aware(at)
        if psid not in self._last_inbound or at > self._last_inbound[psid]:
            self._last_inbound[psid] = at

    def send_message(self, account_id: AccountId, text: str, idempotency_key: str) -> SentMessage:
        """Reply inside the window: RESPONSE, or MESSAGE_TAG + HUMAN_AGENT up to 7 days when enabled.

        Raises:
            ProviderNotAllowed(WINDOW_CLOSED): the window is closed (checked locally when the last inbound
                time is known, else as the Graph API answers); nothing was delivered.
            ProviderNotAllowed(NO_CONVERSATION): the person is not reachable (Graph error 551).
            ProviderNotFound: unknown PSID.
            ProviderUnavailable: the outcome is unknown; calling again with the same key first looks in
                the conversation, so the message is not delivered twice.
        """
        if idempotency_key in self._sent:
            return self._sent[idempotency_key]
        if idempotency_key in self._uncertain:
            psid, old_text, attempted = self._uncertain[idempotency_key]
            found = self.find_delivered(AccountId(psid), old_text, attempted)
            if found is not None:
                del self._uncertain[idempotency_key]
                self._sent[idempotency_key] = found
                return found
        if not text or len(text) > MAX_TEXT:
            raise ProviderError(
                f"A Facebook message must have 1 to {MAX_TEXT} characters, not {len(text)}", network=NETWORK
            )
        now, last = self._now(), self._last_inbound.get(account_id)
        tagged = False
        if last is not None and now - last > REPLY_WINDOW:
            if not self.use_human_agent_tag or now - last > HUMAN_AGENT_WINDOW:
                raise window_closed(last, human_agent=self.use_human_agent_tag)
            tagged = True
        try:
            return self._post_message(account_id, text, idempotency_key, tagged=tagged)
        except ProviderNotAllowed as exc:
            # The window was not known locally and the server refused a plain reply: the tag may apply.
            if exc.reason is NotAllowedReason.WINDOW_CLOSED and self.use_human_agent_tag and not tagged:
                return self._post_message(account_id, text, idempotency_key, tagged=True)
            raise

    def _post_message(self, psid: str, text: str, key: str, *, tagged: bool) -> SentMessage:
        form = {
            "recipient": json.dumps({"id": psid}),
            "message": json.dumps({"text": text}, ensure_ascii=False),
            "messaging_type": "MESSAGE_TAG" if tagged else "RESPONSE",
        }
        if tagged:
            form["tag"] = "HUMAN_AGENT"
        self._uncertain[key] = (psid, text, self._now())  # where to look, should the answer get lost
        try:
            data = self._graph.call("POST", f"{self.page_id}/messages", form)
        except ProviderUnavailable:
            raise  # the key stays "uncertain": a retry looks before it sends
        except ProviderError:
            del self._uncertain[key]  # a refusal: nothing was delivered
            raise
        del self._uncertain[key]
        sent = SentMessage(str(data["message_id"]), self._now())
        self._sent[key] = sent
        self._graph.stats["sent"] += 1
        return sent

    def find_delivered(self, psid: AccountId, text: str, not_before: dt.datetime) -> SentMessage | None:
        """Our message with exactly `text` to `psid`, created at or after `not_before`, or None.

        Facebook keeps no idempotency key, so after a crash between "send" and "record" the bridge calls
        this before sending again (the provider does it itself for a retry after a lost answer). Looks
        from `not_before` minus a few seconds of clock slack; messages this instance already returned for
        another key are skipped, so two sends of the same text under two keys stay two messages.
        """
        not_before = (ensure_aware(not_before) - CLOCK_SLACK).replace(microsecond=0)
        claimed = {sent.message_id for sent in self._sent.values()}
        threads = self._graph.pages(
            f"{self.page_id}/conversations",
            {"platform": "messenger", "user_id": psid, "fields": "id,updated_time"},
        )
        for thread in threads:
            for msg in self._messages_since(thread["id"], not_before):
                if (
                    msg.direction is Direction.OUT
                    and msg.peer_id == psid
                    and msg.text == text
                    and msg.message_id not in claimed
                ):
                    return SentMessage(msg.message_id, msg.sent_at, duplicate=True)
        return None

    # --- reading ----------------------------------------------------------------------------------
    def fetch_messages(self, cursor: str | None, limit: int) -> tuple[list[NetworkMessage], str | None]:
        """Messages of the Page inbox (both directions), oldest first, and the next cursor.

        The cursor is `fb1.<base64 JSON>` holding `since` (a Graph timestamp, whole seconds) and `seen`,
        the ids already returned whose `created_time` equals `since`. The next call returns messages
        created after `since` plus those created at `since` not in `seen`, so nothing is skipped or
        repeated even when several messages share a second or arrive between calls. Only conversations
        whose `updated_time` is at or after `since` are read. Graph's clock is assumed monotonic: a
        message stamped earlier than one already returned would be missed.
        """
        limit = max(1, limit)
        since, seen = decode_cursor(cursor) if cursor else (None, set())
        candidates: list[NetworkMessage] = []
        for thread in self._threads_since(since):
            # First call: stop once no older thread can hold one of the newest `limit` messages.
            if (
                since is None
                and len(candidates) >= limit
                and parse_time(thread["updated_time"]) < sorted(m.sent_at for m in candidates)[-limit]
            ):
                break
            msgs = self._messages_since(thread["id"], since, at_most=limit if since is None else None)
            candidates.extend(m for m in reversed(msgs) if m.message_id not in seen)
        candidates.sort(key=lambda m: m.sent_at)  # stable: keeps a thread's own order within a second
        batch = candidates[-limit:] if since is None else candidates[:limit]
        if not batch:
            return [], cursor
        for msg in batch:
            if msg.direction is Direction.IN:
                self.note_inbound(msg.peer_id, msg.sent_at)
        last_time = batch[-1].sent_at
        new_seen = {m.message_id for m in batch if m.sent_at == last_time}
        if since == last_time:
            new_seen |= seen
        return batch, encode_cursor(last_time, new_seen)

    def start_cursor(self, last_days: float | None) -> str:
        """A cursor `last_days` days back (None: the epoch, every message the Page still has); no request.

        Each later call reads the conversations updated since the cursor's time, so catching up on a long
        span re-reads it run by run (Graph reads are free, within the rate limit)."""
        epoch = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
        moment = epoch if last_days is None else ensure_aware(self._now()) - dt.timedelta(days=last_days)
        return encode_cursor(max(epoch, moment).replace(microsecond=0), ())

    def _threads_since(self, since: dt.datetime | None) -> Iterator[dict[str, Any]]:
        """Conversations updated at or after `since`, newest first (Graph's order)."""
        rows = self._graph.pages(
            f"{self.page_id}/conversations",
            {"platform": "messenger", "fields": "id,updated_time", "limit": "25"},
        )
        for thread in rows:
            if since is not None and parse_time(thread["updated_time"]) < since:
                return
            yield thread

    def _messages_since(
        self, thread_id: str, since: dt.datetime | None, *, at_most: int | None = None
    ) -> list[NetworkMessage]:
        """The thread's messages created at or after `since`, newest first, at most `at_most` of them."""
        out: list[NetworkMessage] = []
        for raw in self._graph.pages(f"{thread_id}/messages", {"fields": MESSAGE_FIELDS, "limit": "50"}):
            msg = self._to_message(raw)
            if (since is not None and msg.sent_at < since) or (at_most is not None and len(out) >= at_most):
                break
            out.append(msg)
        return out

    def _to_message(self, raw: dict[str, Any]) -> NetworkMessage:
        sender = str((raw.get("from") or {}).get("id", ""))
        if sender == self.page_id:
            to = (raw.get("to") or {}).get("data") or [{}]
            peer, direction = str(to[0].get("id", "")), Direction.OUT
        else:
            peer, direction = sender, Direction.IN
        return NetworkMessage(
            NETWORK,
            str(raw["id"]),
            AccountId(peer),
            direction,
            raw.get("message") or "",
            parse_time(raw["created_time"]),
        )
