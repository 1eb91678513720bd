"""What the Telegram and MAX providers share: an HTTP session that honours a proxy and an explicit CA bundle,
telling a failure before the request was written from one after it, offsets, and text length.

Reachability is a setting, never a shortcut: Telegram may need a proxy from Russia, MAX's host presents a
chain that ends at the Russian Ministry of Digital Development root, which default bundles lack. The answer
to the second is `ca_bundle` (a PEM file that holds that root); verification is never turned off.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import re
import ssl
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Self

import requests

from providers.base import AccountId, ProfileRef
from providers.errors import NotAllowedReason, ProviderNotAllowed, ProviderRateLimited, ProviderUnavailable
from providers.ratelimit import RateLimiter

log = logging.getLogger(__name__)


class OutcomeUnknown(ProviderUnavailable):
    """The request was (or may have been) written and no usable answer came back: a send may have arrived.

    Raised by the bot transports for every call; for a non-send call it is just "unavailable"."""


def check_ca_bundle(ca_bundle: object, network: str) -> str | None:
    """The CA bundle path to verify the network's certificate with, or None for the default bundle.

    Raises:
        ValueError: anything but None or a readable PEM file (`False` included: verification stays on).
    """
    if ca_bundle is None:
        return None
    if not isinstance(ca_bundle, str | os.PathLike) or not str(ca_bundle).strip():
        raise ValueError(
            f"{network}: ca_bundle must be the path of a PEM file with the CA certificates to "
            "trust; certificate verification cannot be switched off"
        )
    path = os.fspath(ca_bundle)
    try:
        with open(path, encoding="ascii", errors="replace") as handle:
            text = handle.read(4 * 1024 * 1024)
    except OSError as exc:
        raise ValueError(
            f"{network}: cannot read the CA bundle {path!r} ({exc.strerror or exc}); set "
            "ca_bundle to a readable PEM file"
        ) from None
    if "-----BEGIN CERTIFICATE-----" not in text:
        raise ValueError(
            f"{network}: {path!r} holds no PEM certificate (-----BEGIN CERTIFICATE-----); "
            "convert a .cer/.crt file with `openssl x509 -inform der -in X.cer -out X.pem`"
        )
    return path


def check_proxy_url(proxy_url: str | None, network: str) -> str | None:
    if proxy_url is None or proxy_url == "":
        return None
    if not re.match(r"^(https?|socks5h?)://[^/\s]+/?$", proxy_url):
        raise ValueError(
            f"{network}: proxy_url must look like http://host:port or socks5://host:port "
            "(user:password@ allowed before the host)"
        )
    return proxy_url


def unsent(exc: requests.RequestException) -> bool:
    """True when `exc` happened before the request could have reached the server (nothing was sent).

    A refused or timed-out connect, a failed proxy or TLS handshake, a bad URL: the server never saw it.
    Anything else (a read timeout, a connection dropped mid-answer) leaves the outcome unknown.
    """
    if isinstance(
        exc,
        requests.ConnectTimeout
        | requests.exceptions.ProxyError
        | requests.exceptions.SSLError
        | requests.exceptions.InvalidURL
        | requests.exceptions.MissingSchema,
    ):
        return True
    if isinstance(exc, requests.ConnectionError):
        reason = getattr(exc.args[0], "reason", None) if exc.args else None
        text = type(reason).__name__ if reason is not None else ""
        return text in (
            "NewConnectionError",
            "NameResolutionError",
            "ConnectTimeoutError",
            "ProxyError",
            "SSLError",
        )
    return False


def describe_failure(exc: requests.RequestException) -> str:
    """A short, secret-free account of a transport failure (never the exception text: it holds the URL)."""
    if isinstance(exc, requests.exceptions.SSLError) or _is_certificate_failure(exc):
        return "its TLS certificate could not be verified"
    if isinstance(exc, requests.exceptions.ProxyError):
        return "the proxy refused or failed the connection"
    if isinstance(exc, requests.Timeout):
        return "it did not answer in time"
    return f"the connection failed ({type(exc).__name__})"


def _is_certificate_failure(exc: BaseException) -> bool:
    seen: set[int] = set()
    node: BaseException | None = exc
    while node is not None and id(node) not in seen:
        seen.add(id(node))
        if isinstance(node, ssl.SSLCertVerificationError):
            return True
        reason = getattr(node, "reason", None)
        if isinstance(reason, BaseException):
            node = reason
            continue
        node = node.args[0] if node.args and isinstance(node.args[0], BaseException) else node.__context__
    return False


def utf16_units(text: str) -> int:
    """Length as Telegram and MAX count it: UTF-16 code units (an emoji outside the BMP counts 2)."""
    return len(text.encode("utf-16-le")) // 2


def split_text(text: str, limit: int) -> list[str]:
    """`text` in parts of at most `limit` UTF-16 units, cut at a paragraph, line, sentence or word end.

    Nothing is dropped except the whitespace at a cut; a word longer than `limit` is cut inside it (never
    inside a surrogate pair). ''.join of the parts equals `text` minus that whitespace.
    """
    parts: list[str] = []
    rest = text.strip()
    while utf16_units(rest) > limit:
        window = _prefix_within(rest, limit)
        cut = _best_cut(window)
        head, rest = rest[:cut].rstrip(), rest[cut:].lstrip()
        parts.append(head)
    if rest:
        parts.append(rest)
    return parts


def _prefix_within(text: str, limit: int) -> str:
    units, end = 0, 0
    for end, char in enumerate(text):
        units += 2 if ord(char) > 0xFFFF else 1
        if units > limit:
            return text[:end]
    return text


def _best_cut(window: str) -> int:
    floor = len(window) // 2  # never leave a tiny part: a cut in the first half is not worth it
    for pattern in (r"\n\s*\n", r"\n", r"[.!?…](?=\s)", r"\s"):
        found = [m.end() for m in re.finditer(pattern, window) if m.end() > floor]
        if found:
            return found[-1]
    return len(window)


# --- offsets -----------------------------------------------------------------------------------------
# An offset is "<position>" (Telegram: the next update_id, MAX: the marker), "" (none yet), optionally
# followed by "@<epoch seconds>": updates created before that moment are consumed but not returned.


def encode_offset(position: int | None, since: float | None = None) -> str:
    text = "" if position is None else str(position)
    return text if since is None else f"{text}@{int(since)}"


def decode_offset(offset: str | None) -> tuple[int | None, float | None]:
    """(position, since) of an offset; ValueError for one this module did not write."""
    if not offset:
        return None, None
    head, _, tail = offset.partition("@")
    try:
        position = int(head) if head else None
        since = float(tail) if tail else None
    except ValueError:
        raise ValueError(f"not an update offset: {offset!r}") from None
    return position, since


def since_for(last_days: float | None, now: Callable[[], dt.datetime]) -> float | None:
    if last_days is None:
        return None
    return (now() - dt.timedelta(days=last_days)).timestamp()


# --- what both bot transports and providers share ------------------------------------------------


def bot_options(settings: Mapping[str, Any], limiter: Callable[[float], RateLimiter]) -> dict[str, Any]:
    """A bot provider's keyword arguments from its settings (`ProviderClass.from_settings`): `api_url`,
    `proxy_url`, `ca_bundle` and `take_over_webhook` where given, and `rate_limit` through the network's
    `rate.py` `limiter`; what is not given keeps the provider's default."""
    options = {key: settings[key] for key in ("api_url", "proxy_url", "ca_bundle") if settings.get(key)}
    options["take_over_webhook"] = bool(settings.get("take_over_webhook", False))
    rate = settings.get("rate_limit")
    options["rate_limiter"] = limiter(float(rate)) if rate is not None else None
    return options


MAX_INLINE_WAIT = 5.0  # a "wait" hint up to this long is slept through; longer ones are raised
CONNECT_TIMEOUT = 10.0


@dataclass(frozen=True)
class Answer:
    status: int
    body: Any  # the parsed JSON, None when the answer was not JSON
    headers: Mapping[str, str]


class BotTransport:
    """One HTTP request at a time to a bot API: local rate budget, per-operation counts, the CA bundle with
    every request, no redirects, and transport failures told apart (surely unsent / outcome unknown).

    Errors are raised outside any `except` block, so none carries a `requests` error (whose text names the
    URL, and Telegram's URL holds the token) as its `__context__`.
    """

    network = ""
    display = ""  # "Telegram", "MAX"
    certificate_hint = ""

    def __init__(
        self,
        *,
        api_url: str,
        limiter: RateLimiter,
        session: requests.Session | None,
        proxy_url: str | None,
        ca_bundle: str | None,
        timeout: float,
    ) -> None:
        self.api_url = api_url.rstrip("/")
        self.limiter = limiter
        self._own_session = session is None
        self._session = session or requests.Session()
        # Both go with every request, not on the session: requests lets the environment's proxy and CA
        # bundle variables win over a session's settings, and the administrator's settings must win.
        self._verify: str | bool = ca_bundle or True
        self._proxies = {"http": proxy_url, "https": proxy_url} if proxy_url else None
        self.timeout = timeout
        self.stats: Counter[str] = Counter()  # HTTP requests per operation

    def __repr__(self) -> str:
        return f"{type(self).__name__}(api_url={self.api_url!r})"

    def close(self) -> None:
        if self._own_session:
            self._session.close()

    def _exchange(self, method: str, url: str, operation: str, *, wait: float, **kwargs: Any) -> Answer:
        blocked = self.limiter.blocked_for()
        if blocked > MAX_INLINE_WAIT:
            raise ProviderRateLimited(
                f"{self.display} asked the bot to pause; the bridge will try again in {int(blocked) + 1} s.",
                retry_after=blocked,
                network=self.network,
                code=429,
            )
        self.limiter.acquire()
        self.stats[operation] += 1
        failure: requests.RequestException | None = None
        try:
            # No redirects: a Location may name any host nobody configured.
            response = self._session.request(
                method,
                url,
                timeout=(CONNECT_TIMEOUT, self.timeout + wait),
                allow_redirects=False,
                verify=self._verify,
                proxies=dict(self._proxies or {}),
                **kwargs,
            )
        except requests.RequestException as exc:
            failure = exc
        if failure is not None:
            raise self._unreachable(failure)
        with response:
            try:
                body = response.json()
            except ValueError:
                body = None
            return Answer(response.status_code, body, dict(response.headers))

    def _unreachable(self, exc: requests.RequestException) -> ProviderUnavailable:
        what = describe_failure(exc)
        hint = (
            self.certificate_hint
            if "certificate" in what
            else (f" Check the {self.display} API address and proxy in the bridge settings, and the network.")
        )
        message = f"{self.display} at {self.api_url} could not be reached: {what}.{hint}"
        if unsent(exc):
            return ProviderUnavailable(message, network=self.network)
        return OutcomeUnknown(message, network=self.network)


class BotProviderBase:
    """Lifecycle, counters and the refusal to resolve profile links, shared by the bot providers."""

    name: str
    _http: BotTransport
    no_lookup = ""

    @property
    def stats(self) -> Counter[str]:
        """HTTP requests made so far, per operation."""
        return self._http.stats

    @property
    def rate_limiter(self) -> RateLimiter:
        return self._http.limiter

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"{type(self).__name__}(api_url={self._http.api_url!r})"

    def resolve(self, refs: Iterable[ProfileRef]) -> dict[ProfileRef, AccountId]:
        """Id refs are their own account id (no request); a profile link cannot be turned into one.

        Raises:
            ProviderNotAllowed(UNSUPPORTED_BY_NETWORK): a ref names a person by a link or username.
        """
        resolved: dict[ProfileRef, AccountId] = {}
        for ref in refs:
            if ref.network != self.name:
                continue
            if ref.kind != "id":
                raise ProviderNotAllowed(
                    self.no_lookup, reason=NotAllowedReason.UNSUPPORTED_BY_NETWORK, network=self.name
                )
            resolved[ref] = AccountId(ref.value)
        return resolved
