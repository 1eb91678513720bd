"""`auth x`: X's OAuth 1.0a PIN flow, and writing the token it yields into the configuration file."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path

from bridge.config import Config
from bridge.exits import EXIT_CONFIG, EXIT_OK, EXIT_STARTUP, EXIT_USAGE


def cmd_auth(config: Config, args: argparse.Namespace, *, ask: Callable[[str], str] | None = None) -> int:
    """OAuth 1.0a PIN flow for X: request token -> user authorises -> access token. Writes nothing
    unless --write is given and the user confirms. Errors are one plain line, never a secret."""
    import os

    import requests
    from requests_oauthlib import OAuth1Session  # type: ignore[import-untyped]
    from requests_oauthlib.oauth1_session import TokenMissing, TokenRequestDenied  # type: ignore[import-untyped]

    ask = ask or input  # looked up now, not at import: a patched `input` (tests, wrappers) is honoured
    x = config.networks.x
    base = x.api_url.rstrip("/")
    # The app's key and secret are needed for the flow, placeholders or not (X may still be disabled).
    unset = [
        key
        for key in ("consumer_key", "consumer_secret")
        if not getattr(x, key).reveal() or "CHANGE_ME" in getattr(x, key).reveal()
    ]
    if unset:
        print(
            f"error: set networks.x.{' and networks.x.'.join(unset)} in {config.source} first (the app's "
            "API key and secret from the X developer portal, Keys and tokens)",
            file=sys.stderr,
        )
        return EXIT_CONFIG

    def refused(step: str, exc: Exception) -> int:
        status = getattr(exc, "status_code", None)
        said = ""
        response = getattr(exc, "response", None)
        if response is not None and response.text:
            said = ": " + " ".join(response.text.split())[:200]
        if isinstance(exc, TokenRequestDenied) and step == "request":
            print(
                f"error: X refused the app's credentials (HTTP {status}{said}); check networks.x."
                "consumer_key and consumer_secret (API key and secret of the app)",
                file=sys.stderr,
            )
        elif isinstance(exc, TokenRequestDenied):
            print(
                f"error: X did not accept the PIN (HTTP {status}{said}). Run `auth x` again and type "
                'the PIN X shows after "Authorize app"; each PIN works once, for its own run.',
                file=sys.stderr,
            )
        elif isinstance(exc, TokenMissing):
            print(
                f"error: X answered the {step} token request without a token; nothing changed",
                file=sys.stderr,
            )
        else:
            print(f"error: cannot reach X at {base} ({type(exc).__name__}); nothing changed", file=sys.stderr)
        return EXIT_STARTUP

    with OAuth1Session(
        x.consumer_key.reveal(), client_secret=x.consumer_secret.reveal(), callback_uri="oob"
    ) as oauth:
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
        _next_steps(config, written=False)
        return EXIT_OK
    try:
        answer = ask(f"Write them into {config.source}? [y/N] ")
    except EOFError:
        answer = ""
    if answer.strip().lower() not in ("y", "yes"):
        print("not written; the file is unchanged")
        _next_steps(config, written=False)
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
    _next_steps(config, written=True)
    return EXIT_OK


def _next_steps(config: Config, *, written: bool) -> None:
    """What the administrator does next, in order, so X starts working."""
    steps = [] if written else [f"put the two values above into networks.x in {config.source}"]
    if not config.networks.x.enabled:
        steps.append("set networks.x.enabled: true")
    steps.append(f"run: vtiger-social-bridge -c {config.source} check")
    enabled = config.networks.x.enabled  # switching X on needs a restart, a new token only a reload
    steps.append(
        "reload the daemon (systemctl reload vtiger-social-bridge)"
        if enabled
        else "restart the daemon (systemctl restart vtiger-social-bridge)"
    )
    print("next: " + "; ".join(f"{n}. {step}" for n, step in enumerate(steps, start=1)))


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
        if (
            style is None
            and re.fullmatch(r"[A-Za-z0-9_][A-Za-z0-9_.-]*", value)
            and (yaml.safe_load(value) == value)
        ):
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
                raise ValueError(f'{path}: networks.x has no {key} value to replace (add `{key}: ""`)')
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
