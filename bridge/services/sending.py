"""Durable sends: outbox first, then each network with an idempotency key, then one CRM record.

Flow of one send (docs/architecture.md, "The path of a send"):
    request -> outbox row (durable) -> per network: attempt recorded -> provider send -> result stored
            -> one messages-module record (`bridge.services.send_record`) -> link
            -> a comment on the client record for every network that failed -> done.
Every step is persisted before the next one starts, so a restart after a crash at any line resumes
where it stopped: VK dedupes by `random_id`; X and Facebook are asked whether the message was
already delivered before a second try; where a crash may have left a CRM record behind (a create
started and never answered, a send carried over from an earlier process), the CRM is searched by
network message id (or, for a send that delivered nothing, by its exact datetime and text) before a
record is created.

A delivered message enters the ledger as this send's (`bridge.store.ledger`): one writer per message. If an
import saw it first, the send adopts the import's CRM record (completes its statuses, links it) instead of
creating one. An answer that names a message the bridge did not write for this send (the ledger holds it
for another send or person, or VK says so) is never marked delivered: VK gets a new key and one more try,
other networks a readable failure.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from bridge.crm import Crm
from bridge.services.owners import OwnerCache
from bridge.services.retry import backoff_delay, resend_is_safe
from bridge.services.send_record import SendRecorder
from bridge.store import (
    ForeignMessageError,
    Ledger,
    Outbox,
    OutboxSend,
    OutboxTarget,
    SendTarget,
)
from providers.base import AccountId, Provider, SentMessage
from providers.errors import (
    InvalidProfileUrl,
    ProviderAuthError,
    ProviderError,
    ProviderKeyReused,
    ProviderNotAllowed,
    ProviderRateLimited,
)

log = logging.getLogger(__name__)

Now = Callable[[], dt.datetime]
# (network, None) after a delivery, (network, error) after a failure: health and metrics listen here.
Observer = Callable[[str, ProviderError | None], None]
KEY_REUSED = "KEY_REUSED"  # a target's key named someone else's message: sent again under a new key
FOREIGN_MESSAGE = "FOREIGN_MESSAGE"  # the answer named a message the bridge did not write for this send


class SendRefused(ValueError):
    """A send request that cannot be queued; nothing was written."""


@dataclass(frozen=True)
class SendRequest:
    record_id: str
    text: str
    networks: tuple[str, ...] | None = None  # None = every social URL field that has a value
    event_id: str | None = None
    requested_by: str = "cli"


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class Sender:
    """Queues and delivers sends; every collaborator is injected so tests wire sandboxes."""

    # Called after each send is queued, so whoever works the outbox (`bridge.services.outbox_workers`) starts
    # on it at once instead of at its next look at the state file.
    on_queued: Callable[[], None] | None = None

    def __init__(
        self,
        crm: Crm,
        providers: Mapping[str, Provider],
        outbox: Outbox,
        ledger: Ledger,
        *,
        api_user_id: str | None = None,
        now: Now = utcnow,
        lease_seconds: float = 300.0,
        observer: Observer | None = None,
    ) -> None:
        self.crm = crm
        self.providers = dict(providers)
        self.outbox = outbox
        self.ledger = ledger
        self.now = now
        self.lease_seconds = lease_seconds
        self.observer = observer
        # The client's owner, from the record read when a send is queued (bridge/services/owners.py).
        self.owners = OwnerCache(crm)
        self.recorder = SendRecorder(
            crm, outbox, ledger, self.owners, carried_over=outbox.newest_id(), api_user_id=api_user_id
        )

    # --- queueing --------------------------------------------------------------------------------
    def targets_for(
        self, record_id: str, networks: Sequence[str] | None, record: Mapping[str, object] | None = None
    ) -> tuple[str, list[SendTarget]]:
        """The record's module and the send targets for it (reads the record once, unless given).

        Raises:
            SendRefused: unknown record, unusable URL, no social URL field with a value.
        """
        if networks:
            unknown = [n for n in networks if n not in self.providers]
            if unknown:
                raise SendRefused(f"record {record_id}: unknown or disabled network(s): {', '.join(unknown)}")
        try:
            module = self.crm.module_of(record_id)
        except ValueError as exc:
            raise SendRefused(str(exc)) from None
        if record is None:
            record = self.crm.record(record_id)
        self.owners.remember(record_id, self.crm.owner_in(record))
        urls = self.crm.social_urls(module, record)
        wanted = list(networks) if networks else list(self.providers)
        targets: list[SendTarget] = []
        for network in wanted:
            if network not in urls:
                continue
            field_name, url = urls[network]
            try:
                ref = self.providers[network].parse_profile_url(url)
            except InvalidProfileUrl as exc:
                raise SendRefused(f"record {record_id}, field {field_name}: {exc}") from None
            if ref is None:
                raise SendRefused(f"record {record_id}, field {field_name}: {url!r} is not a {network} link")
            account = ref.value if ref.kind in ("id", "psid") else None
            targets.append(SendTarget(network=network, field=field_name, url=url, account_id=account))
        if not targets:
            fields = self.crm.url_field_names_of(module)
            names = [fields[n] for n in wanted if n in fields] or list(fields.values())
            raise SendRefused(
                f"record {record_id} ({module}) has no social link to send to: "
                f"{', '.join(names) or 'no social URL field'} empty"
            )
        return module, targets

    def enqueue(self, request: SendRequest, *, record: Mapping[str, object] | None = None) -> int:
        """Validate the request against the record (`record`: as just read, else read now) and write it to
        the outbox; returns the outbox id.

        Raises:
            SendRefused: empty text, unknown record, no usable social URL field, unknown network.
        """
        if not request.text or not request.text.strip():
            raise SendRefused(f"record {request.record_id}: the message text is empty")
        module, targets = self.targets_for(request.record_id, request.networks, record)
        outbox_id = self.outbox.enqueue_send(
            record_id=request.record_id,
            module=module,
            text=request.text,
            targets=targets,
            event_id=request.event_id,
            requested_by=request.requested_by,
        )
        if self.on_queued is not None:
            self.on_queued()
        return outbox_id

    # --- delivering ------------------------------------------------------------------------------
    def process_due(self, limit: int = 20) -> int:
        """Work through due sends; returns how many finished. Safe to call from several threads."""
        finished = 0
        first_error: Exception | None = None
        for send in self.outbox.claim_due_sends(self.now(), limit, self.lease_seconds):
            try:
                if self.process(send):
                    finished += 1
            except Exception as exc:  # e.g. the CRM is down: this send waits, the others still get their turn
                log.warning("send %s could not be completed now: %s", send.id, exc)
                first_error = first_error or exc
            finally:
                if send.lease_token:
                    self.outbox.release(send.id, send.lease_token)
        if first_error is not None:
            raise first_error  # the job reports it (health shows the outage)
        return finished

    def deliver_to(self, send: OutboxSend, network: str) -> None:
        """Deliver a claimed send's `network` target if it is due (one step of that network's lane in
        `bridge.services.outbox_workers`; `process` writes the CRM record once every target is finished)."""
        target = send.target(network)
        if target.finished or (target.next_attempt_at and target.next_attempt_at > self.now()):
            return
        self._deliver(send, target)

    def process(self, send: OutboxSend) -> bool:
        """Advance one claimed send as far as it can go; True when it is done."""
        waiting = False
        for target in send.targets:
            if target.finished:
                continue
            if target.next_attempt_at and target.next_attempt_at > self.now():
                waiting = True
                continue
            if not self._deliver(send, target):
                waiting = True
        if waiting:
            return False
        fresh = self.outbox.get_send(send.id)
        assert fresh is not None
        return self.recorder.record(fresh)

    def _deliver(self, send: OutboxSend, target: OutboxTarget) -> bool:
        """Send to one network; False when a transient failure leaves it for a later attempt."""
        outbox, network = self.outbox, target.network
        provider = self.providers.get(network)
        if provider is None:
            outbox.mark_target_failed(send.id, network, "DISABLED", f"the {network} connection is disabled")
            return True
        try:
            # The attempt is on record before any network call (resolving included), so a crash from
            # here on is seen at restart as "may have been delivered".
            outbox.mark_target_sending(send.id, network)
            account = AccountId(target.account_id) if target.account_id else self._resolve(provider, target)
            if account is None:
                outbox.mark_target_failed(
                    send.id, network, "NOT_FOUND", f"no {network} account behind {target.url}"
                )
                return True
            if target.attempts > 0 and not resend_is_safe(provider, target):
                # An earlier attempt died mid-call or got no clear answer (503, dropped connection):
                # it may have delivered. Telegram cannot look: it answers "delivery unknown", final.
                found = self._already_delivered(provider, account, send, target)
                if found is not None:
                    return self._delivered(send, target, account, found, answered=False)
            sent = provider.send_message(account, send.text, target.idempotency_key)
        except ProviderKeyReused as exc:
            return self._foreign(send, target, str(exc), new_key=True)
        except ProviderError as exc:
            return self._failed(send, target, exc)
        return self._delivered(send, target, account, sent, answered=True)

    def _delivered(
        self, send: OutboxSend, target: OutboxTarget, account: AccountId, sent: SentMessage, *, answered: bool
    ) -> bool:
        """Mark the target sent; `answered`: the message id is the network's answer to this send."""
        try:
            self.outbox.mark_target_sent(send.id, target.network, sent.message_id, peer=str(account))
        except ForeignMessageError as exc:
            # A send answered with someone else's message can only be a repeated key (VK's random_id); a
            # message found by looking for it (`duplicate`: the provider looked) proves nothing of the kind.
            return self._foreign(send, target, str(exc), new_key=answered and not sent.duplicate)
        if answered:
            log.info(
                "send %s to %s delivered on %s (message %s)",
                send.id,
                send.record_id,
                target.network,
                sent.message_id,
            )
            if self.observer is not None:
                self.observer(target.network, None)
        return True

    def _foreign(self, send: OutboxSend, target: OutboxTarget, reason: str, *, new_key: bool) -> bool:
        """The network named a message the bridge did not write for this send: never mark it delivered."""
        network = target.network
        if new_key and target.error_code != KEY_REUSED:
            # Under that key the network keeps the other message and delivered nothing for this send, so a
            # new key cannot deliver twice. Once only: a second such answer is not a coincidence.
            log.warning("send %s to %s: %s; sending again under a new key", send.id, network, reason)
            self.outbox.renew_target_key(send.id, network, KEY_REUSED, reason)
            fresh = self.outbox.get_send(send.id)
            assert fresh is not None
            return self._deliver(fresh, fresh.target(network))
        if new_key:  # the network keeps the other message under this key: nothing went out for this send
            text = f"{reason}. The message was not delivered; send it again"
        else:
            text = f"{reason}. The send is not marked as delivered: check the conversation, then send again"
        self.outbox.mark_target_failed(send.id, network, FOREIGN_MESSAGE, text)
        log.warning("send %s to %s failed: %s", send.id, network, text)
        return True

    def _failed(self, send: OutboxSend, target: OutboxTarget, exc: ProviderError) -> bool:
        network = target.network
        if self.observer is not None:
            self.observer(network, exc)
        # A rejected token is fixed by the administrator, not by the client: keep the send waiting.
        if exc.transient or isinstance(exc, ProviderAuthError):
            delay = backoff_delay(target.attempts + 1)
            if isinstance(exc, ProviderRateLimited) and exc.retry_after:
                delay = max(delay, dt.timedelta(seconds=exc.retry_after))
            at = self.now() + delay
            self.outbox.mark_target_retry(send.id, network, at, type(exc).__name__, str(exc))
            log.warning("send %s to %s will be retried at %s: %s", send.id, network, at.isoformat(), exc)
            return False
        code = str(exc.reason) if isinstance(exc, ProviderNotAllowed) else type(exc).__name__
        self.outbox.mark_target_failed(send.id, network, code, str(exc))
        log.info("send %s to %s failed for good (%s): %s", send.id, network, code, exc)
        return True

    def _resolve(self, provider: Provider, target: OutboxTarget) -> AccountId | None:
        ref = provider.parse_profile_url(target.url)
        if ref is None:
            return None
        account = provider.resolve([ref]).get(ref)
        if account is not None:
            self.outbox.set_target_account(target.outbox_id, target.network, account)
        return account

    def _already_delivered(
        self, provider: Provider, account: AccountId, send: OutboxSend, target: OutboxTarget
    ) -> SentMessage | None:
        finder: Callable[..., SentMessage | None] | None = getattr(provider, "find_delivered", None)
        if finder is None:
            return None  # VK: the same random_id makes the resend itself harmless
        since = target.last_attempt_at or send.created_at
        return finder(account, send.text, since - dt.timedelta(minutes=1))
