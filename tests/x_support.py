"""Helpers shared by the X provider and sandbox tests: wiring on a shared fake clock, contract checks."""

from __future__ import annotations

import json
from typing import Any

from providers.ratelimit import RateLimiter
from providers.x import XProvider
from sandbox.x import XSandbox
from tests.contracts_x import operation, validate_request_body, validate_response
from tests.fakes import FakeClock

EPOCH_START = 1_800_000_000.0  # 2027-01-15: the fake clock doubles as the epoch clock X's headers use


def make_provider(x: XSandbox, clock: FakeClock, **overrides: Any) -> XProvider:
    options: dict[str, Any] = {
        "api_url": x.url,
        "clock": clock,
        "sleep": clock.sleep,
        "wall_clock": clock,
        "timeout": 5.0,
        "rate_limiter": RateLimiter(50.0, 50, clock=clock, sleep=clock.sleep),
    }
    options.update(overrides)
    return XProvider(x.consumer_key, x.consumer_secret, x.access_token, x.access_token_secret, **options)


def contract_violations(x: XSandbox) -> list[str]:
    """Every JSON answer the sandbox gave that the OpenAPI spec does not allow (empty = all conform)."""
    problems: list[str] = []
    for request, response in list(x.responses):
        content_type = response.headers.get("Content-Type", "")
        if "json" not in content_type:
            continue  # the 503 of `fail_after_delivery` is an empty HTML error, as X's edge sends
        try:
            operation(request.method, request.path)
        except LookupError:
            continue  # paths X does not have (v1.1, typos) are not part of the v2 contract
        if request.operation == "dm_create" and response.status == 201:
            # what the provider sent must be a body X accepts, too
            for error in validate_request_body(request.method, request.path, request.json()):
                problems.append(f"request {request.method} {request.path}: {error}")
        body = json.loads(response.body)
        for error in validate_response(request.method, request.path, response.status, content_type, body):
            problems.append(f"{request.method} {request.path} {response.status}: {error}")
    return problems
