"""The bodies of the command-line commands (argument parsing lives in `bridge.cli`)."""

from __future__ import annotations

import argparse
import itertools
import logging
import sys
from collections.abc import Callable
from pathlib import Path

from bridge.app import EXIT_OK, EXIT_STARTUP, App
from bridge.config import Config
from bridge.crm import CrmSchemaError
from bridge.filters import parse_where
from bridge.sending import SendRefused, SendRequest
from bridge.wiring import Parts, build, set_api_user
from providers.errors import ProviderAuthError, ProviderError
from vtiger_ws import VtigerError, vtql

log = logging.getLogger(__name__)

CONFIRM_ABOVE = 50
PLUGIN_DIR = Path(__file__).resolve().parent.parent / "vtiger_plugin"


def _connect(config: Config) -> Parts:
    """Wire the parts and check the CRM the way the daemon does (login + schema)."""
    parts = build(config)
    info = parts.client.login()
    set_api_user(parts, info.user_id)
    parts.crm.check_schema(list(parts.providers))
    parts.crm.bmp_only = parts.store.kv_get(f"crm.supports_4byte_utf8.{config.vtiger.url}") is not True
    return parts


def cmd_run(config: Config, args: argparse.Namespace) -> int:
    return App(config).run()


def cmd_check(config: Config, args: argparse.Namespace) -> int:
    rows: list[tuple[str, str, str]] = [("config", "ok", config.source)]
    parts = build(config)
    failed = False
    try:
        try:
            info = parts.client.login()
            rows.append(("vtiger login", "ok", f"user {info.user_id}, vtiger {info.vtiger_version}"))
            report = parts.crm.check_schema(list(parts.providers))
            rows.append(("CRM schema", "ok", "; ".join(report.warnings) or "every mapped field exists"))
        except CrmSchemaError as exc:
            failed = True
            rows.append(("CRM schema", "FAILED", "; ".join(exc.problems)))
        except VtigerError as exc:
            failed = True
            rows.append(("vtiger login", "FAILED", str(exc)))
        for network, provider in parts.providers.items():
            try:
                provider.fetch_messages(parts.store.get_cursor(network), 1)
                rows.append((f"{network} token", "ok", "accepted"))
            except ProviderAuthError as exc:
                failed = True
                rows.append((f"{network} token", "FAILED", str(exc)))
            except ProviderError as exc:
                failed = True
                rows.append((f"{network} token", "FAILED", f"{type(exc).__name__}: {exc}"))
    finally:
        parts.close()
    width = max(len(r[0]) for r in rows)
    for name, state, detail in rows:
        print(f"{name:<{width}}  {state:<6}  {detail}")
    return EXIT_STARTUP if failed else EXIT_OK


def _record_ids(parts: Parts, args: argparse.Namespace) -> list[str]:
    if args.record_id:
        return [args.record_id]
    where = parse_where(args.where)
    return [str(r["id"]) for r in parts.client.query_iter(args.module, fields=["id"], where=where)]


def cmd_send(config: Config, args: argparse.Namespace, *, ask: Callable[[str], str] = input) -> int:
    networks = tuple(n.strip() for n in args.network.split(",")) if args.network else None
    parts = _connect(config)
    try:
        records = _record_ids(parts, args)
        if not records:
            print("no record matches")
            return EXIT_OK
        if len(records) > CONFIRM_ABOVE and not args.yes:
            answer = ask(f"Send this message to {len(records)} records (one message record each)? [y/N] ")
            if answer.strip().lower() not in ("y", "yes"):
                print("nothing sent")
                return EXIT_OK
        refused = 0
        for record_id in records:
            try:
                outbox_id = parts.sender.enqueue(
                    SendRequest(record_id, args.text, networks, requested_by="cli")
                )
                print(f"{record_id}: queued as send {outbox_id}")
            except SendRefused as exc:
                refused += 1
                print(f"{record_id}: refused: {exc}")
        while parts.sender.process_due(limit=50):
            pass
        for send in parts.store.list_sends("all", limit=len(records)):
            states = ", ".join(
                f"{t.network}: {t.state}" + (f" ({t.error_text})" if t.error_text else "")
                for t in send.targets
            )
            print(f"send {send.id} to {send.record_id}: {states}")
        return EXIT_STARTUP if refused == len(records) else EXIT_OK
    finally:
        parts.close()


def cmd_import_profile(config: Config, args: argparse.Namespace) -> int:
    parts = _connect(config)
    try:
        report = parts.profiles.import_record(args.record_id, url=args.url, dry_run=args.dry_run)
    finally:
        parts.close()
    verb = "would write" if args.dry_run else "wrote"
    for field, value in report.written.items():
        print(f"{verb} {field} = {value}")
    if not report.written:
        print("no field written" + (" (nothing empty to fill)" if report.skipped_filled else ""))
    for field in report.skipped_filled:
        print(f"kept {field} (already filled in the CRM)")
    for error in report.errors:
        print(f"error: {error}")
    return EXIT_STARTUP if report.errors and not report.written else EXIT_OK


def cmd_backfill(config: Config, args: argparse.Namespace) -> int:
    """Profiles for many records, in chunks; the last finished id is kept so a rerun resumes."""
    parts = _connect(config)
    key = f"backfill.{args.module}.{args.where or ''}"
    try:
        last = None if args.restart else parts.store.kv_get(key)
        base = parse_where(args.where) if args.where else None
        done = written = 0
        while True:
            where = base
            if last:
                where = vtql.and_(vtql.gt("id", last), base) if base else vtql.gt("id", last)
            ids = [
                r["id"]
                for r in itertools.islice(
                    parts.client.query_iter(args.module, fields=["id"], where=where), args.chunk
                )
            ]
            if not ids:
                break
            chunk_where = (
                vtql.in_("id", ids[:100])
                if len(ids) <= 100
                else vtql.and_(vtql.ge("id", ids[0]), vtql.le("id", ids[-1]))
            )
            reports = parts.profiles.import_batch(
                args.module, where=vtql.and_(chunk_where, base) if base else chunk_where, dry_run=args.dry_run
            )
            done += len(reports)
            written += sum(1 for r in reports if r.written)
            last = ids[-1]
            if not args.dry_run:
                parts.store.kv_set(key, last)
            print(f"\r{done} records, {written} with fields filled", end="", flush=True)
        print()
        if not args.dry_run:
            parts.store.kv_delete(key)
        return EXIT_OK
    finally:
        parts.close()


def cmd_import_messages(config: Config, args: argparse.Namespace) -> int:
    parts = _connect(config)
    try:
        parts.index.refresh()
        networks = [args.network] if args.network else list(parts.importers)
        for network in networks:
            if network not in parts.importers:
                print(f"{network} is not enabled", file=sys.stderr)
                return EXIT_STARTUP
            report = parts.importers[network].run(network)
            print(
                f"{network}: {report.fetched} fetched, {report.created} recorded, "
                f"{report.already_known} already in the CRM, {report.unknown_sender} from unknown senders"
            )
        return EXIT_OK
    finally:
        parts.close()


def cmd_status(config: Config, args: argparse.Namespace) -> int:
    from bridge.store import Store

    with Store(config.state.path) as store:
        print(f"outbox: {store.outbox_depth()} unfinished send(s)")
        for send in store.list_sends("open", limit=20):
            states = ", ".join(f"{t.network}: {t.state}" for t in send.targets)
            print(f"  send {send.id} to {send.record_id} ({send.created_at:%Y-%m-%d %H:%M}): {states}")
        failures = store.failures(limit=10)
        if failures:
            print("recent failures:")
            for send in failures:
                for t in send.targets:
                    if t.error_text:
                        print(f"  send {send.id} {t.network}: {t.error_text}")
        for network in config.networks.enabled():
            at = store.last_import_at(network)
            print(
                f"{network}: last import {at:%Y-%m-%d %H:%M:%S} UTC" if at else f"{network}: never imported"
            )
    return EXIT_OK


def cmd_plugin(config: Config | None, args: argparse.Namespace) -> int:
    print(f"The vtiger-side plugin is in {PLUGIN_DIR}")
    print(f"Read {PLUGIN_DIR / 'README.md'} for the workflow settings. In short, from the vtiger root:")
    print(f"  cp -r {PLUGIN_DIR} modules/SocialBridge")
    print("  cd modules/SocialBridge && cp socialbridge.config.php.example socialbridge.config.php")
    print("  # set bridge_url and the same secret as the bridge's webhook.secret, then from the vtiger root:")
    print("  sudo -u www-data php modules/SocialBridge/install.php   # --uninstall removes it again")
    return EXIT_OK


def cmd_auth(config: Config, args: argparse.Namespace, *, ask: Callable[[str], str] = input) -> int:
    """OAuth 1.0a PIN flow for X: request token -> user authorises -> access token. Writes nothing
    unless --write is given and the user confirms."""
    from requests_oauthlib import OAuth1Session

    x = config.networks.x
    base = x.api_url.rstrip("/")
    oauth = OAuth1Session(
        x.consumer_key.reveal(), client_secret=x.consumer_secret.reveal(), callback_uri="oob"
    )
    oauth.fetch_request_token(f"{base}/oauth/request_token")
    print("Open this address while logged in as the account the CRM writes from, and authorise the app:")
    print(oauth.authorization_url(f"{base}/oauth/authorize"))
    pin = ask("PIN shown by X: ").strip()
    tokens = oauth.fetch_access_token(f"{base}/oauth/access_token", verifier=pin)
    print(f"Authorised as @{tokens.get('screen_name', '?')} (user id {tokens.get('user_id', '?')}).")
    print("Set these in the configuration (or as VSB_NETWORKS_X_ACCESS_TOKEN / _SECRET):")
    print(f"  access_token: {tokens['oauth_token']}")
    print(f"  access_token_secret: {tokens['oauth_token_secret']}")
    if args.write and ask(f"Write them into {config.source}? [y/N] ").strip().lower() in ("y", "yes"):
        _write_x_tokens(Path(config.source), tokens["oauth_token"], tokens["oauth_token_secret"])
        print("written")
    return EXIT_OK


def _write_x_tokens(path: Path, token: str, secret: str) -> None:
    """Replace the two values in place, keeping the file's comments and layout."""
    import re

    text = path.read_text(encoding="utf-8")
    section = re.search(r"^  x:\n(?:    .*\n|\s*\n)*", text, re.MULTILINE)
    if section is None:
        raise ValueError(f"{path} has no networks.x section to write into")
    block = section.group(0)
    block = re.sub(r"^(    access_token:).*$", rf"\1 {token}", block, flags=re.MULTILINE)
    block = re.sub(r"^(    access_token_secret:).*$", rf"\1 {secret}", block, flags=re.MULTILINE)
    path.write_text(text[: section.start()] + block + text[section.end() :], encoding="utf-8")
