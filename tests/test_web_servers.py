"""The web examples under real servers, across a crash of the server process: a request
repeated with its ``dbos-idempotency-key`` after a restart returns the recorded result,
and no step body ran twice (SQLite and Postgres: the database outlives the process)."""

from __future__ import annotations

import json
import os
import pathlib
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator

import pytest

EXAMPLES = pathlib.Path(__file__).parents[1] / "examples"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def wait_for_port(port: int, process: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"the server exited: {process.communicate()}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    raise AssertionError("the server did not start listening")


def post(url: str, key: str) -> tuple[int, object]:
    request = urllib.request.Request(url, method="POST", headers={"dbos-idempotency-key": key})
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read())


@pytest.fixture
def server_env(tmp_path: pathlib.Path) -> Iterator[dict[str, str]]:
    yield {
        **os.environ,
        "LEDGER": str(tmp_path / "ledger.txt"),
        "CRASH_MARKER": str(tmp_path / "crash-once"),
    }


def serve(example: str, env: dict[str, str], port: int) -> subprocess.Popen[str]:
    process = subprocess.Popen(
        [sys.executable, str(EXAMPLES / example)],
        env={**env, "PORT": str(port)},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    wait_for_port(port, process)
    return process


def stop(process: subprocess.Popen[str]) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.mark.slow
@pytest.mark.parametrize("example", ["fastapi_app.py", "flask_app.py"])
def test_a_request_repeated_after_a_server_crash_returns_the_recorded_result(
    example: str, durable_database_url: str, server_env: dict[str, str], tmp_path: pathlib.Path
) -> None:
    env = {**server_env, "DBOS_SYSTEM_DATABASE_URL": durable_database_url}
    pathlib.Path(env["CRASH_MARKER"]).touch()
    port = free_port()
    server = serve(example, env, port)
    try:
        with pytest.raises((urllib.error.URLError, ConnectionError, OSError)):
            post(f"http://127.0.0.1:{port}/orders/7?amount=12.5", "order-7")
        assert server.wait(timeout=30) == -9  # SIGKILLed inside the ship step
    finally:
        stop(server)
    assert (tmp_path / "ledger.txt").read_text().split("\n") == ["charge 7", ""]

    server = serve(example, env, port)
    try:
        status, body = post(f"http://127.0.0.1:{port}/orders/7?amount=12.5", "order-7")
        again = post(f"http://127.0.0.1:{port}/orders/7?amount=12.5", "order-7")
    finally:
        stop(server)
    assert status == 200
    assert body == {
        "workflow_id": "order-7",
        "receipt": "charged 12.50 for order 7",
        "tracking": "shipped order 7",
    }
    assert again == (200, body)
    assert (tmp_path / "ledger.txt").read_text().split() == ["charge", "7", "ship", "7"]
