"""Command line of the bridge: `vtiger-social-bridge <command>` (or `python run_bridge.py <command>`).

Exit codes are in `bridge.exits` (and the README). A mistake a user can make ends in one line on
standard error and its exit code, never a traceback; a traceback means a bug (exit 1).
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Callable

from bridge.config import Config, ConfigError, load_config
from bridge.config.schema import BOT_NETWORKS, NETWORKS
from bridge.crm import CLIENT_MODULES
from bridge.daemon.explain import cannot_write, explain
from bridge.daemon.logs import configure
from bridge.exits import (
    EXIT_CONFIG,
    EXIT_CRASH,
    EXIT_OK,
    EXIT_USAGE,
    TABLE,
    Failure,
)

DEFAULT_CONFIG = os.environ.get("VSB_CONFIG", "config/config.yaml")
# `auth x` obtains these: they may still be empty or the example's placeholders while it runs.
AUTH_PENDING = frozenset({("networks", "x", "access_token"), ("networks", "x", "access_token_secret")})
MODULES = list(CLIENT_MODULES)
log = logging.getLogger("bridge")


def version() -> str:
    from importlib.metadata import PackageNotFoundError
    from importlib.metadata import version as installed

    try:
        return installed("vtiger-social-bridge")
    except PackageNotFoundError:  # a checkout run without installing
        return "unknown (not installed)"


def build_parser() -> argparse.ArgumentParser:
    codes = ", ".join(f"{code} {meaning.split(';')[0].split(':')[0]}" for code, meaning in TABLE)
    parser = argparse.ArgumentParser(
        description="vtiger social bridge: connects a vtiger CRM to VK, X, Facebook, Telegram and MAX.",
        epilog=f"Exit codes: {codes}.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {version()}")
    parser.add_argument(
        "-c", "--config", default=DEFAULT_CONFIG, help=f"YAML file (default {DEFAULT_CONFIG}, or $VSB_CONFIG)"
    )
    # `-c` is accepted after the command too; SUPPRESS keeps an absent one from hiding the one given before.
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("-c", "--config", default=argparse.SUPPRESS, help="YAML file")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    def command(name: str, help_text: str) -> argparse.ArgumentParser:
        return sub.add_parser(name, help=help_text, parents=[common], description=help_text)

    command("run", "run the daemon (scheduler + webhook) until SIGTERM; SIGHUP reloads the configuration")
    command("check", "check config, vtiger login, CRM schema and every network token")
    send = command("send", "send a message to one record, or to every record a filter selects")
    send.add_argument("record_id", nargs="?", help="webservice id (12x345), or record= number with --module")
    send.add_argument("--text", required=True)
    send.add_argument(
        "--network", help=f"comma-separated subset of {','.join(NETWORKS)} (default: every linked one)"
    )
    send.add_argument("--where", help="filter, e.g. \"mailingcity = 'Омск' AND vk_url LIKE '%%vk%%'\"")
    send.add_argument("--module", choices=MODULES, help="module of --where (default Contacts) or of a number")
    send.add_argument("--yes", action="store_true", help="do not ask for confirmation above 50 records")
    imp = command("import-profile", "fill one record's empty fields from its social profile")
    imp.add_argument("record_id", help="webservice id (12x345), or a record= number with --module")
    imp.add_argument("--module", choices=MODULES, help="module of a bare record number")
    imp.add_argument("--url", help="use this profile link instead of the record's social fields")
    imp.add_argument("--dry-run", action="store_true", help="show what would be written, write nothing")
    back = command("backfill-profiles", "import profiles for many records (resumable)")
    back.add_argument("--module", default="Contacts", choices=MODULES)
    back.add_argument("--where", help="filter, as for send")
    back.add_argument("--dry-run", action="store_true")
    back.add_argument(
        "--chunk", type=int, default=5000, help="records per batch: profiles fetched together (default 5000)"
    )
    back.add_argument("--restart", action="store_true", help="start from the first record again")
    msgs = command("import-messages", "import new messages now")
    msgs.add_argument("--network", choices=list(NETWORKS))
    invite = command("invite", "an invitation link that links a client's Telegram or MAX account to a record")
    invite.add_argument("record_id", help="webservice id (12x345), or a record= number with --module")
    invite.add_argument("--module", choices=MODULES, help="module of a bare record number")
    invite.add_argument("--network", required=True, choices=list(BOT_NETWORKS))
    command("status", "is the daemon running and healthy; outbox, recent failures, last imports")
    command("health", "ask the running daemon how it is (exit 0 healthy or degraded, 69 not answering)")
    auth = command("auth", "obtain a user token (OAuth 1.0a) for X")
    auth.add_argument("network", choices=["x"])
    auth.add_argument(
        "--write", action="store_true", help="write the token into the config file after confirmation"
    )
    command("plugin", "where the vtiger-side files and the example configuration are, and how to install")
    zip_cmd = command("module-zip", "build the vtiger module package to import in Settings, Module Manager")
    zip_cmd.add_argument(
        "-o", "--output", help="zip file or folder to write (default: SocialBridge-VERSION.zip here)"
    )
    demo = command("demo", "a narrated scenario against built-in sandboxes (no CRM needed)")
    demo.add_argument("--quiet", action="store_true", help="print only the summary")
    return parser


def _handlers() -> dict[str, Callable[[Config, argparse.Namespace], int]]:
    from bridge.cli import auth, commands, invite, records, status

    return {
        "run": commands.cmd_run,
        "check": commands.cmd_check,
        "send": records.cmd_send,
        "import-profile": records.cmd_import_profile,
        "backfill-profiles": records.cmd_backfill,
        "import-messages": commands.cmd_import_messages,
        "invite": invite.cmd_invite,
        "status": status.cmd_status,
        "health": status.cmd_health,
        "auth": auth.cmd_auth,
    }


def _module_zip(output: str | None) -> int:
    from pathlib import Path

    from bridge.cli.module_zip import build, default_name

    target = Path(output or default_name())
    if target.is_dir():
        target = target / default_name()
    try:
        build(target)
    except OSError as exc:
        reason = exc.strerror or exc
        return _fail(f"cannot write the module zip {target}: {reason}; choose another -o", EXIT_CONFIG)
    print(f"{target}: import it in vtiger under Settings, Module Manager, Import module from zip")
    return EXIT_OK


def _fail(line: str, code: int) -> int:
    print(f"error: {line}", file=sys.stderr)
    return code


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
        if args.command == "send" and not args.record_id and not args.where:
            parser.error("send needs a RECORD_ID or --where")
    except SystemExit as exc:  # --help and --version exit 0, mistakes 2
        return int(exc.code or 0) and EXIT_USAGE
    if args.command is None:
        parser.print_help()
        return EXIT_OK
    if args.command == "demo":
        from bridge.cli.demo import run_demo

        return run_demo(quiet=args.quiet)
    if args.command == "plugin":
        from bridge.cli.commands import cmd_plugin

        return cmd_plugin(None, args)
    if args.command == "module-zip":
        return _module_zip(args.output)
    try:
        config = load_config(args.config, optional=AUTH_PENDING if args.command == "auth" else frozenset())
    except ConfigError as exc:
        return _fail(f"configuration error: {exc}", EXIT_CONFIG)
    level = config.logging.level
    if args.command != "run" and level == "INFO" and not config.logging.file and sys.stderr.isatty():
        level = "WARNING"  # on a terminal the command's own output says what happened, log lines clutter it
    try:
        configure(level, config.logging.format, config.logging.file, config.secrets())
    except OSError as exc:
        failure = cannot_write("log file", config.logging.file, "logging.file", exc)
        return _fail(failure.line, failure.code)
    from bridge.config.env import unknown_env

    for warning in unknown_env(os.environ):
        log.warning("%s", warning)
    try:
        return _handlers()[args.command](config, args)
    except Failure as failure:
        return _fail(failure.line, failure.code)
    except ValueError as exc:  # bad filter, bad record id: the user's input, said plainly
        return _fail(str(exc), EXIT_USAGE)
    except KeyboardInterrupt:
        print(file=sys.stderr)
        return 130  # the shell's code for a command ended by Ctrl-C
    except Exception as exc:
        explained = explain(exc, config)
        if explained is not None:
            return _fail(explained.line, explained.code)
        log.exception("%s failed (a bug: please report it with this log)", args.command)
        return EXIT_CRASH
