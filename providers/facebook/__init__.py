"""Facebook: a Page's Messenger inbox through the Graph API (Send, Conversations, User Profile APIs).

provider.py   `FacebookProvider`, the network behind `providers.base.Provider`
urls.py       Facebook profile links <-> `ProfileRef`
transport.py  HTTP: the Graph client with the Page token
errors.py     Graph error codes -> `providers.errors`
messages.py   Graph times and the message cursor
rate.py       Facebook's rate budget: local pace and the server's usage hints
"""

from providers.facebook.provider import FacebookProvider

__all__ = ["FacebookProvider"]
