"""X (Twitter): direct messages through X API v2 with an OAuth 1.0a user token, profiles of accounts.

provider.py   `XProvider`, the network behind `providers.base.Provider`
urls.py       X profile links <-> `ProfileRef`
transport.py  HTTP: signed requests
errors.py     X's error answers -> `providers.errors`
messages.py   DM events -> `NetworkMessage`
profiles.py   `User` objects -> `Profile`
rate.py       X's rate budget: per-endpoint windows and the local pace
"""

from providers.x.provider import E_DM_CREATE, E_DM_EVENTS, E_ME, XProvider

__all__ = ["E_DM_CREATE", "E_DM_EVENTS", "E_ME", "XProvider"]
