"""The services' world of tests/bridge/conftest.py as a context manager, for tests outside tests/bridge."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

from bridge.crm import Crm
from bridge.store import Store
from providers.facebook import FacebookProvider
from providers.vk import VkProvider
from providers.x import XProvider
from sandbox.facebook import FacebookSandbox
from sandbox.vk import VkSandbox
from sandbox.vtiger import VtigerSandbox
from sandbox.x import XSandbox
from tests.bridge.conftest import World, fast_limiter
from vtiger_ws import VtigerClient


@contextmanager
def open_world(state_dir: Path) -> Iterator[World]:
    """vtiger, VK, X and Facebook sandboxes on 127.0.0.1 and the providers wired to them."""
    with ExitStack() as stack:
        crm_box = stack.enter_context(VtigerSandbox(fb_url=True))
        vk_box = stack.enter_context(VkSandbox(rate_limit=None))
        x_box = stack.enter_context(XSandbox())
        fb_box = stack.enter_context(FacebookSandbox())
        client = stack.enter_context(VtigerClient(crm_box.url, crm_box.username, crm_box.access_key))
        store = Store(state_dir / "state.sqlite3")
        stack.callback(store.close)
        vk = VkProvider(
            vk_box.community_token, group_id=vk_box.group_id, api_url=vk_box.url, rate_limiter=fast_limiter()
        )
        stack.callback(vk.close)
        x = XProvider(
            x_box.consumer_key,
            x_box.consumer_secret,
            x_box.access_token,
            x_box.access_token_secret,
            api_url=x_box.url,
            rate_limiter=fast_limiter(),
            wall_clock=x_box.clock,
        )
        stack.callback(x.close)
        fb = FacebookProvider(
            fb_box.page_token,
            fb_box.page_id,
            api_url=fb_box.url,
            rate_limiter=fast_limiter(),
            now=fb_box.clock,
        )
        stack.callback(fb.close)
        crm = Crm(client, timezone="UTC")  # the sandbox keeps its database times in UTC
        crm.check_schema(["vk", "x", "facebook"])
        yield World(crm_box, vk_box, x_box, fb_box, client, crm, store, vk, x, fb)
