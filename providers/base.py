"""The contract every network provider satisfies, and the value types they share.

The bridge only ever talks to a network through this Protocol; it never sees VK's `execute`,
X's OAuth signing or Facebook's PSIDs.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, NewType, Protocol, runtime_checkable

# A network account id as the network spells it: VK "12345", X "2244994945", Facebook PSID.
AccountId = NewType("AccountId", str)


@dataclass(frozen=True, slots=True)
class ProfileRef:
    """What a profile URL names, before it is resolved to an account id.

    `kind` is "id" when the URL carries the numeric/native id (`vk.com/id123`, a Facebook PSID) and
    "screen_name" when it carries a name the network must resolve (`vk.com/durov`, `x.com/jack`).
    `value` is normalised (lower-case screen names where the network is case-insensitive).
    """

    network: str
    kind: str  # "id" | "screen_name"
    value: str


@dataclass(frozen=True, slots=True)
class Birthday:
    """A birthday as far as the network knows it; `year` is None when hidden."""

    day: int
    month: int
    year: int | None = None

    def as_date(self) -> dt.date | None:
        """The full date when day, month and year are known and valid, else None."""
        if self.year is None:
            return None
        try:
            return dt.date(self.year, self.month, self.day)
        except ValueError:
            return None


@dataclass(frozen=True, slots=True)
class Profile:
    """A person's public profile; every field is None when the network did not provide it."""

    network: str
    account_id: AccountId
    first_name: str | None = None
    last_name: str | None = None
    full_name: str | None = None
    birthday: Birthday | None = None
    mobile_phone: str | None = None
    home_phone: str | None = None
    email: str | None = None
    city: str | None = None
    country: str | None = None
    website: str | None = None
    about: str | None = None
    photo_url: str | None = None
    screen_name: str | None = None
    profile_url: str | None = None
    # Deleted/banned/private accounts still return a shell; the bridge must not import from them.
    deactivated: str | None = None
    is_closed: bool = False


class Direction(StrEnum):
    IN = "in"  # the client wrote to us
    OUT = "out"  # we (or someone using our account outside the CRM) wrote to the client


@dataclass(frozen=True, slots=True)
class NetworkMessage:
    """One private message as the network stores it."""

    network: str
    message_id: str
    peer_id: AccountId
    direction: Direction
    text: str
    sent_at: dt.datetime  # timezone-aware, UTC
    attachments: tuple[str, ...] = ()
    # The idempotency key the message was sent with, when the network echoes it (VK random_id).
    random_id: int | None = None


@dataclass(frozen=True, slots=True)
class SentMessage:
    """What the network answered to a successful send."""

    message_id: str
    sent_at: dt.datetime  # timezone-aware, UTC
    # True when the network told us this key had already been delivered (no second delivery happened).
    duplicate: bool = False


@dataclass(frozen=True, slots=True)
class Capabilities:
    """What a network lets a business account do, stated honestly."""

    can_start_conversation: bool
    needs_prior_inbound: bool
    reply_window: dt.timedelta | None  # None = no window
    profile_fields: frozenset[str] = field(default_factory=frozenset)
    can_import_messages: bool = True
    max_text_length: int | None = None
    # False: the network keeps no idempotency key and the provider cannot look whether an earlier attempt
    # arrived (Telegram), so a send whose outcome is unknown must never be repeated automatically: it is
    # "delivery unknown" (`ProviderDeliveryUnknown`). True: repeating a send under the same key never
    # delivers twice (VK's random_id, or a provider that looks in the dialog first: Facebook, X, MAX).
    idempotent_sends: bool = True
    # False: no API turns a profile link into an account id (Telegram, MAX: only a deep link or the
    # person's first message does); `resolve` then refuses screen-name refs without a request.
    resolves_profile_links: bool = True
    # False: only messages that arrive while the bridge reads the update stream can be imported, never
    # older ones (the network keeps undelivered updates for a while, and a bot cannot list its dialogs).
    reads_history: bool = True


@runtime_checkable
class Provider(Protocol):
    """One social network, as the bridge sees it."""

    name: str
    capabilities: Capabilities

    def parse_profile_url(self, url: str) -> ProfileRef | None:
        """Return what `url` names, None for another network's URL.

        Raises:
            InvalidProfileUrl: the URL is on this network's hosts but names no person.
        """
        ...

    def profile_url(self, ref: ProfileRef) -> str:
        """The canonical https URL of `ref`; `parse_profile_url(profile_url(ref)) == ref`."""
        ...

    def resolve(self, refs: Iterable[ProfileRef]) -> dict[ProfileRef, AccountId]:
        """Resolve many refs in as few requests as the network allows; unknown refs are left out."""
        ...

    def fetch_profiles(self, account_ids: Iterable[AccountId]) -> dict[AccountId, Profile]:
        """Fetch many profiles in batches; unknown ids are left out."""
        ...

    def send_message(self, account_id: AccountId, text: str, idempotency_key: str) -> SentMessage:
        """Send a private message; the same `idempotency_key` never delivers twice."""
        ...

    def fetch_messages(self, cursor: str | None, limit: int) -> tuple[list[NetworkMessage], str | None]:
        """Up to `limit` messages not returned before `cursor`, oldest first, and the next cursor.

        Calling again with the returned cursor continues without skipping or repeating a message,
        however many arrived in between. `cursor=None` starts from the network's current newest
        messages (the first `limit`); the bridge instead starts from `start_cursor`.
        """
        ...

    def start_cursor(self, last_days: float | None) -> str:
        """A cursor from which `fetch_messages` returns every message created in the last `last_days`
        days by the network's clock (0: only messages from now on; None: every message the network still
        returns), for the first import of a network."""
        ...


class EventKind(StrEnum):
    """What a bot learns from its update stream besides messages."""

    STARTED = "started"  # the person pressed Start (Telegram `/start <payload>`, MAX `bot_started`)
    STOPPED = "stopped"  # blocked or stopped the bot (Telegram `my_chat_member` kicked, MAX `bot_stopped`)
    RESUMED = "resumed"  # unblocked without a Start payload (Telegram `my_chat_member` member)


@dataclass(frozen=True, slots=True)
class BotEvent:
    """One non-message update: who did what, with the deep-link payload when there is one.

    `profile` holds what the update itself says about the person (names, username), so linking a record
    needs no extra request. `update_id` is the network's id of the update, for deduplication.
    """

    network: str
    kind: EventKind
    account_id: AccountId
    at: dt.datetime  # timezone-aware, UTC
    update_id: str
    payload: str | None = None
    profile: Profile | None = None


@dataclass(frozen=True, slots=True)
class PollResult:
    """One read of a bot's update stream.

    `next_offset` is what to pass to the next `poll_updates` after `messages` and `events` are stored:
    passing it confirms them to the network (Telegram forgets updates below the offset, MAX commits
    everything before the marker), so storing first and then persisting it loses nothing, and a crash in
    between only repeats them (deduplicate on the message id / `update_id`).

    `missed` is True when the network said updates before this point may be gone (VK `failed: 1/3`, or a
    stream started without an offset): what was lost is only found by reading the history again (the
    scheduled import).
    """

    messages: list[NetworkMessage]
    events: list[BotEvent]
    next_offset: str | None
    missed: bool = False


@runtime_checkable
class LongPolling(Protocol):
    """A provider whose intake is a long-polled update stream (Telegram `getUpdates`, MAX `/updates`, VK
    Bots Long Poll for a community token)."""

    def poll_updates(self, offset: str | None, timeout: float) -> PollResult:
        """Updates after `offset` (None: the network's starting point), waiting up to `timeout` seconds
        for the first one; the answer comes as soon as there is something.

        Raises:
            ProviderConflict: another client takes this token's updates (a webhook, a second poller).
        """
        ...


class ProviderClass(Protocol):
    """What the registry (`providers.PROVIDERS`) holds: a Provider class that builds itself from settings."""

    def from_settings(self, settings: Mapping[str, Any]) -> Provider:
        """A provider from its network's settings: plain values by the configuration's key names (secrets
        revealed), with the limiter of the network's `rate.py` at `settings["rate_limit"]`."""
        ...


def ensure_aware(moment: dt.datetime) -> dt.datetime:
    """Refuse naive datetimes: every time that crosses the provider boundary is in UTC."""
    if moment.tzinfo is None:
        raise ValueError("naive datetime: provider times must be timezone-aware")
    return moment.astimezone(dt.UTC)


def first_present(mapping: Mapping[str, object], *keys: str) -> object | None:
    """The first non-empty value among `keys` (networks spread one fact over several names)."""
    for key in keys:
        value = mapping.get(key)
        if value not in (None, "", [], {}):
            return value
    return None
