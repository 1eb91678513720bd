"""VK (VKontakte): private messages of a community, profiles of people.

provider.py   `VkProvider`, the network behind `providers.base.Provider`
urls.py       VK profile links <-> `ProfileRef`
transport.py  HTTP: one POST per call, `execute` batching, retries
errors.py     VK error codes -> `providers.errors`
messages.py   skip-proof import of a community's messages
profiles.py   `users.get` objects -> `Profile`
rate.py       VK's rate budget per token type, and the bridge's margin under it
"""

from providers.vk.provider import VkProvider, random_id_for

__all__ = ["VkProvider", "random_id_for"]
