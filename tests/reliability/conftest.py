"""Sandboxes in this process, the daemon in its own; VK and X limits opened so hundreds of sends fit."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from sandbox.vk import VkSandbox
from sandbox.vtiger import VtigerSandbox
from sandbox.x import XSandbox
from tests.reliability.helpers import Boxes


@pytest.fixture
def boxes() -> Iterator[Boxes]:
    with VtigerSandbox() as crm, VkSandbox(rate_limit=None) as vk, XSandbox() as x:
        # The sandboxes' real limits are tested elsewhere; here they would only stretch the run.
        x.limits["dm_create"] = 1_000_000
        x.limits["users_by"] = 1_000_000
        x.limits["dm_conversation_events"] = 1_000_000
        yield Boxes(crm, vk, x)
