"""`VtigerClient`: a session-owning client for vtiger's `webservice.php`.

Login is getchallenge -> login with `md5(token + access key)` (vtiger's AuthToken.php, Login.php). The client
logs in lazily, serializes logins with a lock (the server keeps one challenge token per user, so racing logins
would invalidate each other) and, when a call answers with a session-expiry code, logs in again and retries
that call once. Locks cannot serialize separate clients (processes) of the same user, so a login refused as if
the key were wrong is repeated a few times after a short jittered pause before it is raised.
"""

from __future__ import annotations

import hashlib
import logging
import random
import threading
import time
from collections import Counter
from collections.abc import Callable, Mapping
from typing import Any

import requests

from ._queries import QueriesMixin
from ._relations import RelationsMixin
from ._relations import expect_result as _expect
from .errors import VtigerCredentialsError, VtigerError, VtigerProtocolError, VtigerSessionExpired
from .transport import Timeout, Transport, encode_element
from .types import LoginInfo, ModuleDescription, ModuleName, ModuleType, RelatedType, VtigerId

log = logging.getLogger(__name__)

#: How many times one call may log in again after a session-expiry answer.
MAX_RELOGINS = 1

#: getchallenge+login rounds per login. vtiger keeps one challenge token per user and replaces it on every
#: getchallenge, so another client of the same user (the daemon and a CLI command, say) asking in between
#: makes our login fail exactly like a wrong access key; only another round tells the two apart.
LOGIN_ATTEMPTS = 4
#: Pause before login round n+1: random in [0, LOGIN_RETRY_PAUSE * 2**(n-1)] seconds ("full jitter"), so the
#: racing clients spread out instead of colliding again. Measured with 8 clients racing on the sandbox (4,800
#: logins): about 5% of second rounds and 1% of third rounds lost again, no fourth; a wrong key costs
#: 0.7 s on average (1.4 s at most) before it is raised.
LOGIN_RETRY_PAUSE = 0.2
#: Login refusals that a concurrent getchallenge can cause: the token we hashed was replaced (hash
#: mismatch) or removed. ACCESSKEY_UNDEFINED and AUTHENTICATION_FAILURE never come from a race.
_RACE_CODES = frozenset({"INVALID_USER_CREDENTIALS", "INVALID_AUTH_TOKEN"})


class VtigerClient(QueriesMixin, RelationsMixin):
    """Client for one vtiger user on one CRM.

    Args:
        url: the CRM base URL (`https://crm.example.com`) or the full `.../webservice.php` URL.
        username: the vtiger user name.
        access_key: the user's webservice access key (My Preferences), not the password.
        timeout: seconds for every HTTP request, or a (connect, read) pair.
        session: a `requests.Session` to use (the caller keeps ownership); one is created otherwise.
        login_attempts: getchallenge+login rounds before a refused login is raised (see LOGIN_ATTEMPTS).
        sleep: how to pause between login rounds (tests inject a fake one so they do not wait).

    Attributes:
        stats: HTTP requests sent, per operation (a Counter); every login round counts its own requests.
        logins: successful logins so far.
        login_retries: login rounds repeated after a refusal that a concurrent challenge could explain.
    """

    def __init__(
        self,
        url: str,
        username: str,
        access_key: str,
        *,
        timeout: Timeout = (5.0, 60.0),
        session: requests.Session | None = None,
        login_attempts: int = LOGIN_ATTEMPTS,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if login_attempts < 1:
            raise ValueError("login_attempts must be at least 1")
        self._transport = Transport(url, timeout=timeout, session=session)
        self.username = username
        self._access_key = access_key
        self._session_name: str | None = None
        self._login_info: LoginInfo | None = None
        self._login_lock = threading.Lock()
        self._describe_cache: dict[str, ModuleDescription] = {}
        self._describe_lock = threading.Lock()
        self.logins = 0
        self.login_retries = 0
        self._login_attempts = login_attempts
        self._sleep = sleep

    def __repr__(self) -> str:
        return f"VtigerClient({self._transport.url!r}, {self.username!r})"

    @property
    def url(self) -> str:
        """The `webservice.php` URL in use."""
        return self._transport.url

    @property
    def stats(self) -> Counter[str]:
        return self._transport.stats

    def close(self) -> None:
        """Close the HTTP session if the client created it. Does not log out (see `logout`)."""
        self._transport.close()

    def __enter__(self) -> VtigerClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- session ------------------------------------------------------------------------------------
    def login(self) -> LoginInfo:
        """Log in now (calls log in lazily anyway) and return what the server said.

        Raises:
            VtigerCredentialsError: unknown user, wrong access key, inactive user, token replaced.
        """
        with self._login_lock:
            return self._login_locked()

    def _login_locked(self) -> LoginInfo:
        """Log in (the caller holds `_login_lock`), repeating the round when a concurrent challenge may
        have replaced our token; a wrong access key is still raised, after the last round."""
        self._session_name = None
        attempt = 1
        while True:
            try:
                return self._login_once()
            except VtigerCredentialsError as exc:
                if exc.code not in _RACE_CODES or attempt >= self._login_attempts:
                    raise
                pause = random.uniform(0.0, LOGIN_RETRY_PAUSE * 2 ** (attempt - 1))
                # DEBUG: with a wrong key every round fails the same way, and the one error raised at
                # the end says so; these lines would only bury it.
                log.debug(
                    "vtiger login as %s refused (%s), possibly a concurrent login of the same user; "
                    "trying again in %.2f s (round %d of %d)",
                    self.username,
                    exc.code,
                    pause,
                    attempt + 1,
                    self._login_attempts,
                )
            self.login_retries += 1
            self._sleep(pause)
            attempt += 1

    def _login_once(self) -> LoginInfo:
        """One getchallenge+login round."""
        challenge = _expect(
            self._transport.call("getchallenge", {"username": self.username}, subject=self.username),
            dict,
            "getchallenge",
            self.username,
        )
        token = str(challenge.get("token", ""))
        key = hashlib.md5((token + self._access_key).encode("utf-8")).hexdigest()
        result = _expect(
            self._transport.call(
                "login",
                {"username": self.username, "accessKey": key},
                subject=self.username,
                secrets=(key, self._access_key),
            ),
            dict,
            "login",
            self.username,
        )
        session_name = result.get("sessionName")
        if not isinstance(session_name, str) or not session_name:
            raise VtigerProtocolError(
                f"vtiger login {self.username}: no sessionName in the answer",
                status=200,
                body_excerpt="",
                operation="login",
                subject=self.username,
            )
        self._login_info = LoginInfo(
            user_id=VtigerId(str(result.get("userId", ""))),
            version=str(result.get("version", "")),
            vtiger_version=str(result.get("vtigerVersion", "")),
        )
        self._session_name = session_name
        self.logins += 1
        log.info("vtiger login as %s succeeded", self.username)
        return self._login_info

    def _current_session(self) -> str:
        name = self._session_name
        if name is not None:
            return name
        with self._login_lock:
            if self._session_name is None:
                self._login_locked()
            assert self._session_name is not None
            return self._session_name

    def _renew_session(self, stale: str) -> None:
        with self._login_lock:
            # A thread that waited here while another one logged in reuses that fresh session instead of
            # logging in again (which would also replace the challenge token under the other thread).
            if self._session_name is not None and self._session_name != stale:
                return
            self._login_locked()

    @property
    def login_info(self) -> LoginInfo:
        """The login result (logs in if needed); `login_info.user_id` is the default owner for records."""
        self._current_session()
        assert self._login_info is not None
        return self._login_info

    def logout(self) -> bool:
        """End the session, best-effort; returns True if the server confirmed.

        SalesPlatform 7.2 always answers INTERNAL_SERVER_ERROR and keeps the session alive (its
        HTTP_Session2::useCookies(false) fails on PHP >= 7.2), so a failure is logged, not raised. The client
        forgets the session either way.
        """
        with self._login_lock:
            name, self._session_name = self._session_name, None
        if name is None:
            return False
        try:
            self._transport.call("logout", {"sessionName": name}, secrets=(name,))
        except VtigerError as exc:  # best-effort by design; the session dies with PHP's GC anyway
            log.info("vtiger logout was not confirmed: %s", type(exc).__name__)
            return False
        return True

    def _call(self, operation: str, params: Mapping[str, str], *, subject: str = "", attempt: int = 0) -> Any:
        session_name = self._current_session()
        try:
            return self._transport.call(
                operation,
                {**params, "sessionName": session_name},
                subject=subject,
                secrets=(session_name, self._access_key),
            )
        except VtigerSessionExpired:
            if attempt >= MAX_RELOGINS:
                raise
            log.info("vtiger session expired during %s; logging in again", operation)
            self._renew_session(session_name)
            return self._call(operation, params, subject=subject, attempt=attempt + 1)

    # --- metadata -----------------------------------------------------------------------------------
    def listtypes(self) -> dict[ModuleName, ModuleType]:
        """Modules the user may access, in server order, by name."""
        result = _expect(self._call("listtypes", {}), dict, "listtypes", "")
        info = result.get("information") or {}
        types: dict[ModuleName, ModuleType] = {}
        for name in result.get("types") or ():
            entry = info.get(name) if isinstance(info, dict) else None
            entry = entry if isinstance(entry, dict) else {}
            types[ModuleName(name)] = ModuleType(
                name=ModuleName(name),
                label=str(entry.get("label", "")),
                singular=str(entry.get("singular", "")),
                is_entity=bool(entry.get("isEntity", False)),
            )
        return types

    def describe(self, module: str) -> ModuleDescription:
        """Fields of `module` (cached for the life of the client).

        Raises:
            VtigerAccessDenied: unknown or inaccessible module (names are case-sensitive).
        """
        cached = self._describe_cache.get(module)
        if cached is not None:
            return cached
        result = _expect(
            self._call("describe", {"elementType": module}, subject=module), dict, "describe", module
        )
        description = ModuleDescription.from_json(result)
        with self._describe_lock:
            return self._describe_cache.setdefault(module, description)

    def relatedtypes(self, module: str) -> list[RelatedType]:
        """Relations of `module`: related module and the relation label for add_related/query_related."""
        result = _expect(
            self._call("relatedtypes", {"elementType": module}, subject=module), dict, "relatedtypes", module
        )
        info = result.get("information") or {}
        return [
            RelatedType(
                module=ModuleName(str(v.get("name", ""))),
                label=str(v.get("label", label)),
                is_entity=str(v.get("isEntity", "")) in ("1", "True", "true"),
            )
            for label, v in (info.items() if isinstance(info, dict) else ())
            if isinstance(v, dict)
        ]

    # --- records ------------------------------------------------------------------------------------
    def create(self, module: str, fields: Mapping[str, Any]) -> dict[str, Any]:
        """Create a record and return it as saved (with `id`).

        Raises:
            VtigerInvalidRequest: MANDATORY_FIELDS_MISSING and the like.
            VtigerDuplicate: the module refuses duplicates (e.g. Accounts by name).
        """
        result = self._call(
            "create", {"elementType": module, "element": encode_element(fields)}, subject=module
        )
        return dict(_expect(result, dict, "create", module))

    def retrieve(self, record_id: str) -> dict[str, Any]:
        """The record `record_id`.

        Raises:
            VtigerAccessDenied: also for a missing or deleted record (that is how vtiger says it).
        """
        return dict(
            _expect(self._call("retrieve", {"id": record_id}, subject=record_id), dict, "retrieve", record_id)
        )

    def update(self, record: Mapping[str, Any]) -> dict[str, Any]:
        """Replace a record: `record` needs `id` and every mandatory field (e.g. a retrieved record).

        Prefer `revise` for partial changes.
        """
        record_id = self._id_of(record)
        return dict(
            _expect(
                self._call("update", {"element": encode_element(record)}, subject=record_id),
                dict,
                "update",
                record_id,
            )
        )

    def revise(self, fields_with_id: Mapping[str, Any]) -> dict[str, Any]:
        """Change only the given fields of the record `fields_with_id["id"]`; returns the full record."""
        record_id = self._id_of(fields_with_id)
        return dict(
            _expect(
                self._call("revise", {"element": encode_element(fields_with_id)}, subject=record_id),
                dict,
                "revise",
                record_id,
            )
        )

    def delete(self, record_id: str) -> None:
        """Delete (soft) the record `record_id`."""
        self._call("delete", {"id": record_id}, subject=record_id)

    @staticmethod
    def _id_of(fields: Mapping[str, Any]) -> str:
        record_id = fields.get("id")
        if not isinstance(record_id, str) or not record_id:
            raise ValueError("the element needs the record's 'id'")
        return record_id
