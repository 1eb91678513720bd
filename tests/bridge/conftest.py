"""A whole world for the services: vtiger, VK, X and Facebook sandboxes on 127.0.0.1, wired together."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from bridge.crm import Crm
from bridge.services.importing import Importer
from bridge.services.linking import UrlIndex
from bridge.services.profiles import ProfileImporter
from bridge.services.sending import Sender
from bridge.store import Store
from providers.facebook import FacebookProvider
from providers.ratelimit import RateLimiter
from providers.vk import VkProvider
from providers.x import XProvider
from sandbox.facebook import FacebookSandbox
from sandbox.vk import VkSandbox
from sandbox.vtiger import LatencyModel, RealisticVtigerSandbox, VtigerSandbox
from sandbox.x import XSandbox
from vtiger_ws import VtigerClient


@dataclass
class World:
    crm_box: VtigerSandbox
    vk_box: VkSandbox
    x_box: XSandbox
    fb_box: FacebookSandbox
    client: VtigerClient
    crm: Crm
    store: Store
    vk: VkProvider
    x: XProvider
    fb: FacebookProvider

    @property
    def providers(self) -> dict[str, object]:
        return {"vk": self.vk, "x": self.x, "facebook": self.fb}

    def sender(self, **kwargs: object) -> Sender:
        return Sender(
            self.crm,
            self.providers,
            self.store.outbox,
            self.store.ledger,
            api_user_id="19x1",  # type: ignore[arg-type]
            **kwargs,  # type: ignore[arg-type]
        )

    def index(self) -> UrlIndex:
        return UrlIndex(self.crm, self.providers, self.store.url_index)  # type: ignore[arg-type]

    def importer(self, **kwargs: object) -> Importer:
        return Importer(
            self.crm,
            self.providers,
            self.store.cursors,
            self.store.ledger,
            self.index(),
            api_user_id="19x1",
            **kwargs,  # type: ignore[arg-type]
        )

    def profiles(self) -> ProfileImporter:
        return ProfileImporter(self.crm, self.providers, self.store.audit)  # type: ignore[arg-type]

    def contact(self, lastname: str = "Petrov", **fields: str) -> str:
        return self.crm_box.seed("Contacts", {"lastname": lastname, "assigned_user_id": "19x1", **fields})

    def messages(self) -> list[dict[str, str]]:
        return self.crm_box.records("SPSocialConnector")


def fast_limiter() -> RateLimiter:
    # The sandboxes' own limits are what tests are about; the local budget must not slow the suite.
    return RateLimiter(10_000, burst=10_000)


@pytest.fixture
def vtiger_model() -> LatencyModel | None:
    """The vtiger sandbox's timing: none (it answers at once). A test that needs a real server's timing
    and create lock parametrizes it: `@pytest.mark.parametrize("vtiger_model", [LatencyModel()])`."""
    return None


@pytest.fixture
def world(tmp_path: Path, vtiger_model: LatencyModel | None) -> Iterator[World]:
    with (
        RealisticVtigerSandbox(fb_url=True, model=vtiger_model) as crm_box,
        VkSandbox(rate_limit=None) as vk_box,
        XSandbox() as x_box,
        FacebookSandbox() as fb_box,
    ):
        client = VtigerClient(crm_box.url, crm_box.username, crm_box.access_key)
        store = Store(tmp_path / "state.sqlite3")
        vk = VkProvider(
            vk_box.community_token, group_id=vk_box.group_id, api_url=vk_box.url, rate_limiter=fast_limiter()
        )
        x = XProvider(
            x_box.consumer_key,
            x_box.consumer_secret,
            x_box.access_token,
            x_box.access_token_secret,
            api_url=x_box.url,
            rate_limiter=fast_limiter(),
            wall_clock=x_box.clock,
        )
        fb = FacebookProvider(
            fb_box.page_token,
            fb_box.page_id,
            api_url=fb_box.url,
            rate_limiter=fast_limiter(),
            now=fb_box.clock,
        )
        crm = Crm(client, timezone="UTC")  # the sandbox keeps its database times in UTC
        crm.check_schema(["vk", "x", "facebook"])
        try:
            yield World(crm_box, vk_box, x_box, fb_box, client, crm, store, vk, x, fb)
        finally:
            for closable in (vk, x, fb, client, store):
                closable.close()
