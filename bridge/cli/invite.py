"""`invite`: an invitation link that links a client's Telegram or MAX account to a CRM record.

A bot cannot write first and cannot find a person by a profile link, so the way to reach a client there
is to send them this link (e-mail, SMS); pressing Start in it links their account to the record
(`bridge.services.invitations`, `bridge.services.bot_events`). The link works once and expires.
"""

from __future__ import annotations

import argparse

from bridge.cli.args import record_id
from bridge.cli.commands import connect
from bridge.config import Config
from bridge.exits import EXIT_OK, EXIT_USAGE, Failure
from bridge.services.invitations import InviteRefused


def cmd_invite(config: Config, args: argparse.Namespace) -> int:
    parts = connect(config)
    try:
        record = record_id(parts.crm, args.record_id, args.module)
        try:
            invitation = parts.inviter.invite(record, args.network)
        except InviteRefused as exc:
            raise Failure(EXIT_USAGE, str(exc)) from None
        print(invitation.link)
        print(
            f"Send this link to the client (e-mail, SMS). Pressing Start in it links their {args.network} "
            f"account to {record}. It works once, until {invitation.expires_at:%Y-%m-%d %H:%M} UTC."
        )
        return EXIT_OK
    finally:
        parts.close()
