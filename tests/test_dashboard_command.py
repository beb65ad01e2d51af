"""``transact dashboard`` as a subprocess: it serves a system database on the loopback,
and refuses another address without a token."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
import urllib.request

import pytest

from transact import DBOS, SetWorkflowID


@DBOS.workflow()
def command_listed(x: int) -> int:
    return x


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def test_another_address_needs_a_token() -> None:
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "transact",
            "dashboard",
            "-s",
            "sqlite:///x.sqlite",
            "--host",
            "0.0.0.0",
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode != 0
    assert "needs a token" in done.stderr
    assert "Traceback" not in done.stderr


@pytest.mark.slow
def test_it_serves_the_database_it_is_given(durable_database_url: str) -> None:
    DBOS(config={"name": "command-test", "system_database_url": durable_database_url})
    DBOS.launch()
    try:
        with SetWorkflowID("listed-1"):
            command_listed(1)
    finally:
        DBOS.destroy()
    port = free_port()
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "transact",
            "dashboard",
            "-s",
            durable_database_url,
            "--port",
            str(port),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/workflows") as reply:
                    page = json.loads(reply.read())
                break
            except OSError:
                assert server.poll() is None, server.communicate()
                assert time.monotonic() < deadline, "the dashboard did not start"
                time.sleep(0.2)
        assert [w["workflow_id"] for w in page["workflows"]] == ["listed-1"]
    finally:
        server.terminate()
        server.wait(timeout=30)
