"""Invitation links: how a CRM record gets a Telegram or MAX account, since no bot can find a person.

A bot cannot open a conversation and no API turns a profile link into a user id, so the bridge issues, for
one Contact, Account or Lead and one network, a deep link (`t.me/<bot>?start=<token>`,
`max.ru/<bot>?start=<token>`) that an administrator or a workflow sends to the client by e-mail or SMS.
When the client presses Start there, `bridge.services.bot_events` links that account to the record.

The token is 32 characters from `secrets.token_urlsafe` (192 random bits): unguessable, it says nothing of
the record, works once, and expires (`networks.<n>.invitation_days`). Only its hash is stored
(`bridge.store.invitations`).
"""

from __future__ import annotations

import datetime as dt
import logging
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from bridge.crm import CLIENT_MODULES, Crm
from bridge.store import Invitations
from providers.base import Provider

log = logging.getLogger(__name__)

TOKEN_BYTES = 24  # token_urlsafe: 32 characters of A-Za-z0-9_-, within both networks' payload limits
DEFAULT_VALID_FOR = dt.timedelta(days=3)


class InviteRefused(ValueError):
    """An invitation that cannot be issued; the message says why and what to do. Nothing was stored."""


@dataclass(frozen=True, slots=True)
class Invitation:
    network: str
    record_id: str
    link: str
    expires_at: dt.datetime


def _utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class Inviter:
    """Issues invitation links; collaborators injected."""

    def __init__(
        self,
        crm: Crm,
        providers: Mapping[str, Provider],
        invitations: Invitations,
        *,
        valid_for: Mapping[str, dt.timedelta] | None = None,
        now: Callable[[], dt.datetime] = _utc_now,
    ) -> None:
        self.crm = crm
        self.providers = providers  # shared: a renewed token's provider replaces the entry
        self.invitations = invitations
        self.valid_for = dict(valid_for or {})
        self.now = now

    def invite(self, record_id: str, network: str) -> Invitation:
        """A new single-use link for `record_id` on `network`.

        Raises:
            InviteRefused: the network is not an enabled bot, the record is not a client record the bridge
                can see, or its module has no field for the network's account.
            ValueError: `record_id` is not a webservice id.
            ProviderError: the bot's name could not be read (wrong token, API unreachable).
        """
        provider = self.providers.get(network)
        if provider is None:
            raise InviteRefused(
                f"{network} is not enabled in the bridge's configuration (networks.{network})"
            )
        link_of: Callable[[str], str] | None = getattr(provider, "invitation_link", None)
        if link_of is None:
            raise InviteRefused(
                f"{network} has no invitation links: its clients are found by the profile link in the CRM"
            )
        module = self.crm.module_of(record_id)
        if module not in CLIENT_MODULES:
            raise InviteRefused(f"{record_id} is a {module} record; invite a Contact, an Account or a Lead")
        if network not in self.crm.url_field_names_of(module):
            raise InviteRefused(
                f"{module} has no field for the {network} account the invitation would link; install or "
                "update the SocialBridge module in vtiger (it adds tg_url and max_url)"
            )
        if self.crm.read_record(record_id) is None:
            raise InviteRefused(
                f"record {record_id} was not found (deleted, or not visible to the bridge's CRM user)"
            )
        token = secrets.token_urlsafe(TOKEN_BYTES)
        link = link_of(token)  # before storing: a bot that cannot be reached leaves no unused token
        expires_at = self.now() + self.valid_for.get(network, DEFAULT_VALID_FOR)
        self.invitations.issue(network, record_id, token, expires_at)
        log.info("%s invitation issued for %s, valid until %s", network, record_id, expires_at.isoformat())
        return Invitation(network, record_id, link, expires_at)
