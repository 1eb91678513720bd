"""Challenge tokens and webservice sessions (AuthToken.php, Login.php, SessionManager.php)."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from .envelope import INVALID_CREDENTIALS, INVALID_TOKEN, WsError, access_denied
from .storage import USERS_PREFIX, Store, User

TOKEN_TTL = 300


@dataclass
class Session:
    name: str
    user_id: int
    last_seen: float


class Auth:
    def __init__(self, store: Store, clock: Callable[[], datetime], idle_seconds: float | None) -> None:
        self.store = store
        self.clock = clock
        self.idle_seconds = idle_seconds  # PHP session GC: session.gc_maxlifetime
        self.tokens: dict[int, tuple[str, float]] = {}  # user id -> (token, expiry); one per user
        self.sessions: dict[str, Session] = {}

    def _now(self) -> float:
        return self.clock().timestamp()

    def user_by_name(self, name: str) -> User | None:
        return next((u for u in self.store.users.values() if u.user_name == name), None)

    def challenge(self, username: str | None) -> dict[str, Any]:
        if not username:
            raise access_denied("No username given")
        user = self.user_by_name(username)
        if user is None:
            raise access_denied("username does not exists")
        now = int(self._now())
        token = f"{secrets.randbits(52):013x}"  # PHP uniqid(): 13 hex digits
        self.tokens[user.id] = (token, now + TOKEN_TTL)  # replaces the user's previous token
        return {"token": token, "serverTime": now, "expireTime": now + TOKEN_TTL}

    def login(self, username: str | None, access_key: str | None, current: Session | None = None) -> Session:
        user = self.user_by_name(username or "")
        live = self.tokens.get(user.id) if user is not None else None
        if user is None or live is None or live[1] < self._now():
            raise WsError("INVALID_AUTH_TOKEN", INVALID_TOKEN)
        if not user.access_key:
            raise WsError("ACCESSKEY_UNDEFINED", "Access key for the user is undefined")
        expected = hashlib.md5((live[0] + user.access_key).encode("utf-8")).hexdigest()
        if access_key != expected or user.status != "Active":
            raise WsError("INVALID_USER_CREDENTIALS", INVALID_CREDENTIALS)
        if current is not None:  # a live sessionName sent along is reused and re-bound to the user
            current.user_id = user.id
            return current
        # HTTP_Session2 ids: uniqid(dechex(rand())), ~21 lowercase hex digits
        name = f"{secrets.randbits(32):08x}{secrets.randbits(52):013x}"
        session = Session(name, user.id, self._now())
        self.sessions[name] = session
        return session

    def login_result(self, session: Session) -> dict[str, str]:
        return {
            "sessionName": session.name,
            "userId": f"{USERS_PREFIX}x{session.user_id}",
            "version": "0.22",
            "vtigerVersion": self.store.profile.vtiger_version,
        }

    def resolve(self, name: str) -> Session | None:
        session = self.sessions.get(name)
        if session is None:
            return None
        now = self._now()
        if self.idle_seconds is not None and now - session.last_seen > self.idle_seconds:
            del self.sessions[name]  # garbage-collected by PHP
            return None
        session.last_seen = now
        return session

    def destroy(self, name: str) -> None:
        self.sessions.pop(name, None)

    def expire_all(self) -> None:
        self.sessions.clear()
