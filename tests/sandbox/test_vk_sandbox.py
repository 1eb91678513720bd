"""The VK sandbox behaves like api.vk.ru where the bridge relies on it; its answers follow VK's schema."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import requests

from sandbox.vk import VkSandbox
from tests.contracts_vk import validate_error, validate_execute, validate_response
from tests.fakes import FakeClock


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def vk(clock: FakeClock) -> Iterator[VkSandbox]:
    with VkSandbox(clock=clock) as sandbox:
        yield sandbox


@pytest.fixture
def http() -> Iterator[requests.Session]:
    with requests.Session() as session:
        yield session


def api(
    http: requests.Session, vk: VkSandbox, method: str, token: str | None = None, **params: Any
) -> dict[str, Any]:
    params.setdefault("v", "5.199")
    headers = {"Authorization": f"Bearer {token or vk.community_token}"}
    response = http.post(vk.url + method, data=params, headers=headers, timeout=5)
    assert response.status_code == 200  # VK answers errors with HTTP 200 too
    body: dict[str, Any] = response.json()
    return body


def test_v_is_required_with_vk_error_8(vk: VkSandbox, http: requests.Session) -> None:
    body = api(http, vk, "users.get", user_ids="1", v="")
    validate_error(body)
    assert body["error"]["error_code"] == 8
    assert "v (version) is required" in body["error"]["error_msg"]


def test_token_from_header_or_access_token_param_never_echoed(vk: VkSandbox, http: requests.Session) -> None:
    by_param = http.post(
        vk.url + "users.get",
        data={"v": "5.199", "user_ids": "1", "access_token": vk.community_token},
        timeout=5,
    ).json()
    assert by_param["response"][0]["id"] == 1
    missing = http.post(
        vk.url + "users.get", data={"v": "5.199", "user_ids": "nobody_here"}, timeout=5
    ).json()
    assert missing["error"]["error_code"] == 5
    vk.revoke_token(vk.community_token)
    revoked = http.post(
        vk.url + "users.get", data={"v": "5.199", "access_token": vk.community_token}, timeout=5
    )
    assert revoked.json()["error"]["error_code"] == 5
    assert vk.community_token not in revoked.text
    validate_error(revoked.json())


def test_users_get_maps_names_ids_and_leaves_unknown_out(vk: VkSandbox, http: requests.Session) -> None:
    uid = vk.add_user(
        "Ivan",
        "Idealov",
        screen_name="idealist",
        bdate="1.2",
        city="Tver",
        country="Russia",
        mobile_phone="+7 900",
        site="https://example.org",
        about="hi",
        photo_max_orig="https://pp.userapi.com/a.jpg",
    )
    body = api(
        http,
        vk,
        "users.get",
        user_ids=f"idealist,id{uid},ghost",
        fields="bdate,city,country,contacts,site,about,photo_max_orig,screen_name",
    )
    validate_response("users.get", body)
    assert [u["id"] for u in body["response"]] == [uid, uid]
    assert body["response"][0]["city"]["title"] == "Tver"
    assert api(http, vk, "users.get", user_ids="ghost")["error"]["error_code"] == 113


def test_private_and_deleted_profiles_hide_details(vk: VkSandbox, http: requests.Session) -> None:
    private = vk.add_user("P", "Rivate", is_closed=True, bdate="1.1.1990", mobile_phone="1")
    deleted = vk.add_user("D", "Eleted", deactivated="deleted", bdate="1.1.1990")
    body = api(http, vk, "users.get", user_ids=f"{private},{deleted}", fields="bdate,contacts")
    validate_response("users.get", body)
    shown, shell = body["response"]
    assert shown["is_closed"] is True and shown["can_access_closed"] is False and "bdate" not in shown
    assert shell == {"id": deleted, "first_name": "DELETED", "last_name": "", "deactivated": "deleted"}


def test_resolve_screen_name_users_and_communities(vk: VkSandbox, http: requests.Session) -> None:
    uid = vk.add_user("A", "B", screen_name="someone")
    gid = vk.add_community("somegroup")
    user = api(http, vk, "utils.resolveScreenName", screen_name="someone")
    group = api(http, vk, "utils.resolveScreenName", screen_name="somegroup")
    for body in (user, group):
        validate_response("utils.resolveScreenName", body)
    assert user["response"] == {"type": "user", "object_id": uid}
    assert group["response"] == {"type": "group", "object_id": gid}
    validate_error(api(http, vk, "utils.resolveScreenName", screen_name="nobody"))


def test_groups_get_by_id_without_ids_names_the_tokens_community(
    vk: VkSandbox, http: requests.Session
) -> None:
    """What `check` asks to tell a wrong group_id from a token without the messages right."""
    own = api(http, vk, "groups.getById")
    validate_response("groups.getById", own)
    assert [g["id"] for g in own["response"]["groups"]] == [vk.group_id]
    other = vk.add_community("othergroup")
    named = api(http, vk, "groups.getById", group_ids="othergroup")
    validate_response("groups.getById", named)
    assert named["response"]["groups"][0]["id"] == other


def test_random_id_dedup_per_sender(vk: VkSandbox, http: requests.Session) -> None:
    uid = vk.add_user("A", "B")
    first = api(http, vk, "messages.send", peer_id=uid, random_id=77, message="one")
    again = api(http, vk, "messages.send", peer_id=uid, random_id=77, message="one")
    validate_response("messages.send", first)
    assert first == again
    assert len(vk.delivered_to(uid)) == 1
    assert api(http, vk, "messages.send", peer_id=uid, message="x")["error"]["error_code"] == 100


def test_a_repeated_random_id_to_another_person_answers_the_first_message_and_delivers_nothing(
    vk: VkSandbox, http: requests.Session
) -> None:
    anna, boris = vk.add_user("Anna", "A"), vk.add_user("Boris", "B")
    first = api(http, vk, "messages.send", peer_id=anna, random_id=-5, message="for Anna")["response"]
    again = api(http, vk, "messages.send", peer_id=boris, random_id=-5, message="for Boris")["response"]
    assert again == first and vk.delivered_to(boris) == []
    found = api(http, vk, "messages.getById", message_ids=f"{again},999999")
    validate_response("messages.getById", found)
    assert found["response"]["count"] == 1
    (item,) = found["response"]["items"]
    assert (item["id"], item["peer_id"], item["text"], item["random_id"]) == (first, anna, "for Anna", -5)
    assert api(http, vk, "messages.getById")["error"]["error_code"] == 100


@pytest.mark.parametrize(
    ("setup", "code"),
    [
        ({"allows_messages": False}, 901),
        ({"messages_privacy": True}, 902),
        ({"blacklisted_us": True}, 900),
        ({"deactivated": "banned"}, 18),
    ],
)
def test_send_refusals(vk: VkSandbox, http: requests.Session, setup: dict[str, Any], code: int) -> None:
    uid = vk.add_user("A", "B", **setup)
    body = api(http, vk, "messages.send", peer_id=uid, random_id=1, message="hi")
    validate_error(body)
    assert body["error"]["error_code"] == code
    assert vk.delivered_to(uid) == []


def test_unknown_user_and_user_token_without_messages_right(vk: VkSandbox, http: requests.Session) -> None:
    assert (
        api(http, vk, "messages.send", peer_id=999999, random_id=1, message="x")["error"]["error_code"] == 113
    )
    body = api(http, vk, "messages.send", token=vk.user_token, peer_id=1, random_id=1, message="x")
    assert body["error"]["error_code"] == 15


def test_incoming_lets_the_community_answer(vk: VkSandbox, http: requests.Session) -> None:
    uid = vk.add_user("A", "B", allows_messages=False)
    allowed = api(http, vk, "messages.isMessagesFromGroupAllowed", group_id=vk.group_id, user_id=uid)
    validate_response("messages.isMessagesFromGroupAllowed", allowed)
    assert allowed["response"]["is_allowed"] == 0
    vk.incoming(uid, "hello")
    assert api(http, vk, "messages.send", peer_id=uid, random_id=3, message="hi")["response"] > 0


def test_conversations_and_history_windows(vk: VkSandbox, http: requests.Session) -> None:
    a, b = vk.add_user("A", "A"), vk.add_user("B", "B")
    ids = [vk.incoming(a, f"a{n}") for n in range(5)]
    vk.outgoing_outside(b, "from VK UI")
    conversations = api(http, vk, "messages.getConversations", count=200)
    validate_response("messages.getConversations", conversations)
    assert [c["conversation"]["peer"]["id"] for c in conversations["response"]["items"]] == [b, a]
    newest = api(http, vk, "messages.getHistory", peer_id=a, count=2)
    after = api(http, vk, "messages.getHistory", peer_id=a, start_message_id=ids[1], offset=-2, count=2)
    clamped = api(http, vk, "messages.getHistory", peer_id=a, start_message_id=ids[3], offset=-3, count=3)
    for body in (newest, after, clamped):
        validate_response("messages.getHistory", body)
    assert [m["id"] for m in newest["response"]["items"]] == [ids[4], ids[3]]
    assert [m["id"] for m in after["response"]["items"]] == [ids[3], ids[2]]
    # Fewer newer messages than asked: VK's window slides back over the start message and older ones.
    assert [m["id"] for m in clamped["response"]["items"]] == [ids[4], ids[3], ids[2]]


def test_execute_runs_the_call_list_with_execute_errors(vk: VkSandbox, http: requests.Session) -> None:
    uid = vk.add_user("A", "B", screen_name="known")
    code = (
        'return [API.users.get({"user_ids": "known", fields: \'screen_name\'}), '
        'API.users.get({user_ids: [404404]}), API.utils.resolveScreenName({"screen_name": "known"})];'
    )
    body = api(http, vk, "execute", code=code)
    validate_execute(["users.get", "users.get", "utils.resolveScreenName"], body)
    assert body["response"][0][0]["id"] == uid
    assert body["execute_errors"] == [
        {"method": "users.get", "error_code": 113, "error_msg": "Invalid user id"}
    ]
    assert vk.count("execute") == 1


@pytest.mark.parametrize(
    "code",
    [
        "return __import__('os').system('true');",
        "var a = API.users.get({}); return a;",
        "return [" + ",".join(["API.users.get({})"] * 26) + "];",
    ],
)
def test_execute_refuses_anything_else_with_error_12(
    vk: VkSandbox, http: requests.Session, code: str
) -> None:
    body = api(http, vk, "execute", code=code)
    validate_error(body)
    assert body["error"]["error_code"] == 12


def test_rate_limit_per_token_on_the_injected_clock(
    vk: VkSandbox, http: requests.Session, clock: FakeClock
) -> None:
    codes = [api(http, vk, "users.get", user_ids="1").get("error", {}).get("error_code") for _ in range(21)]
    assert codes[:20] == [None] * 20 and codes[20] == 6
    assert api(http, vk, "users.get", token=vk.user_token, user_ids="1").get("error") is None  # own budget
    clock.now += 1.0
    assert "response" in api(http, vk, "users.get", user_ids="1")
    assert vk.rate_limited == 1


@pytest.mark.parametrize("code", [9, 10, 14, 5])
def test_error_knobs_answer_vk_envelopes(vk: VkSandbox, http: requests.Session, code: int) -> None:
    vk.fail_next(code, method="users.get")
    body = api(http, vk, "users.get", user_ids="1")
    validate_error(body)
    assert body["error"]["error_code"] == code
    if code == 14:
        assert body["error"]["captcha_sid"] and body["error"]["captcha_img"]
    assert "response" in api(http, vk, "users.get", user_ids="1")


def test_get_with_query_parameters_works_like_vk(vk: VkSandbox, http: requests.Session) -> None:
    params = {"v": "5.199", "user_ids": "1", "access_token": vk.community_token}
    body = http.get(vk.url + "users.get", params=params, timeout=5).json()
    validate_response("users.get", body)
    assert body["response"][0]["id"] == 1
    assert http.get(vk.url + "no.such", params=params, timeout=5).json()["error"]["error_code"] == 3
