"""Checks of the bot networks' sections (`networks.telegram`, `networks.max`) at load time.

What the providers would refuse when they are built (a token of the wrong shape, a CA bundle that is not a
readable PEM file, a proxy that is not a URL), said once with the file, key and line instead, and without
the value when it is a secret.
"""

from __future__ import annotations

import re
from typing import Protocol

from bridge.config.schema import BOT_NETWORKS, Config

_TELEGRAM_TOKEN = re.compile(r"^[0-9]{3,}:[A-Za-z0-9_-]{20,}$")
_PROXY = re.compile(r"^(https?|socks5h?)://[^/\s]+/?$")
_PEM = "-----BEGIN CERTIFICATE-----"


class Reporter(Protocol):
    def fail(self, path: tuple[str, ...], message: str) -> None: ...


def check_bots(config: Config, loader: Reporter) -> None:
    """Report every problem of an enabled bot network's section through `loader.fail`."""
    for network in BOT_NETWORKS:
        section = getattr(config.networks, network)
        if not section.enabled:
            continue
        token = section.token.reveal()
        where = ("networks", network)
        if network == "telegram" and token and not _TELEGRAM_TOKEN.match(token):
            loader.fail((*where, "token"), "must look like <digits>:<secret>, as @BotFather gives it")
        if network == "max" and token and token != token.strip():
            loader.fail((*where, "token"), "has spaces around it; paste the token from business.max.ru alone")
        proxy = section.proxy_url.reveal()
        if proxy and not _PROXY.match(proxy):
            loader.fail(
                (*where, "proxy_url"),
                "must look like http://host:port or socks5://host:port (user:password@ may come first)",
            )
        if section.ca_bundle:
            problem = _pem_problem(section.ca_bundle)
            if problem:
                loader.fail((*where, "ca_bundle"), problem)
        if not 0.01 <= section.invitation_days <= 365:
            loader.fail((*where, "invitation_days"), "must be between 0.01 and 365 (days)")
        if section.rate_limit <= 0:
            loader.fail((*where, "rate_limit"), "must be above 0 (requests per second)")


def _pem_problem(path: str) -> str:
    try:
        with open(path, encoding="ascii", errors="replace") as handle:
            text = handle.read(4 * 1024 * 1024)
    except OSError as exc:
        return f"cannot read {path!r} ({exc.strerror or exc}); name a readable PEM file of CA certificates"
    if _PEM not in text:
        return (
            f"{path!r} holds no PEM certificate; convert a .cer/.crt file with "
            "`openssl x509 -inform der -in X.cer -out X.pem`"
        )
    return ""
