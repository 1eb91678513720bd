"""What `record.py` asks a real vtiger: first the calls the bridge itself makes (through its own `Crm` and
`VtigerClient`, so the requests are byte for byte the bridge's), then the quirks a twin must copy.

Every step is labelled; the order matters (ids depend on it) and the CRM must be fresh. Steps that must
fail are labelled `ERR ...`. Written for SalesPlatform 7.2 (Russian install, `vk_url`/`tw_url`, messages
module SPSocialConnector); a step only reads what earlier steps created.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from typing import Any
from zoneinfo import ZoneInfo

from record import RecordingSession

from bridge.config import MessagesConfig
from bridge.crm import Crm
from vtiger_ws import VtigerClient, VtigerError, vtql

MOSCOW = ZoneInfo("Europe/Moscow")
WHEN = dt.datetime(2026, 11, 30, 10, 0, 0, tzinfo=MOSCOW)
OWNER = "19x1"  # the admin of a fresh install, owner of what the quirks create


class Raw:
    """Plain webservice calls on their own session, through the recording session."""

    def __init__(self, session: RecordingSession, url: str, user: str, key: str) -> None:
        self.http = session
        self.endpoint = url.rstrip("/") + "/webservice.php"
        self.user, self.key = user, key
        self.session = ""

    def call(self, label: str, method: str, **params: Any) -> Any:
        self.http.label = label
        params = {
            k: json.dumps(v, ensure_ascii=False) if isinstance(v, (dict, list)) else v
            for k, v in params.items()
        }
        if self.session and "sessionName" not in params:
            params["sessionName"] = self.session
        params = {k: v for k, v in params.items() if v is not None}
        if method == "GET":
            response = self.http.get(self.endpoint, params=params, timeout=60)
        else:
            response = self.http.post(self.endpoint, data=params, timeout=60)
        try:
            return response.json().get("result")
        except ValueError:
            return None

    def login(self) -> None:
        token = self.call("getchallenge", "GET", operation="getchallenge", username=self.user)["token"]
        digest = hashlib.md5((token + self.key).encode()).hexdigest()  # vtiger's login digest
        self.session = self.call("login", "POST", operation="login", username=self.user, accessKey=digest)[
            "sessionName"
        ]

    def create(self, label: str, module: str, element: dict[str, Any]) -> str:
        result = self.call(label, "POST", operation="create", elementType=module, element=element)
        return str(result["id"]) if isinstance(result, dict) else ""

    def query(self, label: str, text: str) -> Any:
        return self.call(label, "GET", operation="query", query=text)


def _step(session: RecordingSession, label: str, fn: Any, *args: Any, **kwargs: Any) -> Any:
    session.label = label
    try:
        return fn(*args, **kwargs)
    except VtigerError:
        return None


def bridge_calls(session: RecordingSession, url: str, user: str, key: str) -> dict[str, str]:
    """The bridge's own requests: schema check, URL index, messages, links, comments, profile import."""
    client = VtigerClient(url, user, key, session=session)
    crm = Crm(
        client,
        messages=MessagesConfig(type_outbound="Исходящее", type_inbound="Входящее"),
        timezone="Europe/Moscow",
    )
    s = session
    owner = str(_step(s, "bridge login", lambda: client.login_info.user_id))
    _step(s, "bridge check_schema", crm.check_schema, ["vk", "x", "facebook"])
    _step(s, "bridge listtypes", client.listtypes)
    _step(s, "bridge probe 4-byte utf8", crm.probe_4byte_utf8, owner)
    ids: dict[str, str] = {}
    people = [
        (
            "ivan",
            "Contacts",
            {
                "firstname": "Иван",
                "lastname": "Петров",
                "vk_url": "https://vk.com/id1",
                "tw_url": "https://twitter.com/ivanpetrov",
                "email": "ivan@example.com",
            },
        ),
        ("nofirst", "Contacts", {"lastname": "Сидоров", "vk_url": "https://vk.com/sidorov"}),
        ("account", "Accounts", {"accountname": "ООО Ромашка", "vk_url": "https://vk.com/club1"}),
        ("lead", "Leads", {"lastname": "Durov", "firstname": "", "vk_url": "https://vk.com/id7"}),
    ]
    for name, module, fields in people:
        created = _step(
            s,
            f"bridge create {module} ({name})",
            client.create,
            module,
            {**fields, "assigned_user_id": owner},
        )
        ids[name] = str(created["id"]) if created else ""
    for module in ("Contacts", "Accounts", "Leads"):
        columns = ["id", "modifiedtime", "tw_url", "vk_url"]
        rows = _step(
            s,
            f"bridge index {module} (keyset pages)",
            lambda m=module, c=columns: list(client.query_iter(m, fields=c)),
        )
        if rows:
            since = min(str(r["modifiedtime"]) for r in rows)
            _step(
                s,
                f"bridge index {module} (changed since)",
                lambda m=module, c=columns, t=since: list(client.changed_since(m, t, fields=c)),
            )
    _step(s, "bridge owners_of", crm.owners_of, [ids["ivan"], ids["nofirst"], ids["lead"], ids["account"]])
    statuses = {"vk": ("Received", "501")}
    message = (
        _step(
            s,
            "bridge create message (inbound)",
            crm.create_message,
            text="Здравствуйте 🙂",
            inbound=True,
            when=WHEN,
            owner=owner,
            statuses=statuses,
        )
        or ""
    )
    ids["message"] = message
    _step(s, "bridge link message -> Contact", crm.link_message, message, ids["ivan"])
    _step(s, "bridge link message -> Account", crm.link_message, message, ids["account"])
    _step(s, "bridge find_messages vk", crm.find_messages, "vk", ["501", "502"])
    outbound = (
        _step(
            s,
            "bridge create message (outbound)",
            crm.create_message,
            text="Ответ: O'Brien & <b>",
            inbound=False,
            when=WHEN + dt.timedelta(minutes=1),
            owner=owner,
            statuses={"vk": ("Not sent", "")},
        )
        or ""
    )
    ids["outbound"] = outbound
    _step(s, "bridge find_outbound by id", crm.find_outbound, {"vk": "501"}, when=None, text="")
    _step(
        s,
        "bridge find_outbound by time and text",
        crm.find_outbound,
        {},
        text="Ответ: O'Brien & <b>",
        when=WHEN + dt.timedelta(minutes=1),
    )
    _step(s, "bridge set_statuses", crm.set_statuses, outbound, {"vk": ("Sent", "777")})
    _step(s, "bridge link outbound -> Lead", crm.link_message, outbound, ids["lead"])
    _step(s, "bridge comment on Contact", crm.comment, ids["ivan"], "Отправлено во ВКонтакте", owner)
    _step(
        s,
        "bridge query_related Contact messages",
        client.query_related,
        ids["ivan"],
        "SPSocialConnector",
        "SPSocialConnector",
        fields=["id", "message", "type", "vk_status", "vk_message_id"],
    )
    _step(
        s,
        "bridge query_related Lead messages (where)",
        client.query_related,
        ids["lead"],
        "SPSocialConnector",
        "SPSocialConnector",
        fields=["id", "message"],
        where=vtql.eq("vk_status", "Sent"),
    )
    record = _step(s, "bridge retrieve Contact (profile import)", client.retrieve, ids["nofirst"])
    if record:
        _step(
            s,
            "bridge revise Contact (profile import)",
            client.revise,
            {"id": ids["nofirst"], "firstname": "Пётр", "mobile": "+7 900 000-00-01", "title": "CEO 🚀"},
        )
    _step(s, "bridge revise clears a field", client.revise, {"id": ids["lead"], "description": ""})
    _step(s, "bridge retrieve Lead", client.retrieve, ids["lead"])
    return ids


def run_scenario(session: RecordingSession, url: str, user: str, key: str) -> None:
    from scenario_quirks import quirks

    ids = bridge_calls(session, url, user, key)
    raw = Raw(session, url, user, key)
    raw.login()
    quirks(raw, ids)
