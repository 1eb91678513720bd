"""Fixtures: a vtiger sandbox (real HTTP on 127.0.0.1) and a client logged in to it."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from sandbox.vtiger import VtigerSandbox
from vtiger_ws import VtigerClient


@pytest.fixture(params=["salesplatform-7.2"])
def crm(request: pytest.FixtureRequest) -> Iterator[Any]:
    with VtigerSandbox(profile=request.param) as sandbox:
        yield sandbox


@pytest.fixture
def crm_vtiger7() -> Iterator[Any]:
    with VtigerSandbox(profile="vtiger-7") as sandbox:
        yield sandbox


def make_client(crm: Any, **kwargs: Any) -> VtigerClient:
    kwargs.setdefault("timeout", 5.0)
    return VtigerClient(crm.url, crm.username, crm.access_key, **kwargs)


@pytest.fixture
def client(crm: Any) -> Iterator[VtigerClient]:
    with make_client(crm) as c:
        yield c
