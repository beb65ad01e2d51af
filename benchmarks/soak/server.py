"""A Postgres server of the soak's own: a fresh data directory in a temporary folder, its
own port and socket directory, so it never touches another server. Stopped ``fast``
(a graceful restart) or ``immediate`` (a crash: the server aborts and replays its WAL on
the next start)."""

from __future__ import annotations

import contextlib
import glob
import os
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

__all__ = ["PostgresServer", "find_bin"]


def find_bin() -> Path:
    """The folder of ``initdb`` and ``pg_ctl`` (``$PG_BIN``, the PATH, or Debian's layout)."""
    if os.environ.get("PG_BIN"):
        return Path(os.environ["PG_BIN"])
    found = shutil.which("pg_ctl")
    if found:
        return Path(found).parent
    versions = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"))
    if not versions:
        raise RuntimeError("no pg_ctl found: install Postgres or set PG_BIN")
    return Path(versions[-1]).parent


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class PostgresServer:
    """One throwaway server (see the module docstring)."""

    def __init__(self) -> None:
        self.bin = find_bin()
        self.root = Path(tempfile.mkdtemp(prefix="transact-soak-"))
        self.data = self.root / "data"
        self.port = _free_port()
        # initdb refuses to run as root: then run the server as the postgres user.
        self._as: list[str] = []
        if os.geteuid() == 0:
            self._as = ["runuser", "-u", "postgres", "--"]
            shutil.chown(self.root, "postgres")
        self._run(self.bin / "initdb", "-D", self.data, "-U", "postgres", "--auth=trust", "-N")
        self.starts = 0
        self.crashes = 0
        self.graceful = 0

    def _run(self, *args: object) -> None:
        subprocess.run(
            [*self._as, *map(str, args)],
            check=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )

    @property
    def url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/soak"

    def start(self) -> None:
        options = (
            f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 "
            "-c max_connections=200 -c fsync=on"
        )
        log = self.root / "server.log"
        self._run(self.bin / "pg_ctl", "-D", self.data, "-o", options, "-l", log, "-w", "start")
        self.starts += 1

    def stop(self, mode: str) -> None:
        """``fast`` (graceful) or ``immediate`` (a crash)."""
        self._run(self.bin / "pg_ctl", "-D", self.data, "-m", mode, "-w", "stop")
        if mode == "immediate":
            self.crashes += 1
        else:
            self.graceful += 1

    def restart(self, mode: str) -> float:
        """Stop (``mode``) and start again; the seconds the server was away."""
        began = time.monotonic()
        self.stop(mode)
        self.start()
        return time.monotonic() - began

    def destroy(self) -> None:
        with contextlib.suppress(subprocess.CalledProcessError):
            self._run(self.bin / "pg_ctl", "-D", self.data, "-m", "immediate", "-w", "stop")
        shutil.rmtree(self.root, ignore_errors=True)
