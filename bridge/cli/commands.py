"""The bodies of the daemon-side commands: `run`, `check`, `import-messages`, `plugin` (argument parsing
lives in `bridge.cli.main`; record commands in `bridge.cli.records`, `status` and `health` in
`bridge.cli.status`, `auth` in `bridge.cli.auth`)."""

from __future__ import annotations

import argparse
import sys

from bridge.cli.diagnose import network_problem
from bridge.cli.paths import example_config, plugin_dir
from bridge.config import Config
from bridge.crm import CrmSchemaError, VtigerError
from bridge.daemon.app import App
from bridge.daemon.explain import explain
from bridge.daemon.metrics import count_send
from bridge.daemon.wiring import Parts, build, detect_language, emoji_proven
from bridge.exits import EXIT_OK, EXIT_STARTUP
from providers.errors import ProviderError


def connect(config: Config) -> Parts:
    """Wire the parts and check the CRM the way the daemon does (login, schema, language)."""
    parts = build(config)
    try:
        info = parts.crm.login()
        detect_language(parts, info.user_id)
        parts.crm.check_schema(list(parts.providers))
    except BaseException:
        parts.close()
        raise
    if parts.crm.bmp_only is None:  # auto: what the daemon found at its start (emoji seen in the CRM)
        parts.crm.bmp_only = not emoji_proven(parts)
    # Counted in the state store, so the daemon's /metrics shows this command's sends too.
    parts.sender.observer = lambda network, error: count_send(parts.store.kv, network, error)
    return parts


def cmd_run(config: Config, args: argparse.Namespace) -> int:
    return App(config).run()


def cmd_check(config: Config, args: argparse.Namespace) -> int:
    rows: list[tuple[str, str, str]] = [("config", "ok", config.source)]
    parts = build(config)
    failed = False
    try:
        try:
            info = parts.crm.login()
            rows.append(("vtiger login", "ok", f"user {info.user_id}, vtiger {info.vtiger_version}"))
            report = parts.crm.check_schema(list(parts.providers))
            rows.append(("CRM schema", "ok", "; ".join(report.warnings) or "every mapped field exists"))
            language = config.vtiger.language
            if language == "auto":
                language = parts.crm.read_language(info.user_id)
            name = {"ru": "Russian", "en": "English"}[language]
            how = "vtiger.language" if config.vtiger.language != "auto" else "the user's language in vtiger"
            rows.append(("CRM language", "ok", f"comments for people are written in {name} ({how})"))
        except CrmSchemaError as exc:
            failed = True
            rows.append(("CRM schema", "FAILED", "; ".join(exc.problems)))
        except VtigerError as exc:
            failed = True
            failure = explain(exc, config)
            rows.append(("vtiger login", "FAILED", failure.line if failure else str(exc)))
        for network, provider in parts.providers.items():
            try:
                identity = getattr(provider, "bot_identity", None)
                if identity is not None:  # a bot: reading its updates here would take them from the daemon
                    bot_id, username = identity()
                    rows.append((f"{network} bot", "ok", f"@{username} (id {bot_id})"))
                    continue
                provider.fetch_messages(parts.store.cursors.get(network), 1)
                rows.append((f"{network} token", "ok", "accepted"))
            except ProviderError as exc:
                failed = True
                rows.append((f"{network} token", "FAILED", network_problem(config, network, provider, exc)))
    finally:
        parts.close()
    width = max(len(r[0]) for r in rows)
    for name, state, detail in rows:
        print(f"{name:<{width}}  {state:<6}  {detail}")
    return EXIT_STARTUP if failed else EXIT_OK


def cmd_import_messages(config: Config, args: argparse.Namespace) -> int:
    parts = connect(config)
    try:
        parts.index.refresh(full=parts.index.needs_full_build())
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


def cmd_plugin(config: Config | None, args: argparse.Namespace) -> int:
    folder = plugin_dir()
    print("The vtiger side is a module: build its zip with `vtiger-social-bridge module-zip`, import it")
    print("in vtiger: Settings, Module Manager, Import module from zip; then fill Settings, Social bridge.")
    print(f"The vtiger-side plugin is in {folder}")
    print(f"Read {folder / 'README.md'} for the workflow settings. Shell install, from the vtiger root:")
    print(f"  cp -r {folder} modules/SocialBridge")
    print("  cd modules/SocialBridge && cp socialbridge.config.php.example socialbridge.config.php")
    print("  # set bridge_url and the same secret as the bridge's webhook.secret, then from the vtiger root:")
    print("  sudo -u www-data php modules/SocialBridge/install.php --create-schema  # --uninstall removes it")
    print("  # function labels follow the CRM's language (config.inc.php); --language ru_ru|en_us picks one")
    print("  sudo -u www-data php modules/SocialBridge/workflows.php --send-field=<outgoing_text_field>")
    print("  # the recommended workflows (new record, changed link, send field); --remove deletes them")
    print("Events the bridge could not take are kept and re-sent with later saves; to send them now:")
    print("  sudo -u www-data php modules/SocialBridge/flush.php")
    print(f"The example configuration of the bridge itself: {example_config()}")
    return EXIT_OK
