"""The MAX Bot API sandbox (see `sandbox.max.server.MaxSandbox`)."""

from __future__ import annotations

from sandbox.max.model import MaxApiError
from sandbox.max.server import MaxSandbox

__all__ = ["MaxApiError", "MaxSandbox"]
