"""The HTTP machinery shared by every sandbox: a threaded server on 127.0.0.1, a request log,
per-operation counters and fault knobs.

A sandbox subclasses `SandboxServer` and implements `handle(request) -> Response` (and optionally
`operation_of(request)` to name what a request does, for counters and targeted faults). Everything
here is real HTTP on a real socket: tests and the demo talk to it with ordinary clients.
"""

from __future__ import annotations

import json
import logging
import socket
import ssl
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

log = logging.getLogger(__name__)

MAX_BODY = 16 * 1024 * 1024


@dataclass
class Request:
    """One request as the sandbox saw it."""

    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]  # lower-case names
    body: bytes
    form: dict[str, list[str]] = field(default_factory=dict)  # parsed x-www-form-urlencoded body
    received_at: float = 0.0
    operation: str = ""
    raw_path: str = ""  # path with the query string, as sent

    def arg(self, name: str, *, source: str = "query") -> str | None:
        """First value of `name` in the query string ("query") or the form body ("form")."""
        values = (self.query if source == "query" else self.form).get(name)
        return values[0] if values else None

    def json(self) -> Any:
        return json.loads(self.body.decode("utf-8"))


@dataclass
class Response:
    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)

    @classmethod
    def json(cls, payload: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
        # ensure_ascii=False: real PHP/JSON servers here send raw UTF-8 where the sandbox copies them
        body = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
        hdrs = {"Content-Type": "application/json; charset=utf-8"}
        hdrs.update(headers or {})
        return cls(status, body, hdrs)

    @classmethod
    def text(cls, text: str, status: int = 200, content_type: str = "text/html; charset=utf-8") -> Response:
        return cls(status, text.encode("utf-8"), {"Content-Type": content_type})


DROP = object()  # returned by a fault to close the connection without an answer


class DropConnection(Exception):
    """Raised by a sandbox's `handle` to close the connection without an answer: a server going
    away in the middle of a request (a restart, a shutdown, a proxy cutting a long poll)."""


@dataclass
class _Fault:
    kind: str  # "status" | "html" | "drop" | "custom"
    remaining: int | None  # None = until cleared
    operation: str | None  # None = any operation
    status: int = 500
    body: bytes = b""
    factory: Callable[[Request], Response] | None = None


@dataclass
class _Pause:
    operation: str | None
    remaining: int | None
    after: bool  # True: the work is done, the answer waits; False: the request waits before the work
    seconds: float = 0.0
    gate: threading.Event | None = None  # wait for it (at most `seconds`) instead of a fixed time


class Faults:
    """Knobs for injecting failures into a sandbox; thread-safe.

    Every knob can target one operation (as named by the sandbox's `operation_of`) and a number of
    calls (`times=None` means until `clear()`).
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._queue: list[_Fault] = []
        self._pauses: list[_Pause] = []
        self.latency = 0.0  # seconds added before every answer

    def clear(self) -> None:
        with self._lock:
            self._queue.clear()
            self._pauses.clear()
            self.latency = 0.0

    def slow(
        self, seconds: float, *, operation: str | None = None, times: int | None = None, after: bool = False
    ) -> None:
        """Take `seconds` longer on matching requests (others are served meanwhile): before the work is
        done, or (`after=True`) once it is done, before the answer leaves."""
        with self._lock:
            self._pauses.append(_Pause(operation, times, after, seconds=seconds))

    def hold(
        self,
        gate: threading.Event,
        *,
        operation: str | None = None,
        times: int | None = 1,
        after: bool = False,
        timeout: float = 30.0,
    ) -> None:
        """Keep matching requests waiting until `gate` is set (at most `timeout` s), before the work or
        (`after=True`) after it: lets a test order two clients' requests exactly."""
        with self._lock:
            self._pauses.append(_Pause(operation, times, after, seconds=timeout, gate=gate))

    def pause(self, request: Request, *, after: bool) -> None:
        """Wait as the first matching `slow`/`hold` knob says (called by the server, outside any lock)."""
        with self._lock:
            found = next(
                (p for p in self._pauses if p.after == after and p.operation in (None, request.operation)),
                None,
            )
            if found is None:
                return
            if found.remaining is not None:
                found.remaining -= 1
                if found.remaining <= 0:
                    self._pauses.remove(found)
        if found.gate is not None:
            found.gate.wait(found.seconds)
        else:
            time.sleep(found.seconds)

    def _add(self, fault: _Fault) -> None:
        with self._lock:
            self._queue.append(fault)

    def http_error(
        self, status: int = 500, *, body: bytes = b"", operation: str | None = None, times: int | None = 1
    ) -> None:
        """Answer HTTP `status` with `body` (empty by default, as PHP fatals do)."""
        self._add(_Fault("status", times, operation, status=status, body=body))

    def html(
        self,
        *,
        operation: str | None = None,
        times: int | None = 1,
        text: str = "<html><body><b>Fatal error</b>: workflow task failed</body></html>",
    ) -> None:
        """Answer HTTP 200 with an HTML body, as a PHP warning or a failing workflow does."""
        self._add(_Fault("html", times, operation, status=200, body=text.encode("utf-8")))

    def drop(self, *, operation: str | None = None, times: int | None = 1) -> None:
        """Close the connection without answering."""
        self._add(_Fault("drop", times, operation))

    def custom(
        self, factory: Callable[[Request], Response], *, operation: str | None = None, times: int | None = 1
    ) -> None:
        """Answer with whatever `factory(request)` returns (e.g. a network's own error envelope)."""
        self._add(_Fault("custom", times, operation, factory=factory))

    def take(self, request: Request) -> Response | object | None:
        """The fault response for `request`, consuming one use of the matching knob, or None."""
        with self._lock:
            for fault in self._queue:
                if fault.operation is not None and fault.operation != request.operation:
                    continue
                if fault.remaining is not None:
                    fault.remaining -= 1
                    if fault.remaining <= 0:
                        self._queue.remove(fault)
                if fault.kind == "drop":
                    return DROP
                if fault.kind == "custom" and fault.factory is not None:
                    return fault.factory(request)
                ctype = "text/html; charset=utf-8" if fault.kind == "html" else "text/html; charset=UTF-8"
                return Response(fault.status, fault.body, {"Content-Type": ctype})
            return None


class SandboxServer:
    """Base of every sandbox: start/stop, a request log, counters, faults.

    Use as a context manager (`with VkSandbox() as vk: ...`) or call `start()`/`stop()`.
    """

    name = "sandbox"

    def __init__(self, host: str = "127.0.0.1", port: int = 0, *, tls: ssl.SSLContext | None = None) -> None:
        self.host = host
        self.port = port
        self.tls = tls  # a server-side context: serve HTTPS with its certificate (tests of CA bundles)
        self.faults = Faults()
        self.requests: list[Request] = []
        self.counters: Counter[str] = Counter()
        self._log_lock = threading.Lock()
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # --- to be implemented by sandboxes ---------------------------------------------------------
    def handle(self, request: Request) -> Response:  # pragma: no cover - abstract
        raise NotImplementedError

    def operation_of(self, request: Request) -> str:
        """Name of what `request` does (for counters and targeted faults); the path by default."""
        return request.path

    # --- lifecycle --------------------------------------------------------------------------------
    @property
    def base_url(self) -> str:
        if self._httpd is None:
            raise RuntimeError(f"{self.name} sandbox is not running")
        host, port = self._httpd.server_address[:2]
        return f"{'https' if self.tls else 'http'}://{host!s}:{port}"

    def start(self) -> SandboxServer:
        handler = _make_handler(self)
        self._httpd = _Server((self.host, self.port), handler)
        self._httpd.tls = self.tls
        self.port = self._httpd.server_address[1]
        self._thread = threading.Thread(
            target=self._httpd.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"{self.name}-sandbox",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> Any:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # --- bookkeeping ------------------------------------------------------------------------------
    def reset_log(self) -> None:
        with self._log_lock:
            self.requests.clear()
            self.counters.clear()

    def count(self, operation: str | None = None) -> int:
        """Requests received so far, for one operation or in total."""
        with self._log_lock:
            if operation is None:
                return sum(self.counters.values())
            return self.counters[operation]

    def _record(self, request: Request) -> None:
        with self._log_lock:
            self.requests.append(request)
            self.counters[request.operation] += 1


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128
    tls: ssl.SSLContext | None = None

    def finish_request(self, request: Any, client_address: Any) -> None:
        if self.tls is None:
            super().finish_request(request, client_address)
            return
        # The handshake runs here, in the connection's own thread: a client that refuses our certificate
        # (the point of a CA-bundle test) costs that thread only, never the accept loop.
        try:
            wrapped = self.tls.wrap_socket(request, server_side=True)
        except (ssl.SSLError, OSError):
            return
        try:
            super().finish_request(wrapped, client_address)
        finally:
            wrapped.close()


def _make_handler(sandbox: SandboxServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, so clients' connection pooling is exercised
        # Headers and body are written separately: without TCP_NODELAY each keep-alive answer waits
        # ~40 ms for the client's delayed ACK.
        disable_nagle_algorithm = True
        server_version = "Apache/2.4.62 (Debian)"
        sys_version = ""

        def log_message(self, format: str, *args: Any) -> None:
            log.debug("%s %s", sandbox.name, format % args)

        def _serve(self) -> None:
            parts = urlsplit(self.path)
            length = int(self.headers.get("Content-Length") or 0)
            if length > MAX_BODY:
                self.send_error(413)
                return
            body = self.rfile.read(length) if length else b""
            headers = {k.lower(): v for k, v in self.headers.items()}
            form: dict[str, list[str]] = {}
            if headers.get("content-type", "").startswith("application/x-www-form-urlencoded"):
                form = parse_qs(body.decode("utf-8", "replace"), keep_blank_values=True)
            request = Request(
                method=self.command,
                path=parts.path,
                query=parse_qs(parts.query, keep_blank_values=True),
                headers=headers,
                body=body,
                form=form,
                received_at=time.time(),
                raw_path=self.path,
            )
            try:
                request.operation = sandbox.operation_of(request)
            except Exception:  # a malformed request still gets logged and answered
                request.operation = "?"
            sandbox._record(request)
            if sandbox.faults.latency:
                time.sleep(sandbox.faults.latency)
            fault = sandbox.faults.take(request)
            if fault is DROP:
                self._drop()
                return
            if isinstance(fault, Response):
                response = fault
            else:
                sandbox.faults.pause(request, after=False)
                try:
                    response = sandbox.handle(request)
                except DropConnection:
                    self._drop()
                    return
                except Exception:
                    log.exception("%s sandbox crashed on %s %s", sandbox.name, self.command, parts.path)
                    response = Response(500, b"", {"Content-Type": "text/html; charset=UTF-8"})
                sandbox.faults.pause(request, after=True)
            try:
                self.send_response(response.status)
                for name, value in response.headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(response.body)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(response.body)
            except (BrokenPipeError, ConnectionResetError):
                self.close_connection = True  # the client gave up (a timeout test); nothing to report

        def _drop(self) -> None:
            self.close_connection = True
            try:
                self.connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

        do_GET = _serve
        do_POST = _serve
        do_PUT = _serve
        do_DELETE = _serve
        do_HEAD = _serve

    return Handler
