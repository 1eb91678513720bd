"""The VK API methods the sandbox serves, as functions of (world, token, params) -> response.

Behaviour follows dev.vk.com and VKCOM/vk-api-schema 5.199 (its JSON schemas are in contracts/vk-api-schema/);
where VK is undocumented the choice is stated next to the code.
"""

from __future__ import annotations

import bisect
import time
from collections.abc import Callable
from typing import Any

from sandbox.vk.lpstate import EVENT_FLAGS, api_version_tuple
from sandbox.vk.model import VkApiError, VkMessage, VkToken, VkUser, World, error

Method = Callable[[World, VkToken, dict[str, str]], Any]

MAX_USERS_PER_CALL = 1000
MAX_MESSAGE_LENGTH = 9000  # messages.send `message` maxLength in the schema


def _int(params: dict[str, str], name: str, default: int | None = None) -> int | None:
    raw = params.get(name, "")
    if raw == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise error(100, f"{name} not integer") from None


def _split(raw: str) -> list[str]:
    return [part.strip() for part in raw.split(",") if part.strip()]


def _user_json(user: VkUser, fields: set[str], world: World) -> dict[str, Any]:
    body: dict[str, Any] = {"id": user.id, "first_name": user.first_name, "last_name": user.last_name}
    if user.deactivated:
        # VK omits every optional field of a deleted/banned page.
        body["deactivated"] = user.deactivated
        if user.deactivated == "deleted":
            body["first_name"], body["last_name"] = "DELETED", ""
        return body
    body["can_access_closed"] = user.can_access_closed or not user.is_closed
    body["is_closed"] = user.is_closed
    private = user.is_closed and not user.can_access_closed
    data = user.fields
    if "screen_name" in fields:
        body["screen_name"] = user.domain
    if "domain" in fields:
        body["domain"] = user.domain
    for photo in ("photo_max_orig", "photo_200"):
        if photo in fields and data.get(photo):
            body[photo] = data[photo]
    if private:
        return body  # a private profile shows its name and photo only
    if "bdate" in fields and data.get("bdate"):
        body["bdate"] = data["bdate"]
    for geo in ("city", "country"):
        if geo in fields and data.get(geo):
            body[geo] = {"id": world.geo_id(data[geo]), "title": data[geo]}
    if "contacts" in fields:
        for phone in ("mobile_phone", "home_phone"):
            if data.get(phone) is not None:
                body[phone] = data[phone]
    for plain in ("site", "about"):
        if plain in fields and data.get(plain) is not None:
            body[plain] = data[plain]
    return body


def users_get(world: World, token: VkToken, params: dict[str, str]) -> Any:
    refs = _split(params.get("user_ids", ""))
    if not refs and token.kind == "user":
        refs = [str(token.owner_id)]
    if len(refs) > MAX_USERS_PER_CALL:
        raise error(100, "user_ids is too long")
    fields = set(_split(params.get("fields", "")))
    found: list[VkUser] = []
    for ref in refs:
        user = world.lookup_user(ref)
        if user is not None:
            found.append(user)
    # VK leaves unknown names/ids out of a batch; a request naming nobody valid is error 113.
    if refs and not found:
        raise error(113)
    return [_user_json(user, fields, world) for user in found]


def resolve_screen_name(world: World, token: VkToken, params: dict[str, str]) -> Any:
    name = params.get("screen_name", "").strip()
    if not name:
        raise error(100, "screen_name is undefined")
    user = world.lookup_user(name) if not name.isdigit() else None
    if user is not None:
        return {"type": "user", "object_id": user.id}
    community = world.community_by_name(name)
    if community is not None:
        return {"type": "group", "object_id": community.id}
    raise error(104)


def _need_messages_right(token: VkToken) -> None:
    if "messages" not in token.rights:
        raise error(15)


def _sender_group(world: World, token: VkToken, params: dict[str, str]) -> int:
    if token.kind == "group":
        group_id = _int(params, "group_id", token.owner_id)
        if group_id != token.owner_id:
            raise error(15, "group_id does not match the token")
        return token.owner_id
    return world.group_id  # a user token with messages rights writes as itself; one mailbox here


def messages_send(world: World, token: VkToken, params: dict[str, str]) -> Any:
    _need_messages_right(token)
    _sender_group(world, token, params)
    random_id = _int(params, "random_id")
    if random_id is None:
        raise error(100, "random_id is a required parameter")
    peer = _int(params, "peer_id") or _int(params, "user_id")
    if peer is None or peer <= 0:
        raise error(100, "peer_id is undefined")
    text = params.get("message", "")
    if not text and not params.get("attachment"):
        raise error(100, "message is empty or invalid")
    if len(text) > MAX_MESSAGE_LENGTH:
        raise error(914)
    sender = token.owner_id if token.kind == "user" else -token.owner_id
    if random_id != 0:
        # VK (messages.send, 2019 Russian docs): random_id is unique per API_ID and sender "for the whole
        # message history". A repeat delivers nothing and answers the first message's id, to whomever and
        # with whatever text that one was sent; nothing in the answer tells the two cases apart.
        earlier = world.sent_by_random_id.get((sender, random_id))
        if earlier is not None:
            return earlier.id
    user = world.users.get(peer)
    if user is None:
        raise error(113)
    if user.deactivated:
        raise error(18)
    if user.blacklisted_us:
        raise error(900)
    if user.messages_privacy:
        raise error(902)
    if token.kind == "group" and not user.allows_messages:
        raise error(901)
    message = world.add_message(
        peer, out=True, text=text, date=int(time.time()), random_id=random_id, via_api=True
    )
    if random_id != 0:
        world.sent_by_random_id[(sender, random_id)] = message
    return message.id


def _conversation_json(world: World, peer_id: int, last: VkMessage) -> dict[str, Any]:
    history = world.history(peer_id)
    user = world.users.get(peer_id)
    incoming = [m.id for m in history if not m.out]
    outgoing = [m.id for m in history if m.out]
    return {
        "conversation": {
            "peer": {"id": peer_id, "type": "user", "local_id": peer_id},
            "last_message_id": last.id,
            "last_conversation_message_id": last.conversation_message_id,
            "in_read": max(incoming, default=0),
            "out_read": max(outgoing, default=0),
            "version": last.id,
            "can_write": {"allowed": bool(user and user.allows_messages and not user.deactivated)},
        },
        "last_message": last.as_json(),
    }


def messages_get_conversations(world: World, token: VkToken, params: dict[str, str]) -> Any:
    _need_messages_right(token)
    _sender_group(world, token, params)
    count = _int(params, "count", 20) or 0
    offset = _int(params, "offset", 0) or 0
    if not 0 <= count <= 200 or offset < 0:
        raise error(100, "count must be 0..200")
    last_by_peer: dict[int, VkMessage] = {}
    for message in world.messages:
        last_by_peer[message.peer_id] = message  # ascending ids: the last one wins
    ordered = sorted(last_by_peer.items(), key=lambda item: item[1].id, reverse=True)
    page = ordered[offset : offset + count]
    return {"count": len(ordered), "items": [_conversation_json(world, p, m) for p, m in page]}


def messages_get_history(world: World, token: VkToken, params: dict[str, str]) -> Any:
    _need_messages_right(token)
    _sender_group(world, token, params)
    peer = _int(params, "peer_id") or _int(params, "user_id")
    if peer is None:
        raise error(100, "peer_id is undefined")
    count = _int(params, "count", 20) or 0
    offset = _int(params, "offset", 0) or 0
    start = _int(params, "start_message_id")
    rev = _int(params, "rev", 0) == 1
    if not 0 <= count <= 200:
        raise error(100, "count must be 0..200")
    history = world.history(peer)  # oldest first
    ordered = history if rev else list(reversed(history))
    if start is not None and start > 0:
        # dev.vk.com: with start_message_id the offset must be <= 0; a negative offset reaches
        # towards newer messages and the window is clamped at the newest end.
        if offset > 0:
            raise error(100, "offset must be <= 0 with start_message_id")
        before = sum(1 for m in ordered if (m.id < start if rev else m.id > start))
        begin = max(0, before + offset)
    else:
        if offset < 0:
            raise error(100, "offset must be >= 0")
        begin = offset
    window = ordered[begin : begin + count]
    return {"count": len(history), "items": [m.as_json() for m in window]}


def messages_get_by_id(world: World, token: VkToken, params: dict[str, str]) -> Any:
    """Messages of the community mailbox by id; ids it does not hold are left out, as VK does."""
    _need_messages_right(token)
    _sender_group(world, token, params)
    raw = _split(params.get("message_ids", ""))
    if not raw:
        raise error(100, "message_ids is undefined")
    if len(raw) > 100:
        raise error(100, "message_ids: no more than 100 ids")
    try:
        wanted = [int(part) for part in raw]
    except ValueError:
        raise error(100, "message_ids not integer") from None
    ids = [m.id for m in world.messages]  # ascending
    items = []
    for message_id in wanted:
        at = bisect.bisect_left(ids, message_id)
        if at < len(ids) and ids[at] == message_id:
            items.append(world.messages[at].as_json())
    return {"count": len(items), "items": items}


def messages_is_allowed(world: World, token: VkToken, params: dict[str, str]) -> Any:
    group_id = _int(params, "group_id")
    user_id = _int(params, "user_id")
    if not group_id or not user_id:
        raise error(100, "group_id and user_id are required")
    user = world.users.get(user_id)
    allowed = bool(group_id == world.group_id and user and user.allows_messages and not user.deactivated)
    return {"is_allowed": int(allowed)}


def groups_get_by_id(world: World, token: VkToken, params: dict[str, str]) -> Any:
    """5.199 shape: `{"groups": [...], "profiles": []}`; without ids, a community token's own community."""
    refs = _split(params.get("group_ids", "")) or _split(params.get("group_id", ""))
    if not refs:
        if token.kind != "group":
            raise error(100, "group_ids is undefined")
        refs = [str(token.owner_id)]
    found = []
    for ref in refs:
        community = world.communities.get(int(ref)) if ref.isdigit() else world.community_by_name(ref)
        if community is None:
            raise error(100, "invalid group id")
        found.append(
            {
                "id": community.id,
                "name": community.name,
                "screen_name": community.screen_name,
                "is_closed": 0,
                "type": "page",
            }
        )
    return {"groups": found, "profiles": []}


def _long_poll_group(world: World, token: VkToken, params: dict[str, str], *, manage: bool) -> int:
    """The community whose Bots Long Poll `token` may use (see sandbox/vk/longpoll.py for the choices)."""
    group_id = _int(params, "group_id")
    if group_id is None or group_id <= 0:
        raise error(100, "group_id is undefined")
    # VK answers 15 to a token that may not read the community's events (public issue threads about
    # groups.getLongPollServer); a user token qualifies only as the community's manager here.
    if group_id != world.group_id or (token.kind == "group" and token.owner_id != group_id):
        raise error(15)
    if (token.kind == "user" or manage) and "manage" not in token.rights:
        raise error(15)
    return group_id


def groups_get_long_poll_server(world: World, token: VkToken, params: dict[str, str]) -> Any:
    group_id = _long_poll_group(world, token, params, manage=False)
    lp = world.longpoll
    if not lp.enabled:
        raise error(100, "longpoll for this group is not enabled.")
    return {"key": lp.issue_key(group_id), "server": f"{lp.server_url}{group_id}", "ts": str(lp.last_ts)}


def groups_get_long_poll_settings(world: World, token: VkToken, params: dict[str, str]) -> Any:
    _long_poll_group(world, token, params, manage=True)
    lp = world.longpoll
    return {
        "is_enabled": lp.enabled,
        "api_version": lp.api_version,
        "events": {name: int(name in lp.events_on) for name in EVENT_FLAGS},
    }


def groups_set_long_poll_settings(world: World, token: VkToken, params: dict[str, str]) -> Any:
    _long_poll_group(world, token, params, manage=True)
    lp = world.longpoll
    version = params.get("api_version")
    if version is not None and api_version_tuple(version) is None:
        raise error(100, "api_version is invalid")
    flags = {name: _int(params, name) for name in ("enabled", *EVENT_FLAGS)}
    if any(value not in (None, 0, 1) for value in flags.values()):
        raise error(100, "flags must be 0 or 1")
    if flags["enabled"] is not None:
        lp.enabled = flags["enabled"] == 1
    if version is not None:
        lp.api_version = version
    for name in EVENT_FLAGS:
        if flags[name] == 1:
            lp.events_on.add(name)
        elif flags[name] == 0:
            lp.events_on.discard(name)
    return 1


METHODS: dict[str, Method] = {
    "users.get": users_get,
    "utils.resolveScreenName": resolve_screen_name,
    "messages.send": messages_send,
    "messages.getConversations": messages_get_conversations,
    "messages.getHistory": messages_get_history,
    "messages.getById": messages_get_by_id,
    "messages.isMessagesFromGroupAllowed": messages_is_allowed,
    "groups.getById": groups_get_by_id,
    "groups.getLongPollServer": groups_get_long_poll_server,
    "groups.getLongPollSettings": groups_get_long_poll_settings,
    "groups.setLongPollSettings": groups_set_long_poll_settings,
}


def call(world: World, token: VkToken, method: str, params: dict[str, str]) -> Any:
    handler = METHODS.get(method)
    if handler is None:
        raise VkApiError(3, "Unknown method passed")
    return handler(world, token, params)
