"""What counts as a secret in these tests, and the one helper that looks for any of them in text."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from tests.daemon.helpers import SECRET as WEBHOOK_SECRET


def planted_secrets(crm: Any, vk: Any = None, x: Any = None, fb: Any = None) -> list[str]:
    """Every credential the sandboxes issued, plus the vtiger sessionNames they handed out so far."""
    found = [crm.access_key, WEBHOOK_SECRET, *session_names(crm)]
    if vk is not None:
        found += [vk.community_token, vk.user_token]
    if x is not None:
        found += [x.consumer_secret, x.access_token, x.access_token_secret]
    if fb is not None:
        found += [fb.page_token]
    return [s for s in found if s]


def session_names(crm: Any) -> set[str]:
    """sessionName values the vtiger sandbox saw (query string of GETs, form of POSTs)."""
    names: set[str] = set()
    for request in list(crm.requests):
        for source in (request.query, request.form):
            names.update(v for v in source.get("sessionName", []) if v)
    return names


def leaks(text: str, secrets: Iterable[str]) -> list[str]:
    """The secrets found in `text`, shortened so a failing assertion does not print them whole."""
    return [f"{s[:4]}…({len(s)} chars)" for s in secrets if s and s in text]
