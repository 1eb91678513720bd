"""Command line of the bridge: `python run_bridge.py <command>` (also the `vtiger-social-bridge` script).

Exit codes: 0 ok, 1 crash, 2 usage, 3 the CRM or a network refused us, 78 configuration error.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys

from bridge.app import EXIT_CONFIG, EXIT_CRASH, EXIT_STARTUP, EXIT_USAGE
from bridge.config import Config, ConfigError, load_config
from bridge.logs import configure
from bridge.store import StoreError

DEFAULT_CONFIG = os.environ.get("VSB_CONFIG", "config/config.yaml")
log = logging.getLogger("bridge")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="run_bridge.py",
        description="vtiger social bridge: connects a vtiger CRM to VK, X and Facebook.",
        epilog="Exit codes: 0 ok, 1 crash, 2 usage, 3 the CRM or a network refused us, 78 bad configuration.",
    )
    parser.add_argument(
        "-c", "--config", default=DEFAULT_CONFIG, help=f"YAML file (default {DEFAULT_CONFIG})"
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.add_parser("run", help="run the daemon (scheduler + webhook) until SIGTERM")
    sub.add_parser("check", help="check config, vtiger login, CRM schema and every network token")
    send = sub.add_parser("send", help="send a message to one record, or to every record a filter selects")
    send.add_argument("record_id", nargs="?", help="webservice id, e.g. 12x345")
    send.add_argument("--text", required=True)
    send.add_argument("--network", help="comma-separated subset of vk,x,facebook (default: every linked one)")
    send.add_argument("--where", help="filter, e.g. \"mailingcity = 'Омск' AND vk_url LIKE '%%vk%%'\"")
    send.add_argument("--module", default="Contacts", choices=["Contacts", "Accounts", "Leads"])
    send.add_argument("--yes", action="store_true", help="do not ask for confirmation above 50 records")
    imp = sub.add_parser("import-profile", help="fill one record's empty fields from its social profile")
    imp.add_argument("record_id")
    imp.add_argument("--url", help="use this profile link instead of the record's social fields")
    imp.add_argument("--dry-run", action="store_true", help="show what would be written, write nothing")
    back = sub.add_parser("backfill-profiles", help="import profiles for many records (resumable)")
    back.add_argument("--module", default="Contacts", choices=["Contacts", "Accounts", "Leads"])
    back.add_argument("--where", help="filter, as for send")
    back.add_argument("--dry-run", action="store_true")
    back.add_argument("--chunk", type=int, default=1000, help="records per batch (default 1000)")
    back.add_argument("--restart", action="store_true", help="start from the first record again")
    msgs = sub.add_parser("import-messages", help="import new messages now")
    msgs.add_argument("--network", choices=["vk", "x", "facebook"])
    sub.add_parser("status", help="outbox, recent failures, last imports")
    auth = sub.add_parser("auth", help="obtain a user token (OAuth 1.0a) for X")
    auth.add_argument("network", choices=["x"])
    auth.add_argument(
        "--write", action="store_true", help="write the token into the config file after confirmation"
    )
    sub.add_parser("plugin", help="where the vtiger-side files are and how to install them")
    demo = sub.add_parser("demo", help="a narrated scenario against built-in sandboxes (no CRM needed)")
    demo.add_argument("--quiet", action="store_true", help="print only the summary")
    return parser


def _load(path: str) -> Config:
    return load_config(path)


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:
        return int(exc.code or 0) and EXIT_USAGE
    if args.command is None:
        parser.print_help()
        return 0
    if args.command == "demo":
        from bridge.demo import run_demo

        return run_demo(quiet=args.quiet)
    if args.command == "plugin":
        from bridge.commands import cmd_plugin

        return cmd_plugin(None, args)
    if args.command == "send" and not args.record_id and not args.where:
        parser.error("send needs a RECORD_ID or --where")
    try:
        config = _load(args.config)
    except ConfigError as exc:
        print(f"configuration error: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    configure(config.logging.level, config.logging.format, config.logging.file, config.secrets())
    from bridge import commands

    handlers = {
        "run": commands.cmd_run,
        "check": commands.cmd_check,
        "send": commands.cmd_send,
        "import-profile": commands.cmd_import_profile,
        "backfill-profiles": commands.cmd_backfill,
        "import-messages": commands.cmd_import_messages,
        "status": commands.cmd_status,
        "auth": commands.cmd_auth,
    }
    try:
        return handlers[args.command](config, args)
    except StoreError as exc:  # a full or read-only disk: say so, no traceback
        print(f"error: the state file cannot be used: {exc}", file=sys.stderr)
        return EXIT_STARTUP
    except ValueError as exc:  # bad filter, bad record id: the user's input, said plainly
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        return EXIT_STARTUP
    except Exception:
        log.exception("%s failed", args.command)
        return EXIT_CRASH
