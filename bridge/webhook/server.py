"""The webhook's HTTP server: waitress on a background thread, guarded against clients that hold
connections without finishing a request.

waitress stops accepting once `connection_limit` sockets are open and closes an idle one only after
`channel_timeout` (120 s by default), counted from its last byte. So about a hundred half-open or slowly
dripping connections used to shut out the signed calls of vtiger and every `/healthz` probe. Here:

- every connection must deliver a complete request within `request_timeout` seconds of being opened or
  of its previous answer, however slowly it keeps sending bytes; otherwise it is closed;
- one client address holds at most `max_per_client` connections and all clients at most
  `max_connections`: a new connection over either bound closes the longest-waiting connection that has
  no request in progress (of that address first), or is itself refused when every one is busy.

A connection that sends its request at once (the vtiger plugin, a health probe) is in progress a few
milliseconds after it opens, so old idle connections make room for it. What remains is in SECURITY.md.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable
from types import TracebackType
from typing import Any

from waitress.channel import HTTPChannel  # type: ignore[import-untyped]

log = logging.getLogger(__name__)

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]

REQUEST_TIMEOUT = 15.0  # seconds for a whole request, however slowly it arrives
MAX_CONNECTIONS = 250
MAX_PER_CLIENT = 50
_REPORT_EVERY = 60.0  # seconds between two warnings about closed connections


class ConnectionGuard:
    """The open connections by client address, and the bounds on them.

    Touched by the server loop (accept, deadline checks) and, on errors, by worker threads (close);
    hence the lock.
    """

    def __init__(
        self,
        *,
        max_connections: int,
        max_per_client: int,
        request_timeout: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.max_connections = max_connections
        self.max_per_client = max_per_client
        self.request_timeout = request_timeout
        self.clock = clock
        self._lock = threading.Lock()
        self._by_client: dict[str, list[_GuardedChannel]] = {}
        self._count = 0
        self.closed_early = 0  # connections closed for a bound or the deadline, for the log
        self._reported_at = 0.0

    def busy(self) -> int:
        """How many open connections have a request in progress."""
        with self._lock:
            return sum(1 for peers in self._by_client.values() for c in peers if c.requests)

    def opened(self, channel: _GuardedChannel) -> None:
        with self._lock:
            peers = self._by_client.setdefault(channel.client, [])
            peers.append(channel)
            self._count += 1
            if len(peers) > self.max_per_client:
                self._make_room(peers, channel, "per-client")
            if self._count > self.max_connections and channel.tracked:
                every = [c for cs in self._by_client.values() for c in cs]
                self._make_room(every, channel, "total")
        self._report()

    def closed(self, channel: _GuardedChannel) -> None:
        with self._lock:
            self._forget(channel)

    def expired(self, channel: _GuardedChannel) -> bool:
        """True (once) when `channel` has waited too long for a complete request; it is then closed."""
        if channel.requests or self.clock() - channel.waiting_since <= self.request_timeout:
            return False
        with self._lock:
            self._drop(channel)
        self._report()
        return True

    def _make_room(self, candidates: list[_GuardedChannel], newcomer: _GuardedChannel, bound: str) -> None:
        idle = [c for c in candidates if c is not newcomer and c.idle]
        victim = min(idle, key=lambda c: c.waiting_since) if idle else newcomer
        log.debug("webhook: %s connection limit reached, closing a connection from %s", bound, victim.client)
        self._drop(victim)

    def _drop(self, channel: _GuardedChannel) -> None:
        if self._forget(channel):
            self.closed_early += 1
        channel.will_close = True  # the server loop closes it on its next pass

    def _forget(self, channel: _GuardedChannel) -> bool:
        if not channel.tracked:
            return False
        channel.tracked = False
        self._count -= 1
        peers = self._by_client.get(channel.client, [])
        if channel in peers:
            peers.remove(channel)
        if not peers:
            self._by_client.pop(channel.client, None)
        return True

    def _report(self) -> None:
        now = self.clock()
        if self.closed_early and now - self._reported_at >= _REPORT_EVERY:
            self._reported_at = now
            count, self.closed_early = self.closed_early, 0
            log.warning(
                "webhook: closed %d connection(s) that sent no complete request in time or exceeded "
                "the connection limits (%d per client, %d in all)",
                count,
                self.max_per_client,
                self.max_connections,
            )


class _GuardedChannel(HTTPChannel):  # type: ignore[misc]
    """waitress's channel, registered with the server's `ConnectionGuard` and held to its deadline."""

    tracked = False

    def __init__(self, server: Any, sock: Any, addr: Any, adj: Any, map: Any = None) -> None:
        self.guard: ConnectionGuard = server.vsb_guard
        self.waiting_since = self.guard.clock()
        self.client = str(addr[0]) if isinstance(addr, tuple) and addr else str(addr)
        super().__init__(server, sock, addr, adj, map=map)
        self.tracked = True
        self.guard.opened(self)

    @property
    def idle(self) -> bool:
        """No request being served and nothing left to send: closing it loses nobody an answer."""
        return not self.requests and not self.total_outbufs_len and not self.will_close

    def readable(self) -> bool:
        # Called by the loop before every poll (at least once a second), which makes it the deadline check.
        if not self.will_close and self.guard.expired(self):
            return False
        return bool(super().readable())

    def service(self) -> None:
        # Stamped at both ends so the deadline never runs out between the request and its answer.
        self.waiting_since = self.guard.clock()
        try:
            super().service()
        finally:
            self.waiting_since = self.guard.clock()

    def del_channel(self, map: Any = None) -> None:
        self.guard.closed(self)
        super().del_channel(map)


class WebhookServer:
    """`app` served by waitress on a background thread; `url` and `port` are known after `start()`."""

    def __init__(
        self,
        app: WSGIApp,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        threads: int = 8,
        stop_timeout: float = 5.0,
        max_request_body: int = 1024 * 1024,
        request_timeout: float = REQUEST_TIMEOUT,
        max_connections: int = MAX_CONNECTIONS,
        max_per_client: int = MAX_PER_CLIENT,
    ) -> None:
        self._app = app
        self._host = host
        self._port = port
        self._threads = threads
        self._stop_timeout = stop_timeout
        self._max_request_body = max_request_body
        self.guard = ConnectionGuard(
            max_connections=max_connections, max_per_client=max_per_client, request_timeout=request_timeout
        )
        self._server: Any = None
        self._thread: threading.Thread | None = None
        self.port = 0
        self.url = ""

    def start(self) -> WebhookServer:
        from waitress.server import create_server  # type: ignore[import-untyped]

        if self._server is not None:
            raise RuntimeError("webhook server already started")
        guard = self.guard
        timeout = max(1, int(guard.request_timeout + 0.999))
        self._server = create_server(
            self._app,
            host=self._host,
            port=self._port,
            threads=self._threads,
            max_request_body_size=self._max_request_body,
            ident="vtiger-social-bridge",
            clear_untrusted_proxy_headers=True,
            # The guard decides which connection goes; waitress's own limit (it stops accepting) stays
            # above it and is only reached when every connection is busy with a request.
            connection_limit=guard.max_connections + max(16, guard.max_connections // 4),
            channel_timeout=timeout,
            cleanup_interval=timeout,
            # poll(), not select(): select() fails outright on a descriptor numbered 1024 or more.
            asyncore_use_poll=True,
        )
        self._server.vsb_guard = guard
        self._server.channel_class = _GuardedChannel
        self.port = int(self._server.effective_port)
        self.url = f"http://{self._host}:{self.port}"
        self._thread = threading.Thread(target=self._server.run, name="webhook-server", daemon=True)
        self._thread.start()
        log.info("webhook: listening on %s", self.url)
        return self

    def stop(self) -> None:
        """Stop accepting, let the worker threads finish (at most `stop_timeout`), close the connections."""
        server, self._server = self._server, None
        if server is None:
            return
        from waitress import wasyncore  # type: ignore[import-untyped]

        def stop_accepting() -> None:
            # The listening socket only (the server's own close() would close the trigger too); open
            # connections stay until their answers are out.
            wasyncore.dispatcher.close(server)

        def close_all() -> None:
            # Runs on the loop thread (via the trigger), so the socket map is not mutated under the loop;
            # an empty map ends waitress's asyncore loop.
            wasyncore.close_all(server._map, ignore_all=True)

        server.trigger.pull_trigger(stop_accepting)
        # Workers first: a worker that finishes a request wakes the loop through its trigger, which must
        # still be open then (closing it first made that worker fail with EBADF).
        server.task_dispatcher.shutdown(cancel_pending=True, timeout=self._stop_timeout)
        try:
            server.trigger.pull_trigger(close_all)
        except OSError:  # the trigger's pipe is closed already (seen once in CI, EBADF): no loop to ask
            close_all()
        if self._thread is not None:
            self._thread.join(self._stop_timeout)
            if self._thread.is_alive():  # loop wedged: close from here, best effort
                close_all()
            self._thread = None
        log.info("webhook: stopped")

    def __enter__(self) -> WebhookServer:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
