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


def cmd_send(config: Config, args: argparse.Namespace, *, ask: Callable[[str], str] | None = None) -> int:
    ask = ask or input  # looked up now, so a replaced builtins.input (tests) is honoured
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
    print("  sudo -u www-data php modules/SocialBridge/workflows.php --send-field=<outgoing_text_field>")
    print("  # the recommended workflows (new record, changed link, send field); --remove deletes them")
    print("Events the bridge could not take are kept and re-sent with later saves; to send them now:")
    print("  sudo -u www-data php modules/SocialBridge/flush.php")
    return EXIT_OK


def cmd_auth(config: Config, args: argparse.Namespace, *, ask: Callable[[str], str] | None = None) -> int:
    """OAuth 1.0a PIN flow for X: request token -> user authorises -> access token. Writes nothing
    unless --write is given and the user confirms. Errors are one plain line, never a secret."""
    import os

    import requests
    from requests_oauthlib import OAuth1Session
    from requests_oauthlib.oauth1_session import TokenMissing, TokenRequestDenied

    from bridge.app import EXIT_CONFIG, EXIT_USAGE

    ask = ask or input  # looked up now, not at import: a patched `input` (tests, wrappers) is honoured
    x = config.networks.x
    base = x.api_url.rstrip("/")
    unset = [key for key in ("consumer_key", "consumer_secret")
             if not getattr(x, key).reveal() or "CHANGE_ME" in getattr(x, key).reveal()]
    if unset:
        print(f"error: set networks.x.{' and networks.x.'.join(unset)} in {config.source} first (the app's "
              "API key and secret from the X developer portal, Keys and tokens)", file=sys.stderr)
        return EXIT_CONFIG

    def refused(step: str, exc: Exception) -> int:
        status = getattr(exc, "status_code", None)
        said = ""
        response = getattr(exc, "response", None)
        if response is not None and response.text:
            said = ": " + " ".join(response.text.split())[:200]
        if isinstance(exc, TokenRequestDenied) and step == "request":
            print(f"error: X refused the app's credentials (HTTP {status}{said}); check networks.x."
                  "consumer_key and consumer_secret (API key and secret of the app)", file=sys.stderr)
        elif isinstance(exc, TokenRequestDenied):
            print(f"error: X did not accept the PIN (HTTP {status}{said}). Run `auth x` again and type "
                  "the PIN X shows after \"Authorize app\"; each PIN works once, for its own run.",
                  file=sys.stderr)
        elif isinstance(exc, TokenMissing):
            print(f"error: X answered the {step} token request without a token; nothing changed",
                  file=sys.stderr)
        else:
            print(f"error: cannot reach X at {base} ({type(exc).__name__}); nothing changed", file=sys.stderr)
        return EXIT_STARTUP

    with OAuth1Session(x.consumer_key.reveal(), client_secret=x.consumer_secret.reveal(),
                       callback_uri="oob") as oauth:
        try:
            oauth.fetch_request_token(f"{base}/oauth/request_token", timeout=20)
        except (TokenRequestDenied, TokenMissing, requests.RequestException) as exc:
            return refused("request", exc)
        print("Open this address while logged in as the account the CRM writes from, and authorise the app:")
        print(oauth.authorization_url(f"{base}/oauth/authorize"))
        try:
            pin = ask("PIN shown by X: ").strip()
        except EOFError:
            pin = ""
        if not pin:
            print("error: no PIN typed; nothing changed", file=sys.stderr)
            return EXIT_USAGE
        try:
            tokens = oauth.fetch_access_token(f"{base}/oauth/access_token", verifier=pin, timeout=20)
        except (TokenRequestDenied, TokenMissing, requests.RequestException) as exc:
            return refused("access", exc)
    if not tokens.get("oauth_token") or not tokens.get("oauth_token_secret"):
        print("error: X answered without an access token and secret; nothing changed", file=sys.stderr)
        return EXIT_STARTUP
    token, secret = tokens["oauth_token"], tokens["oauth_token_secret"]
    print(f"Authorised as @{tokens.get('screen_name', '?')} (user id {tokens.get('user_id', '?')}).")
    print("Set these in the configuration (or as VSB_NETWORKS_X_ACCESS_TOKEN / _SECRET):")
    print(f"  access_token: {token}")
    print(f"  access_token_secret: {secret}")
    if not args.write:
        return EXIT_OK
    try:
        answer = ask(f"Write them into {config.source}? [y/N] ")
    except EOFError:
        answer = ""
    if answer.strip().lower() not in ("y", "yes"):
        print("not written; the file is unchanged")
        return EXIT_OK
    try:
        _write_x_tokens(Path(config.source), token, secret)
    except (OSError, ValueError) as exc:
        print(f"error: not written: {exc}; set the two values above by hand", file=sys.stderr)
        return EXIT_CONFIG
    print(f"written into {config.source}")
    env_names = ("VSB_NETWORKS_X_ACCESS_TOKEN", "VSB_NETWORKS_X_ACCESS_TOKEN_SECRET")
    overridden = [name for name in env_names if name in os.environ]
    if overridden:
        print(f"note: {' and '.join(overridden)} in the environment override the file; update them too")
    if not x.enabled:
        print("note: networks.x.enabled is still false; set it to true to use X")
    return EXIT_OK


def _write_x_tokens(path: Path, token: str, secret: str) -> None:
    """Replace the two values in place, keeping the file's comments, layout and quoting.

    The values are located with the YAML parser (block or flow style alike), spliced into the text, and
    the result is checked to differ from the old file in exactly those two values before it atomically
    replaces the file (same permissions). Raises ValueError when there is nothing safe to write into.
    """
    import json
    import os
    import re
    import tempfile

    import yaml

    path = path.resolve()  # write the file a symlink points to, not over the link
    text = path.read_bytes().decode("utf-8")  # as is: CRLF line ends stay CRLF

    def child(node: yaml.Node | None, key: str) -> tuple[yaml.Node, yaml.Node] | None:
        if isinstance(node, yaml.MappingNode):
            for k, v in node.value:
                if isinstance(k, yaml.ScalarNode) and k.value == key:
                    return k, v
        return None

    def scalar(value: str, style: str | None) -> str:
        if style == "'":
            return "'" + value.replace("'", "''") + "'"
        if style is None and re.fullmatch(r"[A-Za-z0-9_][A-Za-z0-9_.-]*", value) and (
                yaml.safe_load(value) == value):
            return value
        return json.dumps(value)  # a JSON string is a valid YAML double-quoted scalar

    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
        networks = child(root, "networks")
        section = child(networks[1], "x") if networks else None
        if section is None or not isinstance(section[1], yaml.MappingNode):
            raise ValueError(f"{path} has no networks.x section to write into")
        edits: list[tuple[int, int, str]] = []
        for key, value in (("access_token", token), ("access_token_secret", secret)):
            found = child(section[1], key)
            if found is None or not isinstance(found[1], yaml.ScalarNode):
                raise ValueError(f"{path}: networks.x has no {key} value to replace (add `{key}: \"\"`)")
            node = found[1]
            start, end = node.start_mark.index, node.end_mark.index
            if node.style is None and node.value == "":  # `access_token:` with nothing after it
                edits.append((start, start, " " + scalar(value, None)))
            else:
                edits.append((start, end, scalar(value, node.style)))
        new = text
        for start, end, replacement in sorted(edits, reverse=True):
            new = new[:start] + replacement + new[end:]
        before, after = yaml.safe_load(text), yaml.safe_load(new)
    except yaml.YAMLError as exc:
        raise ValueError(f"{path} is not valid YAML: {getattr(exc, 'problem', exc)}") from None
    before["networks"]["x"].update(access_token=token, access_token_secret=secret)
    if after != before:
        raise ValueError(f"{path}: replacing the two values would change more than them")
    mode = path.stat().st_mode & 0o7777
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name + ".", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as out:
            out.write(new)
            out.flush()
            os.fsync(out.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
