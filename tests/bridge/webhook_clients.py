"""Misbehaving webhook clients over real sockets: connections that never send a request, and connections
that drip a request one byte at a time, from one or several loopback addresses."""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Iterator

# Linux routes the whole 127/8 to loopback, so these are distinct client addresses on one machine.
LOOPBACKS = [f"127.0.0.{n}" for n in range(1, 8)]


def open_idle(host: str, port: int, count: int, source: str = "127.0.0.1") -> list[socket.socket]:
    """`count` connected sockets that say nothing."""
    return [
        socket.create_connection((host, port), timeout=10, source_address=(source, 0)) for _ in range(count)
    ]


class Dripper:
    """Connections that send a never-ending request head, one byte per socket every `every` seconds."""

    def __init__(self, socks: list[socket.socket], every: float = 0.3) -> None:
        self.socks = socks
        self.every = every
        self.closed_by_server: set[int] = set()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._started = False

    def _run(self) -> None:
        heads = {id(s): iter(self._head()) for s in self.socks}
        while not self._stop.wait(self.every):
            for s in self.socks:
                if id(s) in self.closed_by_server:
                    continue
                try:
                    s.send(next(heads[id(s)]))
                except OSError:
                    self.closed_by_server.add(id(s))

    @staticmethod
    def _head() -> Iterator[bytes]:
        yield from (bytes([b]) for b in b"POST /v1/vtiger/events HTTP/1.1\r\nHost: x\r\n")
        while True:
            yield from (bytes([b]) for b in b"X-Padding: aaaaaaaaaaaaaaaaaaaaaaaa\r\n")

    def __enter__(self) -> Dripper:
        self._thread.start()
        self._started = True
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self._started:
            self._thread.join(10)


def closed_by_server(sock: socket.socket, timeout: float) -> bool:
    """True once the server has closed `sock` (EOF or reset) within `timeout` seconds."""
    sock.settimeout(0.2)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            data = sock.recv(65536)
        except TimeoutError:
            continue
        except OSError:  # reset
            return True
        if data == b"":
            return True
    return False


def still_open(sock: socket.socket) -> bool:
    """True when the server has neither closed nor answered `sock` (checked without waiting)."""
    sock.setblocking(False)
    try:
        data = sock.recv(1)
    except BlockingIOError:
        return True
    except OSError:
        return False
    finally:
        sock.setblocking(True)
    return data != b""


def close_all(socks: list[socket.socket]) -> None:
    for s in socks:
        with contextlib.suppress(OSError):
            s.close()
