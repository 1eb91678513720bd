"""Plain-`requests` helpers and fixtures for the vtiger sandbox tests (the real client is written
elsewhere). Test modules import the fixtures from here, so no conftest is shared with other sandboxes."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from sandbox.vtiger import VtigerSandbox

CONTRACTS = Path(__file__).resolve().parents[2] / "contracts" / "vtiger" / "recorded-salesplatform-7.2"


class Ws:
    """A minimal webservice caller: GET ops in the query string, POST ops in a form body."""

    def __init__(self, crm: VtigerSandbox, http: requests.Session) -> None:
        self.crm = crm
        self.http = http
        self.endpoint = crm.url + "/webservice.php"
        self.session = ""

    def raw(self, method: str, params: dict[str, str]) -> requests.Response:
        if method == "GET":
            return self.http.get(self.endpoint, params=params, timeout=10)
        return self.http.post(self.endpoint, data=params, timeout=10)

    def call(self, method: str, operation: str, **params: str) -> Any:
        body = {"operation": operation, **params}
        if self.session and operation not in ("getchallenge", "login"):
            body["sessionName"] = self.session
        response = self.raw(method, body)
        assert response.status_code == 200, (operation, response.status_code)
        return response.json()

    def login(self, username: str = "admin", access_key: str | None = None) -> Any:
        token = self.call("GET", "getchallenge", username=username)["result"]["token"]
        key = hashlib.md5((token + (access_key or self.crm.access_key)).encode()).hexdigest()
        answer = self.call("POST", "login", username=username, accessKey=key)
        self.session = answer["result"]["sessionName"]
        return answer

    def query(self, text: str) -> Any:
        return self.call("GET", "query", query=text)

    def create(self, module: str, element: str) -> Any:
        return self.call("POST", "create", elementType=module, element=element)


def error_of(answer: Any) -> tuple[Any, str]:
    assert answer["success"] is False, answer
    return answer["error"]["code"], answer["error"]["message"]


@pytest.fixture
def http() -> Iterator[requests.Session]:
    with requests.Session() as session:
        yield session


@pytest.fixture
def crm() -> Iterator[VtigerSandbox]:
    with VtigerSandbox() as sandbox:
        yield sandbox


@pytest.fixture
def ws(crm: VtigerSandbox, http: requests.Session) -> Ws:
    caller = Ws(crm, http)
    caller.login()
    return caller
