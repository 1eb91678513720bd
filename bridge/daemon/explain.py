"""Turn the failures a user can cause into one line that names the cause, and its exit code.

Used by the command line (every command) and by the daemon's start-up, so `run` and `check` say the same
thing about the same mistake. Nothing here is shown with a traceback; lines never hold a secret (the
exceptions explained are themselves secret-free, see vtiger_ws/errors.py and providers/errors.py).
"""

from __future__ import annotations

import errno

from bridge.config import Config
from bridge.crm import (
    CrmSchemaError,
    VtigerAccessDenied,
    VtigerConnectionError,
    VtigerCredentialsError,
    VtigerError,
    VtigerProtocolError,
)
from bridge.exits import (
    EXIT_CANTCREAT,
    EXIT_CONFIG,
    EXIT_STARTUP,
    EXIT_TEMPFAIL,
    EXIT_UNAVAILABLE,
    Failure,
)
from bridge.store import StoreError
from bridge.store.db import current_user
from providers.errors import ProviderAuthError, ProviderError, ProviderUnavailable

ACCESS_KEY_HELP = "vtiger: My Preferences -> Access Key"


def explain(exc: BaseException, config: Config) -> Failure | None:
    """The one-line failure for `exc`, or None when it is not a mistake a user can fix (a bug)."""
    if isinstance(exc, Failure):
        return exc
    v = config.vtiger
    if isinstance(exc, VtigerCredentialsError):
        return Failure(
            EXIT_STARTUP,
            f"vtiger at {v.url} refused the login of user {v.username!r} ({exc.code}): the user name or "
            f"the access key is wrong, or the user is inactive. Set vtiger.access_key to the user's access "
            f"key ({ACCESS_KEY_HELP}) or the environment variable VSB_VTIGER_ACCESS_KEY",
        )
    if isinstance(exc, VtigerConnectionError):
        return Failure(
            EXIT_UNAVAILABLE,
            f"cannot reach the CRM at {v.url} ({exc.message.rsplit('(', 1)[-1].rstrip(')')}): check "
            "vtiger.url and that the CRM's web server is up and reachable from this machine",
        )
    if isinstance(exc, VtigerProtocolError):
        if exc.status >= 500:
            return Failure(
                EXIT_UNAVAILABLE,
                f"the CRM at {v.url} answered HTTP {exc.status} instead of a webservice answer; it may be "
                "overloaded or failing: see its web server's error log",
            )
        return Failure(
            EXIT_CONFIG,
            f"vtiger.url {v.url!r} does not lead to a vtiger webservice (HTTP {exc.status}, "
            f"{exc.message.split(': ', 1)[-1].split(' (HTTP')[0]}): set it to the CRM's base address, the "
            "one in the browser before /index.php",
        )
    if isinstance(exc, VtigerAccessDenied):
        return Failure(
            EXIT_STARTUP,
            f"vtiger user {v.username!r} may not do this: {exc.server_message or exc} ({exc.operation} "
            f"{exc.subject}); give the user's role access to the module, or use an administrator",
        )
    if isinstance(exc, VtigerError):
        return Failure(EXIT_STARTUP, f"the CRM refused a request: {exc}")
    if isinstance(exc, CrmSchemaError):
        return Failure(EXIT_STARTUP, "the CRM does not fit the configuration: " + "; ".join(exc.problems))
    if isinstance(exc, StoreError):
        return Failure(EXIT_CANTCREAT, f"the state file cannot be used: {exc}")
    if isinstance(exc, ProviderAuthError):
        return Failure(EXIT_STARTUP, f"{exc.network or 'a network'} refused the bridge's token: {exc}")
    if isinstance(exc, ProviderUnavailable):
        return Failure(EXIT_UNAVAILABLE, str(exc))
    if isinstance(exc, ProviderError):
        return Failure(EXIT_STARTUP, str(exc))
    return None


def port_in_use(exc: OSError, config: Config) -> Failure | None:
    """The failure for a webhook server that could not bind, or None for another OSError."""
    w = config.webhook
    if exc.errno == errno.EADDRINUSE:
        return Failure(
            EXIT_TEMPFAIL,
            f"the webhook port {w.bind}:{w.port} is already in use by another program (or another "
            f"bridge): stop it, or set webhook.port to a free port (and the same address in the plugin's "
            "socialbridge.config.php)",
        )
    if exc.errno in (errno.EACCES, errno.EADDRNOTAVAIL):
        why = "needs root below 1024" if exc.errno == errno.EACCES else "is not an address of this machine"
        return Failure(
            EXIT_CONFIG,
            f"the webhook cannot listen on {w.bind}:{w.port} ({why}): change webhook.bind / webhook.port",
        )
    return None


def cannot_write(what: str, path: str, key: str, exc: OSError) -> Failure:
    """A file the bridge must write (log file, state file) that it cannot create or open."""
    user = current_user()
    reason = exc.strerror or type(exc).__name__
    return Failure(
        EXIT_CANTCREAT,
        f"cannot write the {what} {path} ({reason}) as user {user}: create its folder for this user "
        f"(e.g. sudo install -d -o {user} -m 0700 <folder>) or set {key} to a path it may write",
    )
