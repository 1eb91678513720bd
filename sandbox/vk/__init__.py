"""The VK API sandbox (see `sandbox.vk.server.VkSandbox`)."""

from __future__ import annotations

from sandbox.vk.model import VkApiError
from sandbox.vk.server import VkSandbox

__all__ = ["VkApiError", "VkSandbox"]
