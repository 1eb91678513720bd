"""Telegram (Bot API) behind `providers.base.Provider`, with long polling (`providers.base.LongPolling`).

What a Telegram bot may do, stated honestly (contracts/telegram-bot-api/README.md, core.telegram.org/bots):

* It cannot open a conversation: the client presses Start first (`t.me/<bot>?start=<payload>`, see
  `invitation_link`), after which the bot may write. A `t.me/<username>` link cannot be turned into a user
  id by the Bot API, so `resolve` refuses screen names.
* There is no idempotency key and no way to read a chat's history. A send whose outcome is unknown (a
  timeout after the request was written, a dropped connection, a gateway error) raises
  `ProviderDeliveryUnknown` and is never repeated by this provider: at most once. `find_delivered` cannot
  look either; it says so instead of guessing.
* Texts longer than 4096 characters (UTF-16 units, as Telegram counts) are refused with a reason, not
  split: with no idempotency and no history, a split send that fails half-way leaves part of a letter
  delivered and no safe way to finish it. The CRM user shortens it or sends several messages.
* Intake is `getUpdates` (24 h retention): only messages that arrive while the bridge polls.

Reachability: `api_url` (a local Bot API server or a reverse proxy), `proxy_url` (http/https/socks5 proxy,
for networks where Telegram is throttled) and `ca_bundle` are settings. The token lives only inside the
transport's URL; no error, log line or repr carries it.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import requests

from providers.base import (
    AccountId,
    BotEvent,
    Capabilities,
    NetworkMessage,
    PollResult,
    Profile,
    ProfileRef,
    SentMessage,
)
from providers.botapi import (
    BotProviderBase,
    OutcomeUnknown,
    bot_options,
    check_ca_bundle,
    check_proxy_url,
    decode_offset,
    encode_offset,
    since_for,
    utf16_units,
)
from providers.errors import (
    NotAllowedReason,
    ProviderConflict,
    ProviderDeliveryUnknown,
    ProviderError,
    ProviderNotAllowed,
    ProviderNotFound,
)
from providers.ratelimit import Clock, RateLimiter, Sleep
from providers.telegram.messages import ALLOWED_UPDATES, PAYLOAD, parse_update
from providers.telegram.profiles import PROFILE_FIELD_NAMES, to_profile
from providers.telegram.rate import default_limiter, rate_limiter
from providers.telegram.transport import TelegramTransport
from providers.telegram.urls import NETWORK, parse_telegram_url, telegram_profile_url

MAX_TEXT = 4096  # sendMessage.text: 1-4096 characters after entity parsing (api.json)
MAX_UPDATES = 100  # getUpdates limit 1-100
MAX_POLL_TIMEOUT = 50.0
NO_LOOKUP = (
    "Telegram does not let a bot find a person by username or profile link; send the client the "
    "bot's invitation link: pressing Start links their chat"
)
UNKNOWN_HELP = (
    "Telegram gives a bot no idempotency key and no chat history, so the bridge cannot tell "
    "whether the message arrived and does not send it again (it could arrive twice). Check with "
    "the client, then send again if needed."
)


def _utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class TelegramProvider(BotProviderBase):
    """One Telegram bot (its token) as the bridge sees it.

    Args:
        token: the bot token from @BotFather (`<digits>:<secret>`); never logged.
        api_url: Bot API base, `https://api.telegram.org` or a local Bot API server / reverse proxy.
        proxy_url: optional `http://`, `https://` or `socks5://` proxy (user:password@ allowed).
        ca_bundle: optional PEM file to verify the API's certificate with (a proxy that re-signs TLS).
        take_over_webhook: when a webhook is set, delete it (keeping pending updates) and poll; otherwise
            polling raises `ProviderConflict` and leaves the webhook alone.
    """

    name = NETWORK
    no_lookup = NO_LOOKUP
    _http: TelegramTransport

    def __init__(
        self,
        token: str,
        *,
        api_url: str = "https://api.telegram.org",
        proxy_url: str | None = None,
        ca_bundle: str | None = None,
        take_over_webhook: bool = False,
        rate_limiter: RateLimiter | None = None,
        session: requests.Session | None = None,
        timeout: float = 10.0,
        clock: Clock = time.monotonic,
        sleep: Sleep = time.sleep,
        now: Callable[[], dt.datetime] = _utc_now,
    ) -> None:
        if not token or ":" not in token:
            raise ValueError("telegram: the bot token must look like <digits>:<secret> (from @BotFather)")
        limiter = rate_limiter or default_limiter(clock=clock, sleep=sleep)
        self._http = TelegramTransport(
            token,
            api_url=api_url,
            limiter=limiter,
            session=session,
            proxy_url=check_proxy_url(proxy_url, NETWORK),
            ca_bundle=check_ca_bundle(ca_bundle, NETWORK),
            timeout=timeout,
        )
        self.take_over_webhook = take_over_webhook
        self._now = now
        self._sent: dict[str, SentMessage] = {}  # idempotency key -> answer, within this process
        self._unknown: dict[str, str] = {}  # key -> why its outcome is unknown
        self._refused: set[tuple[str, str]] = set()  # (account, text) whose last attempt clearly failed
        self._bot: dict[str, object] | None = None
        self.capabilities = Capabilities(
            can_start_conversation=False,
            needs_prior_inbound=True,
            reply_window=None,
            profile_fields=PROFILE_FIELD_NAMES,
            can_import_messages=True,
            max_text_length=MAX_TEXT,
            idempotent_sends=False,
            resolves_profile_links=False,
            reads_history=False,
        )

    @classmethod
    def from_settings(cls, settings: Mapping[str, Any]) -> TelegramProvider:
        """A provider from its network's settings (token revealed): `token`, and what `bot_options` reads."""
        return cls(str(settings["token"]), **bot_options(settings, rate_limiter))

    # --- the bot ----------------------------------------------------------------------------------
    def bot_identity(self) -> tuple[str, str]:
        """(id, username) of the bot behind the token (`getMe`, asked once)."""
        if self._bot is None:
            self._bot = dict(self._http.call("getMe", {}))
        return str(self._bot["id"]), str(self._bot.get("username") or "")

    def invitation_link(self, payload: str) -> str:
        """`https://t.me/<bot>?start=<payload>`; pressing Start there gives a STARTED event with `payload`."""
        if not PAYLOAD.fullmatch(payload):
            raise ValueError("a Telegram start payload is 1-64 characters of A-Z, a-z, 0-9, _ and -")
        return f"https://t.me/{self.bot_identity()[1]}?start={payload}"

    # --- profile links ----------------------------------------------------------------------------
    def parse_profile_url(self, url: str) -> ProfileRef | None:
        return parse_telegram_url(url)

    def profile_url(self, ref: ProfileRef) -> str:
        return telegram_profile_url(ref)

    def fetch_profiles(self, account_ids: Iterable[AccountId]) -> dict[AccountId, Profile]:
        """`getChat` per person (bio and birthday live only there); unknown chats are left out."""
        profiles: dict[AccountId, Profile] = {}
        for account in dict.fromkeys(account_ids):
            if not str(account).isdigit():
                continue
            try:
                chat = self._http.call("getChat", {"chat_id": int(account)})
            except (ProviderNotFound, ProviderNotAllowed):
                continue
            if isinstance(chat, dict) and chat.get("type") == "private":
                profiles[account] = to_profile(chat)
        return profiles

    # --- sending ----------------------------------------------------------------------------------
    def send_message(self, account_id: AccountId, text: str, idempotency_key: str) -> SentMessage:
        """Send once, at most: a key already answered returns its message (`duplicate=True`); a key whose
        outcome is unknown raises `ProviderDeliveryUnknown` again without a request.

        Raises:
            ProviderNotAllowed(UNSUPPORTED_BY_NETWORK): empty text or longer than 4096 characters.
            ProviderNotAllowed(NOT_OPTED_IN / BLACKLISTED): the client never pressed Start / blocked the bot.
            ProviderNotFound: no chat with this id.
            ProviderDeliveryUnknown: the request was written and no answer came; not repeated.
        """
        if not idempotency_key:
            raise ValueError("an idempotency key is required")
        done = self._sent.get(idempotency_key)
        if done is not None:
            return SentMessage(done.message_id, done.sent_at, duplicate=True)
        if idempotency_key in self._unknown:
            raise ProviderDeliveryUnknown(self._unknown[idempotency_key], network=NETWORK)
        units = utf16_units(text)
        if not text.strip() or units > MAX_TEXT:
            raise ProviderNotAllowed(
                f"Telegram takes messages of 1 to {MAX_TEXT} characters; this one has {units}. Shorten it or "
                "send it as several messages (the bridge does not split Telegram messages: a split send "
                "could stop half-way with no safe way to finish it).",
                reason=NotAllowedReason.UNSUPPORTED_BY_NETWORK,
                network=NETWORK,
            )
        if not str(account_id).lstrip("-").isdigit():
            raise ProviderNotFound(
                f"{account_id!r} is not a Telegram chat id; a username cannot be used.", network=NETWORK
            )
        try:
            result = self._http.call("sendMessage", {"chat_id": int(account_id), "text": text})
        except OutcomeUnknown as exc:
            why = f"{exc} {UNKNOWN_HELP}"
            self._unknown[idempotency_key] = why
            self._refused.discard((str(account_id), text))
            raise ProviderDeliveryUnknown(why, network=NETWORK) from None
        except ProviderError:
            self._refused.add((str(account_id), text))  # refused, or surely never sent: nothing arrived
            raise
        sent = SentMessage(
            f"{result['chat']['id']}:{result['message_id']}",
            dt.datetime.fromtimestamp(int(result["date"]), dt.UTC),
        )
        self._sent[idempotency_key] = sent
        self._refused.discard((str(account_id), text))
        return sent

    def find_delivered(self, account_id: AccountId, text: str, not_before: dt.datetime) -> SentMessage | None:
        """None when this process saw the last attempt of `text` to `account_id` clearly fail.

        Raises:
            ProviderDeliveryUnknown: otherwise. Telegram cannot show a bot its chat, so an attempt this
                process did not see end (a crash, a restart) can never be checked: it is not repeated.
        """
        if (str(account_id), text) in self._refused:
            return None
        raise ProviderDeliveryUnknown(
            "An earlier attempt to send this message may have arrived. " + UNKNOWN_HELP, network=NETWORK
        )

    # --- reading ----------------------------------------------------------------------------------
    def poll_updates(self, offset: str | None, timeout: float) -> PollResult:
        """`getUpdates` from `offset` (the next update_id), held up to `timeout` s (at most 50).

        Passing the returned `next_offset` confirms everything before it to Telegram. A webhook makes
        Telegram refuse polling (409): with `take_over_webhook` the webhook is deleted (pending updates
        kept) and the poll repeated once; otherwise `ProviderConflict` is raised, as for a second poller.
        """
        return self._poll(offset, timeout, MAX_UPDATES)

    def _poll(self, offset: str | None, timeout: float, limit: int) -> PollResult:
        position, since = decode_offset(offset)
        wait = max(0, min(int(timeout), int(MAX_POLL_TIMEOUT)))
        params: dict[str, object] = {
            "limit": max(1, min(limit, MAX_UPDATES)),
            "timeout": wait,
            "allowed_updates": ALLOWED_UPDATES,
        }
        if position:
            params["offset"] = position
        try:
            updates = self._http.call("getUpdates", params, wait=wait)
        except ProviderConflict as exc:
            if not (exc.webhook and self.take_over_webhook):
                raise
            self._http.call("deleteWebhook", {"drop_pending_updates": False})
            updates = self._http.call("getUpdates", params, wait=wait)
        messages: list[NetworkMessage] = []
        events: list[BotEvent] = []
        last = position - 1 if position else None
        for update in updates or []:
            found = parse_update(update, since)
            if isinstance(found, NetworkMessage):
                messages.append(found)
            elif isinstance(found, BotEvent):
                events.append(found)
            update_id = int(update["update_id"])
            last = update_id if last is None else max(last, update_id)
        next_position = None if last is None else last + 1
        return PollResult(messages, events, encode_offset(next_position, since))

    def fetch_messages(self, cursor: str | None, limit: int) -> tuple[list[NetworkMessage], str | None]:
        """Messages from the update stream without waiting (events are consumed and dropped: a bridge that
        links clients by invitation reads with `poll_updates`, never both on one token)."""
        result = self._poll(cursor, 0, limit)  # one message per update at most: never more than `limit`
        return result.messages, result.next_offset

    def start_cursor(self, last_days: float | None) -> str:
        """No request: Telegram keeps undelivered updates for 24 h and offers no history, so the cursor
        only filters out what is older than `last_days` (0: only from now on)."""
        return encode_offset(None, since_for(last_days, self._now))
