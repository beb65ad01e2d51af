"""A fault proxy: a TCP proxy in front of Postgres that drops a connection on cue.

Tests point a store at :meth:`FaultProxy.url` instead of the server. The proxy reads the
client's side of the wire protocol just enough to know which SQL each message runs (a
simple ``Query``, or the statement a ``Bind``/``Execute`` names, remembered from its
``Parse``: psycopg prepares hot statements and then sends only their names), counts the
statements that write, and on the write a test armed (:meth:`FaultProxy.arm`) cuts the
connection, either

- ``after_reply``: the statement reached the server and ran (an autocommit statement or
  a COMMIT committed), but the reply is dropped, so the client cannot tell: the commit
  is *in doubt*; or
- before it reaches the server (nothing ran).

SSL and GSS encryption are disabled in the URL so the stream stays readable.
"""

from __future__ import annotations

import contextlib
import socket
import struct
import threading
from collections.abc import Callable
from urllib.parse import urlsplit, urlunsplit

__all__ = ["FaultProxy", "is_write"]

_READS = ("select", "show", "set ", "begin", "listen", "unlisten", "rollback", "reset", "discard")


def is_write(query: str) -> bool:
    """Whether ``query`` may write (anything but a read or session bookkeeping)."""
    head = query.lstrip().lower()
    return bool(head) and not head.startswith(_READS)


class FaultProxy:
    """The proxy (see the module docstring); one listening port, threads per connection."""

    def __init__(self, upstream: tuple[str, int] = ("127.0.0.1", 5432)) -> None:
        self.upstream = upstream
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port: int = self._listener.getsockname()[1]
        self._lock = threading.Lock()
        self.writes: list[str] = []
        """Every write statement seen, in order (what a test can target)."""
        self.dropped: list[str] = []
        """The statements whose connection was cut."""
        self._armed: tuple[Callable[[int, str], bool], bool] | None = None
        self._sockets: list[socket.socket] = []
        self._closed = False
        self._down = False
        threading.Thread(target=self._accept, daemon=True, name="fault-proxy").start()

    def url(self, database_url: str) -> str:
        """``database_url`` through the proxy, unencrypted."""
        parts = urlsplit(database_url)
        netloc = parts.netloc.rsplit("@", 1)
        user = netloc[0] + "@" if len(netloc) == 2 else ""
        query = "sslmode=disable&gssencmode=disable"
        query = f"{parts.query}&{query}" if parts.query else query
        return urlunsplit(parts._replace(netloc=f"{user}127.0.0.1:{self.port}", query=query))

    def arm(self, when: Callable[[int, str], bool], *, after_reply: bool) -> None:
        """Cut the connection of the first write ``w`` (its number from 0 among the
        writes seen so far, and its SQL) for which ``when(n, sql)`` holds; once."""
        with self._lock:
            self._armed = (when, after_reply)

    def disarm(self) -> None:
        """Cut nothing more."""
        with self._lock:
            self._armed = None

    def drop_all(self) -> None:
        """Cut every open connection (a server restart, as the client sees it)."""
        with self._lock:
            sockets, self._sockets = self._sockets, []
        for sock in sockets:
            _close(sock)

    def down(self) -> None:
        """The server goes away: every connection is cut and new ones are refused
        (closed at once) until :meth:`up`."""
        self._down = True
        self.drop_all()

    def up(self) -> None:
        """The server is back."""
        self._down = False

    def close(self) -> None:
        """Stop listening and cut every connection."""
        self._closed = True
        _close(self._listener)
        self.drop_all()

    # --- the connections --------------------------------------------------------------

    def _accept(self) -> None:
        while not self._closed:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            if self._down:
                _close(client)
                continue
            try:
                server = socket.create_connection(self.upstream)
            except OSError:
                _close(client)
                continue
            with self._lock:
                self._sockets += [client, server]
            link = _Link(self, client, server)
            threading.Thread(target=link.client_to_server, daemon=True).start()
            threading.Thread(target=link.server_to_client, daemon=True).start()

    def _on_statement(self, sql: str) -> bool | None:
        """Count ``sql`` if it writes; whether to cut its connection (after its reply:
        True; before it is sent: False; not at all: None)."""
        if not is_write(sql):
            return None
        with self._lock:
            number = len(self.writes)
            self.writes.append(sql)
            armed = self._armed
            if armed is None or not armed[0](number, sql):
                return None
            self._armed = None
            self.dropped.append(sql)
            return armed[1]


class _Link:
    """One client connection and its server connection."""

    def __init__(self, proxy: FaultProxy, client: socket.socket, server: socket.socket) -> None:
        self.proxy = proxy
        self.client = client
        self.server = server
        self.statements: dict[bytes, str] = {}  # prepared statement name -> SQL
        self.bound = ""
        self.doomed = threading.Event()  # cut once the server's next ReadyForQuery arrives

    def cut(self) -> None:
        _close(self.client)
        _close(self.server)

    def client_to_server(self) -> None:
        buffer = b""
        started = False
        try:
            while True:
                chunk = self.client.recv(65536)
                if not chunk:
                    break
                buffer += chunk
                verdict: bool | None = None
                while True:
                    if not started:
                        if len(buffer) < 4:
                            break
                        (length,) = struct.unpack("!I", buffer[:4])
                        if len(buffer) < length:
                            break
                        buffer = buffer[length:]
                        started = True
                        continue
                    if len(buffer) < 5:
                        break
                    (length,) = struct.unpack("!I", buffer[1:5])
                    if len(buffer) < 1 + length:
                        break
                    kind, body = buffer[:1], buffer[5 : 1 + length]
                    buffer = buffer[1 + length :]
                    outcome = self._message(kind, body)
                    if outcome is not None:
                        verdict = outcome
                if verdict is False:
                    self.cut()  # before the server sees it: nothing ran
                    return
                if verdict is True:
                    self.doomed.set()
                self.server.sendall(chunk)
        except OSError:
            pass
        self.cut()

    def _message(self, kind: bytes, body: bytes) -> bool | None:
        if kind == b"Q":
            return self.proxy._on_statement(_cstring(body, 0)[0])
        if kind == b"P":
            name, end = _cstring(body, 0)
            self.statements[name.encode()] = _cstring(body, end)[0]
        elif kind == b"B":
            _, end = _cstring(body, 0)
            name, _ = _cstring(body, end)
            self.bound = self.statements.get(name.encode(), "")
        elif kind == b"E":
            return self.proxy._on_statement(self.bound)
        return None

    def server_to_client(self) -> None:
        buffer = b""
        try:
            while True:
                chunk = self.server.recv(65536)
                if not chunk:
                    break
                if self.doomed.is_set():
                    # Hold the replies back until the server says it is done with the
                    # statement (ReadyForQuery): it ran, and the client never hears so.
                    buffer += chunk
                    if _has_ready_for_query(buffer):
                        break
                    continue
                self.client.sendall(chunk)
        except OSError:
            pass
        self.cut()


def _cstring(body: bytes, start: int) -> tuple[str, int]:
    end = body.index(b"\0", start)
    return body[start:end].decode(errors="replace"), end + 1


def _has_ready_for_query(buffer: bytes) -> bool:
    at = 0
    while at + 5 <= len(buffer):
        kind = buffer[at : at + 1]
        (length,) = struct.unpack("!I", buffer[at + 1 : at + 5])
        if kind == b"Z" and at + 1 + length <= len(buffer):
            return True
        at += 1 + length
    return False


def _close(sock: socket.socket) -> None:
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)
    with contextlib.suppress(OSError):
        sock.close()
