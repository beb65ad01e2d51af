"""Messages and streams across real processes (SQLite file and Postgres).

The tests run this file as a program in child processes (``python
test_communication_processes.py MODE URL WORKFLOW_ID``):

- ``receive``: start a workflow that waits in ``recv``; it is SIGKILLed while waiting;
- ``send``: send a message (twice, with one idempotency key) while no receiver runs;
- ``resume``: launch, which recovers the receiver, and print its result as JSON;
- ``write``: start a workflow that writes a stream slowly, then closes it;
- ``wait``: start a workflow that waits in ``recv``, its process re-checking the
  database only every minute, and print its result as JSON.
"""

from __future__ import annotations

import contextlib
import json
import pathlib
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from typing import Any

import pytest

from transact import DBOS, DBOSClient, SetWorkflowID
from transact._store.factory import open_store

THIS = pathlib.Path(__file__)
RECEIVER_EXECUTOR = "comm-receiver"
STREAM_VALUES = 12


@DBOS.workflow(name="comm_proc_receiver")
def proc_receiver() -> list[Any]:
    first = DBOS.recv("t", timeout_seconds=60)
    second = DBOS.recv("t", timeout_seconds=0.2)  # the repeated send must not arrive
    return [first, second]


@DBOS.workflow(name="comm_proc_writer")
def proc_writer(count: int) -> int:
    for n in range(count):
        DBOS.write_stream("s", {"n": n})
        if n < count // 2:  # then a burst, whose values share their notifications
            DBOS.sleep(0.05)
    DBOS.close_stream("s")
    return count


@DBOS.workflow(name="comm_proc_waiter")
def proc_waiter() -> Any:
    return DBOS.recv("t", timeout_seconds=WAIT_SECONDS)


WAIT_SECONDS = 30


@contextlib.contextmanager
def reaped(process: subprocess.Popen[str]) -> Iterator[None]:
    """Kill ``process`` on the way out if it is still running (a failed assertion must
    not leave it behind)."""
    try:
        yield
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()


def _launch(url: str, executor_id: str, poll_seconds: float | None = None) -> None:
    DBOS(
        config={
            "name": "test-comm",
            "system_database_url": url,
            "executor_id": executor_id,
            "notification_listener_polling_interval_sec": poll_seconds,
        }
    )
    DBOS.launch()


def main(mode: str, url: str, workflow_id: str) -> None:
    """The child program (see the module docstring)."""
    if mode == "receive":
        _launch(url, RECEIVER_EXECUTOR)
        with SetWorkflowID(workflow_id):
            handle = DBOS.start_workflow(proc_receiver)
        print("started", flush=True)
        handle.get_result()  # never returns: the parent kills this process
    elif mode == "send":
        _launch(url, "comm-sender")
        for _ in range(2):
            DBOS.send(workflow_id, "hello", "t", idempotency_key="once")
    elif mode == "resume":
        _launch(url, RECEIVER_EXECUTOR)  # recovers the receiver
        result = DBOS.retrieve_workflow(workflow_id).get_result(polling_interval_sec=0.05)
        print(json.dumps(result), flush=True)
    elif mode == "write":
        _launch(url, "comm-writer")
        with SetWorkflowID(workflow_id):
            writer = DBOS.start_workflow(proc_writer, STREAM_VALUES)
        print("started", flush=True)
        writer.get_result()
    elif mode == "wait":
        _launch(url, "comm-waiter", poll_seconds=60)
        with SetWorkflowID(workflow_id):
            waiter = DBOS.start_workflow(proc_waiter)
        print("started", flush=True)
        print(json.dumps(waiter.get_result()), flush=True)
    else:
        raise SystemExit(f"unknown mode {mode!r}")
    DBOS.destroy(destroy_registry=False)


# --- tests --------------------------------------------------------------------------


def child(mode: str, url: str, workflow_id: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, str(THIS), mode, url, workflow_id],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def run_child(mode: str, url: str, workflow_id: str) -> str:
    process = child(mode, url, workflow_id)
    out, err = process.communicate(timeout=120)
    assert process.returncode == 0, err
    return out


def expect_started(process: subprocess.Popen[str]) -> None:
    assert process.stdout is not None
    line = process.stdout.readline()
    if line.strip() != "started":
        process.kill()
        _, err = process.communicate()
        raise AssertionError(f"child did not start: {line!r}\n{err}")


def wait_for_checkpoint(url: str, workflow_id: str, function_id: int, name: str) -> None:
    store = open_store(url)
    try:
        deadline = time.monotonic() + 30
        while True:
            found = {(c.function_id, c.function_name) for c in store.load_checkpoints(workflow_id)}
            if (function_id, name) in found:
                return
            if time.monotonic() > deadline:
                raise AssertionError(f"{workflow_id} never recorded {name} at {function_id}")
            time.sleep(0.02)
    finally:
        store.close()


@pytest.fixture
def shared_url(system_database_url: str) -> Iterator[str]:
    """A database other processes can open (not the in-process memory store)."""
    if system_database_url.startswith("memory://"):
        pytest.skip("the memory store lives in one process")
    yield system_database_url


@pytest.mark.slow
def test_message_sent_while_the_receiver_is_dead_is_delivered_once(shared_url: str) -> None:
    receiver = child("receive", shared_url, "proc-receiver")
    try:
        expect_started(receiver)
        wait_for_checkpoint(shared_url, "proc-receiver", 2, "DBOS.sleep")  # waiting in recv
    finally:
        receiver.send_signal(signal.SIGKILL)
        receiver.communicate(timeout=30)
    assert receiver.returncode == -signal.SIGKILL

    run_child("send", shared_url, "proc-receiver")  # no receiver process runs now

    out = run_child("resume", shared_url, "proc-receiver")
    assert json.loads(out.strip().splitlines()[-1]) == ["hello", None]
    store = open_store(shared_url)
    try:
        recorded = store.load_checkpoints("proc-receiver")
    finally:
        store.close()
    recvs = [c for c in recorded if c.function_name == "DBOS.recv"]
    assert [c.function_id for c in recvs] == [1, 3]


@pytest.mark.slow
def test_a_message_from_another_process_wakes_the_receiver_at_once(shared_url: str) -> None:
    """The receiver's process re-checks the database only every minute, and its recv
    times out after 30 s: only the database's notification (Postgres LISTEN, SQLite's
    change log) can hand it the message seconds after it was sent."""
    waiter = child("wait", shared_url, "proc-waiter")
    with reaped(waiter):
        expect_started(waiter)
        wait_for_checkpoint(shared_url, "proc-waiter", 2, "DBOS.sleep")  # waiting in recv
        client = DBOSClient(system_database_url=shared_url)
        try:
            sent = time.monotonic()
            client.send("proc-waiter", "hello", "t")
        finally:
            client.destroy()
        assert waiter.stdout is not None
        result = json.loads(waiter.stdout.readline())
        woken_after = time.monotonic() - sent
        _, err = waiter.communicate(timeout=30)
        assert waiter.returncode == 0, err
    assert result == "hello"
    assert woken_after < WAIT_SECONDS / 3, f"woken {woken_after:.1f} s after the send"


@pytest.mark.slow
def test_stream_written_by_one_process_is_read_by_another(shared_url: str) -> None:
    DBOS(
        config={
            "name": "test-comm",
            "system_database_url": shared_url,
            "executor_id": "comm-reader",
        }
    )
    DBOS.launch()
    writer = child("write", shared_url, "proc-writer")
    try:
        with reaped(writer):
            expect_started(writer)
            # A 30 s re-check: each value must come by the other process's wake-up
            # (NOTIFY; SQLite's change log, read by its watcher).
            began = time.monotonic()
            values = list(DBOS.read_stream("proc-writer", "s", polling_interval_sec=30))
            read_for = time.monotonic() - began
            _, err = writer.communicate(timeout=60)
            assert writer.returncode == 0, err
    finally:
        DBOS.destroy(destroy_registry=False)
    assert values == [{"n": n} for n in range(STREAM_VALUES)]
    assert read_for < 15, f"read for {read_for:.1f} s"


if __name__ == "__main__":
    main(*sys.argv[1:4])
