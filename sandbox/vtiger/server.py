"""The HTTP double of vtiger's webservice.php (SalesPlatform 7.2 by default)."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any, cast
from zoneinfo import ZoneInfo

from .._http import DROP, Request, Response, SandboxServer
from . import queryexec, records, relations
from .auth import Auth, Session
from .envelope import (
    AUTH_REQUIRED,
    INVALID_SESSION,
    PERMISSION_DENIED,
    UNKNOWN_ERROR,
    PhpFatal,
    WsError,
    fatal,
    ok,
)
from .envelope import error as error_response
from .operations import OPERATIONS, request_value
from .profiles import get_profile
from .schema import Schema
from .storage import USERS_PREFIX, Record, Store, User, split_ws_id
from .transactions import PendingSave, Transactions
from .workflows import ON_EVERY_SAVE, RequestScope, Task, Workflow, Workflows

DEFAULT_ACCESS_KEY = "sandboxAccessKey01"


class VtigerSandbox(SandboxServer):
    name = "vtiger"

    def __init__(
        self,
        profile: str = "salesplatform-7.2",
        *,
        access_key: str = DEFAULT_ACCESS_KEY,
        fb_url: bool = False,
        messengers: bool = False,
        host: str = "127.0.0.1",
        port: int = 0,
        session_idle_seconds: float | None = 1440.0,
        clock: Callable[[], datetime] | None = None,
        timezone: str = "UTC",
    ) -> None:
        super().__init__(host, port)
        self.profile = get_profile(profile)
        self._fixed_time: datetime | None = None
        self._external_clock = clock
        # messengers: the SocialBridge module's Telegram and MAX fields are installed (messenger_fields.py).
        self.schema = Schema(self.profile, fb_url=fb_url, messengers=messengers)
        # Times are stored and answered in config.inc.php's time zone (a Russian install: Europe/Moscow);
        # UTC by default, which is what the tests' bridge is configured with.
        self.store = Store(self.schema, self.profile, self.clock, ZoneInfo(timezone))
        self.auth = Auth(self.store, self.clock, session_idle_seconds)
        self.username = "admin"
        self.access_key = access_key
        self.store.users[1] = User(
            1,
            "admin",
            access_key,
            is_admin=True,
            last_name=self.profile.admin_last_name,
            email="admin@example.com",
        )
        self.lock = self.store.lock
        self._expire_on: set[str] = set()
        self.workflows = Workflows()
        self.transactions = Transactions(self.store)

    # --- clock ------------------------------------------------------------------------------------
    def clock(self) -> datetime:
        if self._fixed_time is not None:
            return self._fixed_time
        if self._external_clock is not None:
            return self._external_clock()
        return datetime.now(UTC)

    def set_time(self, when: datetime | None) -> None:
        """Freeze the server's clock (naive datetimes are taken as UTC, the DB time zone); None lets it
        run again."""
        self._fixed_time = when if when is None or when.tzinfo else when.replace(tzinfo=UTC)

    def advance(self, seconds: float) -> None:
        self.set_time(self.clock() + timedelta(seconds=seconds))

    # --- test helpers -----------------------------------------------------------------------------
    @property
    def url(self) -> str:
        return self.base_url

    def expire_sessions(self, *, on_next: str | None = None) -> None:
        """Invalidate every session now, or (`on_next="query"`) just before the next call of that
        operation is handled, as when PHP's session GC runs in between a client's calls."""
        with self.lock:
            if on_next is None:
                self.auth.expire_all()
            else:
                self._expire_on.add(on_next.lower())

    def fail(
        self,
        operation: str,
        code: str = "INTERNAL_SERVER_ERROR",
        message: str = UNKNOWN_ERROR,
        *,
        times: int | None = 1,
    ) -> None:
        """Answer the next `times` calls of `operation` with a vtiger error envelope."""
        response = error_response(WsError(code, message))
        self.faults.custom(lambda _request: response, operation=operation, times=times)

    def workflow_error(
        self, operation: str = "create", *, times: int | None = 1, workflow: str = "Notify the bridge"
    ) -> None:
        """Save as usual, then answer HTTP 200 with the HTML a failing workflow task echoes before `die`
        (VTWorkflowManager::performTasks): the record exists although the answer is not JSON."""
        page = f"There seems to be some problem with workflow <b>{workflow}</b>"

        def after_save(request: Request) -> Response:
            self.handle(request)
            return Response.text(page)

        self.faults.custom(after_save, operation=operation, times=times)

    def drop_after(self, operation: str, *, times: int | None = 1) -> None:
        """Do the work, then close the connection without answering (a timeout after the write)."""

        def work_then_drop(request: Request) -> Response:
            self.handle(request)
            return cast(Response, DROP)  # _http closes the connection on this sentinel

        self.faults.custom(work_then_drop, operation=operation, times=times)

    def seed(self, module: str, fields: dict[str, Any]) -> str:
        """Insert a record directly (no HTTP, no webservice checks); returns its ws id."""
        if module in records.ACTORS:
            raise ValueError("seed() inserts entity records; use add_user() for users")
        with self.lock:
            mod = self.schema.modules[module]
            element = dict(fields)
            element.setdefault("assigned_user_id", f"{USERS_PREFIX}x1")
            if module == "SPSocialConnector":
                element.setdefault("message_datetime", self.store.now())
            return self.store.ws_id(records.save_new(self.store, self.store.users[1], mod, element))

    def get(self, record_id: str) -> dict[str, str] | None:
        with self.lock:
            try:
                return records.retrieve(self.store, record_id)
            except WsError:
                return None

    def records(self, module: str) -> list[dict[str, str]]:
        with self.lock:
            return [
                self.store.as_ws(r)
                for r in sorted(self.store.records.values(), key=lambda r: r.crmid)
                if r.module == module and not r.deleted
            ]

    def related(self, record_id: str) -> list[str]:
        with self.lock:
            crmid = int(record_id.partition("x")[2])
            return [self.store.ws_id(self.store.records[c]) for c in sorted(self.store.linked(crmid))]

    def add_user(
        self,
        user_name: str,
        *,
        access_key: str = "",
        is_admin: bool = False,
        first_name: str = "",
        last_name: str = "",
        email: str = "",
        status: str = "Active",
        groups: tuple[int, ...] = (),
    ) -> str:
        with self.lock:
            uid = self.store.new_user_id()
            self.store.users[uid] = User(
                uid,
                user_name,
                access_key,
                is_admin,
                status,
                first_name,
                last_name or user_name,
                email,
                set(groups),
            )
            return f"{USERS_PREFIX}x{uid}"

    # --- HTTP ---------------------------------------------------------------------------------------
    def operation_of(self, request: Request) -> str:
        return (request_value(request, "operation") or "").lower()

    def handle(self, request: Request) -> Response:
        if request.path != "/webservice.php":
            return Response.text("<h1>Not Found</h1>", status=404)
        spec = OPERATIONS.get(request.operation)
        if spec is None:  # OperationManager throws before webservice.php's try block
            return fatal()
        method, prelogin, names = spec
        source = "query" if method == "GET" else "form"
        params: dict[str, str | None] = {}
        for name in names:
            value = request.arg(name, source=source)
            params[name] = value if value not in ("", "0") else None  # PHP-falsy means absent
        session_name = request_value(request, "sessionName")
        with self.lock:
            if request.operation in self._expire_on:
                self._expire_on.discard(request.operation)
                self.auth.expire_all()
            try:
                session: Session | None = None
                if session_name and session_name.lower() != "null" and session_name != "0":
                    session = self.auth.resolve(session_name)
                    if session is None:
                        raise WsError("INVALID_SESSIONID", INVALID_SESSION)
                if not prelogin and session is None:
                    raise WsError("AUTHENTICATION_REQUIRED", AUTH_REQUIRED)
                result = self._dispatch(request, params, session)
                if not isinstance(result, PendingSave):
                    return ok(result)
            except WsError as err:
                return error_response(err)
            except PhpFatal:
                return fatal()
        return ok(self._run_workflows_and_commit(result))

    def _dispatch(self, request: Request, p: dict[str, str | None], session: Session | None) -> Any:
        op = request.operation
        store = self.store
        if op == "getchallenge":
            return self.auth.challenge(p["username"])
        if op == "login":
            return self.auth.login_result(self.auth.login(p["username"], p["accessKey"], session))
        if op == "extendsession":
            if request.method != "POST" or "operation" not in request.form:
                raise WsError("AUTHENTICATION_REQUIRED", AUTH_REQUIRED)
            raise WsError("AUTHENTICATION_FAILURE", "Authencation Failed")  # no web-UI sessions here
        assert session is not None
        user = store.users[session.user_id]
        if op == "logout":
            if request.method != "POST":
                raise WsError("OPERATION_NOT_SUPPORTED", PERMISSION_DENIED)
            if self.profile.logout_broken:
                raise WsError("INTERNAL_SERVER_ERROR", UNKNOWN_ERROR)  # and the session stays valid
            self.auth.destroy(session.name)
            return {"message": "successfull"}
        handlers: dict[str, Callable[[], Any]] = {
            "listtypes": lambda: records.listtypes(store, p["fieldTypeList"]),
            "describe": lambda: records.describe(store, p["elementType"]),
            "create": lambda: self._create(user, p["elementType"], p["element"]),
            "retrieve": lambda: records.retrieve(store, p["id"]),
            "update": lambda: self._change(user, p["element"], full=True),
            "revise": lambda: self._change(user, p["element"], full=False),
            "delete": lambda: self._delete(p["id"]),
            "query": lambda: self._query(p["query"]),
            "sync": lambda: relations.sync(store, user, p["modifiedTime"], p["elementType"]),
            "relatedtypes": lambda: relations.relatedtypes(store, p["elementType"]),
            "retrieve_related": lambda: relations.retrieve_related(
                store, p["id"], p["relatedType"], p["relatedLabel"]
            ),
            "query_related": lambda: relations.query_related(store, p["query"], p["id"], p["relatedLabel"]),
            "add_related": lambda: relations.add_related(
                store, p["sourceRecordId"], p["relatedRecordId"], p["relationIdLabel"]
            ),
        }
        return handlers[op]()

    # --- saves and the workflows inside them ---------------------------------------------------------
    def _create(self, user: User, element_type: str | None, raw: str | None) -> Any:
        module = element_type or ""
        if not self.workflows.for_module(module):
            return records.create(self.store, user, element_type, raw)
        created = records.create(self.store, user, element_type, raw)
        crmid = int(created["id"].partition("x")[2])
        return self.transactions.stage(module, crmid, None, None)

    def _target_of(self, ws_id: str) -> Record | None:
        parts = split_ws_id(ws_id)
        if parts is None or not parts[1].isdigit():
            return None
        return self.store.live(int(parts[1]))

    def _change(self, user: User, raw: str | None, *, full: bool) -> Any:
        element = records.decode_element(raw)
        target = self._target_of(str(element.get("id") or "")) if isinstance(element, dict) else None
        if target is None:
            return records.change(self.store, user, raw, full=full)
        self.transactions.wait_for_row(target.crmid)  # another request's transaction holds the row
        if not self.workflows.for_module(target.module):
            return records.change(self.store, user, raw, full=full)
        before = Record(target.crmid, target.module, dict(target.values), target.deleted, target.modified)
        before_ws = self.store.as_ws(target)
        records.change(self.store, user, raw, full=full)
        return self.transactions.stage(target.module, target.crmid, before, before_ws)

    def _delete(self, ws_id: str | None) -> Any:
        target = self._target_of(ws_id or "")
        if target is not None:
            self.transactions.wait_for_row(target.crmid)
        return records.delete(self.store, ws_id)

    def _run_workflows_and_commit(self, pending: PendingSave) -> dict[str, str]:
        """A webservice save: its workflows run inside the open transaction, then it commits, then the
        request ends (PHP's shutdown functions) and the client gets the record as committed."""
        scope = RequestScope()
        try:
            self.workflows.fire(
                pending.module,
                pending.after_ws["id"],
                pending.before_ws,
                pending.after_ws,
                committed=False,
                request=scope,
            )
        finally:
            with self.lock:
                committed = self.store.as_ws(self.transactions.commit(pending))
            scope.end()
        return committed

    def add_workflow(
        self,
        module: str,
        *tasks: Task,
        execution_condition: int = ON_EVERY_SAVE,
        test: str | list[Any] = "",
        summary: str = "",
    ) -> Workflow:
        """Register a workflow (com_vtiger_workflows row + its tasks): `test` is the conditions in
        vtiger's stored JSON format (VTJsonCondition), `execution_condition` vtiger's trigger mode."""
        stored = test if isinstance(test, str) else json.dumps(test)
        return self.workflows.add(Workflow(module, list(tasks), execution_condition, stored, summary))

    def ui_save(
        self,
        module: str,
        fields: dict[str, Any],
        record_id: str | None = None,
        *,
        user_id: int = 1,
        request: RequestScope | None = None,
    ) -> str:
        """A save as the web UI makes it (Vtiger_Save_Action): no outer transaction, so the row is
        committed before the workflows run. Returns the record's ws id."""
        scope = request or RequestScope()
        with self.lock:
            user = self.store.users[user_id]
            if record_id is None:
                # The edit form submits the owner, which defaults to the user who saves.
                owned = {"assigned_user_id": f"{USERS_PREFIX}x{user_id}", **fields}
                created = records.create(self.store, user, module, json.dumps(owned))
                before_ws, record_id = None, created["id"]
            else:
                target = self._target_of(record_id)
                if target is not None:
                    self.transactions.wait_for_row(target.crmid)
                before_ws = self.get(record_id)
                records.change(self.store, user, json.dumps({**fields, "id": record_id}), full=False)
            after_ws = records.retrieve(self.store, record_id)
        self.workflows.fire(module, record_id, before_ws, after_ws, committed=True, request=scope)
        if request is None:
            scope.end()
        return record_id

    def ui_mass_edit(
        self, module: str, record_ids: list[str], fields: dict[str, Any], *, user_id: int = 1
    ) -> None:
        """Mass edit in the list view: one request saving each record in turn (workflows per record)."""
        scope = RequestScope()
        try:
            for record_id in record_ids:
                self.ui_save(module, fields, record_id, user_id=user_id, request=scope)
        finally:
            scope.end()

    def _query(self, text: str | None) -> Any:
        if text is None:  # an absent (e.g. POSTed) query names no module
            raise WsError("ACCESS_DENIED", "Permission to perform the operation is denied for query")
        return queryexec.execute(self.store, text)
