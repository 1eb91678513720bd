"""MAX (VK's national messenger, Bot API) behind `providers.base.Provider`, with long polling.

What a MAX bot may do, stated honestly (contracts/max-bot-api/README.md and the API description there):

* Bots exist only for verified Russian businesses, after moderation; the token goes in the
  `Authorization` header only.
* A bot cannot open a conversation: the client presses Start (`max.ru/<bot>?start=<payload>`, see
  `invitation_link`); sending to anyone else is `chat.denied`. A `max.ru/u/...` link cannot be turned
  into a user id by any API.
* No idempotency key, but the bot can read a dialog (`GET /messages?chat_id=`): a send whose outcome is
  unknown is looked for there before anything is sent again (`find_delivered`), so a retry with the same
  key never delivers twice. That needs the dialog's `chat_id`, which the provider learns from updates and
  from its own sends (`remember_dialog` lets the bridge seed it after a restart).
* Texts longer than 4000 characters are split at paragraph, line, sentence or word ends into at most
  `MAX_PARTS` messages (longer ones are refused with a reason). Splitting is safe here because every part
  can be checked in the dialog: a retry resumes at the first part that did not arrive.
* Intake is `GET /updates` with a persisted marker; MAX calls long polling "for development and testing"
  and gives nothing while a webhook subscription exists (checked before the first poll).

Reachability: `api_url` (default `https://platform-api2.max.ru`) and `ca_bundle`, a PEM file with the
Russian Trusted Root CA that MAX's certificate chain ends at; verification is never switched off.
"""

from __future__ import annotations

import datetime as dt
import re
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
    ensure_aware,
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
    split_text,
    utf16_units,
)
from providers.errors import (
    NotAllowedReason,
    ProviderConflict,
    ProviderDeliveryUnknown,
    ProviderNotAllowed,
    ProviderNotFound,
)
from providers.max.messages import UPDATE_TYPES, parse_update, when
from providers.max.profiles import PROFILE_FIELD_NAMES, to_profile
from providers.max.rate import default_limiter, rate_limiter
from providers.max.transport import MaxTransport
from providers.max.urls import NETWORK, max_profile_url, parse_max_url
from providers.ratelimit import Clock, RateLimiter, Sleep

MAX_TEXT = 4000  # NewMessageBody.text maxLength
MAX_PARTS = 10  # a longer CRM text is refused rather than sent as a flood of messages
MAX_POLL_TIMEOUT = 90.0
DIALOG_PAGE = 100  # GET /messages count maximum
CLOCK_SLACK = dt.timedelta(seconds=5)
PAYLOAD = re.compile(r"[A-Za-z0-9_-]{1,128}")  # dev.max.ru/help/deeplinks: up to 128 characters
NO_LOOKUP = (
    "MAX does not let a bot find a person by profile link; send the client the bot's invitation "
    "link: pressing Start links their dialog"
)


def _utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class MaxProvider(BotProviderBase):
    """One MAX bot (its token) as the bridge sees it.

    Args:
        token: the bot token from business.max.ru; sent only as the `Authorization` header.
        api_url: MAX Bot API base URL.
        ca_bundle: PEM file with the CA certificates to trust (MAX needs the Russian Trusted Root CA).
        proxy_url: optional proxy.
        take_over_webhook: delete webhook subscriptions before polling instead of raising ProviderConflict.
    """

    name = NETWORK
    no_lookup = NO_LOOKUP
    _http: MaxTransport

    def __init__(
        self,
        token: str,
        *,
        api_url: str = "https://platform-api2.max.ru",
        ca_bundle: str | None = None,
        proxy_url: str | None = None,
        take_over_webhook: bool = False,
        rate_limiter: RateLimiter | None = None,
        session: requests.Session | None = None,
        timeout: float = 10.0,
        clock: Clock = time.monotonic,
        sleep: Sleep = time.sleep,
        now: Callable[[], dt.datetime] = _utc_now,
    ) -> None:
        if not token or token != token.strip():
            raise ValueError("max: the bot token is required (business.max.ru → Чат-боты → Настройки)")
        limiter = rate_limiter or default_limiter(clock=clock, sleep=sleep)
        self._http = MaxTransport(
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
        self._bot: dict[str, Any] | None = None
        self._webhook_checked = False
        self._dialogs: dict[str, int] = {}  # user id -> chat id of their dialog with the bot
        self._people: dict[str, Profile] = {}  # names seen in updates
        self._parts: dict[str, list[SentMessage]] = {}  # key -> parts delivered so far
        self._pending: dict[str, dt.datetime] = {}  # key -> when its next part's unanswered attempt began
        self._resume: dict[tuple[str, str], list[SentMessage]] = {}  # found by find_delivered, for a resend
        self._claimed: set[str] = set()  # message ids returned for some key: never found for another
        self.capabilities = Capabilities(
            can_start_conversation=False,
            needs_prior_inbound=True,
            reply_window=None,
            profile_fields=PROFILE_FIELD_NAMES,
            can_import_messages=True,
            max_text_length=MAX_TEXT * MAX_PARTS,
            idempotent_sends=True,
            resolves_profile_links=False,
            reads_history=False,
        )

    @classmethod
    def from_settings(cls, settings: Mapping[str, Any]) -> MaxProvider:
        """A provider from its network's settings (token revealed): `token`, and what `bot_options` reads."""
        return cls(str(settings["token"]), **bot_options(settings, rate_limiter))

    # --- the bot ----------------------------------------------------------------------------------
    def bot_identity(self) -> tuple[str, str]:
        """(user id, username) of the bot behind the token (`GET /me`, asked once)."""
        if self._bot is None:
            self._bot = dict(self._http.call("GET", "/me", "GET /me"))
        return str(self._bot["user_id"]), str(self._bot.get("username") or "")

    def invitation_link(self, payload: str) -> str:
        """`https://max.ru/<bot>?start=<payload>`; pressing Start gives a STARTED event with `payload`."""
        if not PAYLOAD.fullmatch(payload):
            raise ValueError("a MAX start payload is 1-128 characters of A-Z, a-z, 0-9, _ and -")
        return f"https://max.ru/{self.bot_identity()[1]}?start={payload}"

    def remember_dialog(self, account_id: AccountId, chat_id: int) -> None:
        """The dialog of `account_id` (as stored by the bridge), so a restarted bridge can look into it."""
        self._dialogs[str(account_id)] = int(chat_id)

    def dialog_of(self, account_id: AccountId) -> int | None:
        return self._dialogs.get(str(account_id))

    # --- profile links ----------------------------------------------------------------------------
    def parse_profile_url(self, url: str) -> ProfileRef | None:
        return parse_max_url(url)

    def profile_url(self, ref: ProfileRef) -> str:
        return max_profile_url(ref)

    def fetch_profiles(self, account_ids: Iterable[AccountId]) -> dict[AccountId, Profile]:
        """`GET /chats/{chatId}` per known dialog, else what updates said; people never seen are left out."""
        profiles: dict[AccountId, Profile] = {}
        for account in dict.fromkeys(str(a) for a in account_ids):
            chat_id = self._dialogs.get(account)
            if chat_id is not None:
                try:
                    chat = self._http.call("GET", f"/chats/{chat_id}", "GET /chats/{chatId}")
                except (ProviderNotFound, ProviderNotAllowed):
                    chat = None
                user = chat.get("dialog_with_user") if isinstance(chat, dict) else None
                if isinstance(user, dict) and str(user.get("user_id")) == account:
                    self._people[account] = to_profile(user)
            if account in self._people:
                profiles[AccountId(account)] = self._people[account]
        return profiles

    # --- sending ----------------------------------------------------------------------------------
    def send_message(self, account_id: AccountId, text: str, idempotency_key: str) -> SentMessage:
        """Send `text` (split into parts above 4000 characters); a repeat of the key never delivers twice.

        A part whose earlier attempt got no answer is first looked for in the dialog. Returns the first
        part's message (`duplicate=True` when nothing new had to be sent).

        Raises:
            ProviderNotAllowed: empty or too long text; the client never started or stopped the bot.
            ProviderNotFound: unknown user.
            ProviderUnavailable: the outcome is unknown; a retry with the same key looks first.
            ProviderDeliveryUnknown: it is unknown and the dialog cannot be read (its id is not known).
        """
        if not idempotency_key:
            raise ValueError("an idempotency key is required")
        parts = self._parts_of(text)
        if not str(account_id).isdigit():
            raise ProviderNotFound(
                f"{account_id!r} is not a MAX user id; a profile link cannot be used.", network=NETWORK
            )
        done = self._parts.setdefault(idempotency_key, self._resume.pop((str(account_id), text), []))
        fresh = False
        while len(done) < len(parts):
            part = parts[len(done)]
            attempted = self._pending.get(idempotency_key)
            if attempted is not None:
                found = self._look_for(account_id, [part], attempted)
                if found:
                    done.append(found[0])
                    del self._pending[idempotency_key]
                    continue
            self._pending[idempotency_key] = attempted or self._now()
            try:
                answer = self._http.call(
                    "POST", "/messages", "POST /messages", params={"user_id": account_id}, body={"text": part}
                )
            except OutcomeUnknown:
                raise  # the attempt stays pending: the next call looks in the dialog first
            except Exception:
                del self._pending[idempotency_key]  # refused or surely unsent: nothing arrived
                raise
            done.append(self._sent_part(answer))  # an unreadable answer keeps the attempt pending
            del self._pending[idempotency_key]
            fresh = True
        first = done[0]
        return SentMessage(first.message_id, first.sent_at, duplicate=not fresh)

    def _parts_of(self, text: str) -> list[str]:
        parts = split_text(text, MAX_TEXT)
        if not parts or len(parts) > MAX_PARTS:
            raise ProviderNotAllowed(
                f"MAX takes messages of 1 to {MAX_TEXT} characters; the bridge splits longer texts into at "
                f"most {MAX_PARTS} messages, and this one has {utf16_units(text)} characters. Shorten it.",
                reason=NotAllowedReason.UNSUPPORTED_BY_NETWORK,
                network=NETWORK,
            )
        return parts

    def _sent_part(self, answer: Any) -> SentMessage:
        message = answer.get("message") if isinstance(answer, dict) else None
        if not isinstance(message, dict) or not isinstance(message.get("body"), dict):
            raise OutcomeUnknown(
                "MAX accepted the message but did not return it; it will be looked for before any retry.",
                network=NETWORK,
            )
        recipient = message.get("recipient") or {}
        if isinstance(recipient.get("chat_id"), int) and isinstance(recipient.get("user_id"), int):
            self._dialogs[str(recipient["user_id"])] = recipient["chat_id"]
        mid = str(message["body"]["mid"])
        self._claimed.add(mid)
        return SentMessage(mid, when(message.get("timestamp")))

    def find_delivered(self, account_id: AccountId, text: str, not_before: dt.datetime) -> SentMessage | None:
        """Our message with exactly `text` (every part of it) to `account_id` since `not_before`, or None.

        For a bridge that restarted after a send it cannot account for. When only the first parts are
        there, returns None and remembers them: the next `send_message` of `text` to this person sends only
        the rest.

        Raises:
            ProviderDeliveryUnknown: the dialog's id is not known (see `remember_dialog`), so it cannot look.
        """
        parts = self._parts_of(text)
        found = self._look_for(account_id, parts, ensure_aware(not_before))
        if len(found) == len(parts):
            self._resume.pop((str(account_id), text), None)
            return SentMessage(found[0].message_id, found[0].sent_at, duplicate=True)
        if found:
            self._resume[(str(account_id), text)] = found
        return None

    def _look_for(
        self, account_id: AccountId, parts: list[str], not_before: dt.datetime
    ) -> list[SentMessage]:
        """The longest prefix of `parts` the bot sent to `account_id` since `not_before`, oldest first."""
        chat_id = self._dialogs.get(str(account_id))
        if chat_id is None:
            raise ProviderDeliveryUnknown(
                "MAX cannot show the bot this client's dialog before it has seen the dialog's id, so the "
                "bridge cannot tell whether the earlier attempt arrived and does not send it again. Check "
                "the dialog, then send again if needed.",
                network=NETWORK,
            )
        answer = self._http.call(
            "GET", "/messages", "GET /messages", params={"chat_id": chat_id, "count": DIALOG_PAGE}
        )
        threshold = int((not_before - CLOCK_SLACK).timestamp() * 1000)
        ours = [
            m
            for m in reversed(answer.get("messages") or [])
            if isinstance(m, dict)
            and (m.get("sender") or {}).get("is_bot")
            and isinstance(m.get("body"), dict)
            and int(m.get("timestamp") or 0) >= threshold
            and str(m["body"].get("mid")) not in self._claimed
        ]
        found: list[SentMessage] = []
        for message in ours:
            if len(found) < len(parts) and message["body"].get("text") == parts[len(found)]:
                mid = str(message["body"]["mid"])
                found.append(SentMessage(mid, when(message.get("timestamp")), duplicate=True))
        self._claimed.update(sent.message_id for sent in found)
        return found

    # --- reading ----------------------------------------------------------------------------------
    def poll_updates(self, offset: str | None, timeout: float) -> PollResult:
        """`GET /updates` from the marker in `offset`, held up to `timeout` s (at most 90).

        Without a marker MAX returns only the latest update: keep the returned `next_offset`. Before the
        first poll the webhook subscriptions are checked (polling gets nothing while one exists).
        """
        return self._poll(offset, timeout, 100)

    def _poll(self, offset: str | None, timeout: float, limit: int) -> PollResult:
        position, since = decode_offset(offset)
        if not self._webhook_checked:
            self._check_webhook()
        wait = max(0, min(int(timeout), int(MAX_POLL_TIMEOUT)))
        answer = self._http.call(
            "GET",
            "/updates",
            "GET /updates",
            wait=wait,
            params={
                "limit": max(1, min(limit, 1000)),
                "timeout": wait,
                "marker": position,
                "types": ",".join(UPDATE_TYPES),
            },
        )
        messages: list[NetworkMessage] = []
        events: list[BotEvent] = []
        for update in answer.get("updates") or []:
            found = (
                parse_update(update, since, self._dialogs, self._people) if isinstance(update, dict) else None
            )
            if isinstance(found, NetworkMessage):
                messages.append(found)
            elif isinstance(found, BotEvent):
                events.append(found)
        marker = answer.get("marker")
        return PollResult(
            messages, events, encode_offset(marker if isinstance(marker, int) else position, since)
        )

    def _check_webhook(self) -> None:
        answer = self._http.call("GET", "/subscriptions", "GET /subscriptions")
        for subscription in answer.get("subscriptions") or []:
            if not self.take_over_webhook:
                raise ProviderConflict(
                    "A webhook subscription is set for this MAX bot, and MAX gives long "
                    "polling nothing while one exists. Remove it (or allow the bridge to "
                    "take over the webhook in its settings).",
                    webhook=True,
                    network=NETWORK,
                )
            self._http.call(
                "DELETE", "/subscriptions", "DELETE /subscriptions", params={"url": subscription.get("url")}
            )
        self._webhook_checked = True

    def fetch_messages(self, cursor: str | None, limit: int) -> tuple[list[NetworkMessage], str | None]:
        """Messages from the update stream without waiting (events are consumed and dropped)."""
        result = self._poll(cursor, 0, limit)
        return result.messages, result.next_offset

    def start_cursor(self, last_days: float | None) -> str:
        """No request: MAX offers no history through updates; the cursor filters what is older."""
        return encode_offset(None, since_for(last_days, self._now))
