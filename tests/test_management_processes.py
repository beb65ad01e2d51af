"""Workflow management across real processes (SQLite file and Postgres).

The test process is the operator (DBOS launched with executor id ``operator``); the
workflows run in child processes started from this file as a program (``python
test_management_processes.py MODE URL WORKFLOW_ID EFFECTS``):

- ``sleep``: start a workflow that runs step 1, sleeps 60 s durably, runs step 2; print
  its outcome (``cancelled`` if it was cancelled or deleted);
- ``steps``: run a five-step workflow, or with ``--crash-at N`` SIGKILL itself inside
  step N (after its side effect);
- ``timed``: like ``sleep`` with a 1.5 s timeout; the test kills it while it sleeps;
- ``recover``: launch with the ``timed`` executor id, which recovers the workflow, and
  print its outcome.

Every step appends its number to the EFFECTS file: side effects counted outside the
library.
"""

from __future__ import annotations

import argparse
import os
import pathlib
import signal
import subprocess
import sys
import time
from collections.abc import Iterator

import pytest

from transact import (
    DBOS,
    DBOSAwaitedWorkflowCancelledError,
    SetWorkflowID,
    SetWorkflowTimeout,
)
from transact._store.factory import open_store

THIS = pathlib.Path(__file__)
crash_at = 0


@DBOS.step(name="mgmt_proc.step")
def step(effects: str, n: int, total: int) -> int:
    with open(effects, "a") as f:
        f.write(f"{n}\n")
        f.flush()
        os.fsync(f.fileno())
    if n == crash_at:
        os.kill(os.getpid(), signal.SIGKILL)
    return total + n


@DBOS.workflow(name="mgmt_proc_five")
def five(effects: str) -> int:
    total = 0
    for n in range(1, 6):
        total = step(effects, n, total)
    return total


@DBOS.workflow(name="mgmt_proc_sleepy")
def sleepy(effects: str) -> int:
    step(effects, 1, 0)
    DBOS.sleep(60)
    return step(effects, 2, 0)


def _launch(url: str, executor_id: str) -> None:
    DBOS.destroy(destroy_registry=False)
    DBOS(config={"name": "test-mgmt-proc", "system_database_url": url, "executor_id": executor_id})
    DBOS.launch()


def _print_outcome(workflow_id: str) -> None:
    try:
        result = DBOS.retrieve_workflow(workflow_id).get_result(polling_interval_sec=0.05)
    except DBOSAwaitedWorkflowCancelledError:
        print("cancelled", flush=True)
    else:
        print(result, flush=True)


def main() -> None:
    """The child program (see the module docstring)."""
    global crash_at
    parser = argparse.ArgumentParser()
    parser.add_argument("mode", choices=["sleep", "steps", "timed", "recover"])
    parser.add_argument("url")
    parser.add_argument("workflow_id")
    parser.add_argument("effects")
    parser.add_argument("--crash-at", type=int, default=0)
    options = parser.parse_args()
    crash_at = options.crash_at
    if options.mode in ("sleep", "timed"):
        _launch(options.url, options.mode)
        timeout = 1.5 if options.mode == "timed" else None
        with SetWorkflowID(options.workflow_id), SetWorkflowTimeout(timeout):
            DBOS.start_workflow(sleepy, options.effects)
        _print_outcome(options.workflow_id)
    elif options.mode == "steps":
        _launch(options.url, "stepper")
        with SetWorkflowID(options.workflow_id):
            print(five(options.effects), flush=True)
    else:
        _launch(options.url, "timed")  # recovers the timed workflow
        _print_outcome(options.workflow_id)
    DBOS.destroy(destroy_registry=False)


# --- tests --------------------------------------------------------------------------


def child(
    mode: str, url: str, workflow_id: str, effects: pathlib.Path, *extra: str
) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, str(THIS), mode, url, workflow_id, str(effects), *extra],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def finish(process: subprocess.Popen[str], timeout: float = 60) -> str:
    try:
        out, err = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        out, err = process.communicate()
        raise AssertionError(f"child did not finish in {timeout} s\n{out}\n{err}") from None
    assert process.returncode == 0, err
    return out.strip()


def wait_for_sleep(url: str, workflow_id: str, process: subprocess.Popen[str]) -> None:
    """Wait until the child's workflow has recorded its durable sleep (function id 2)."""
    store = open_store(url)
    try:
        deadline = time.monotonic() + 60
        while (2, "DBOS.sleep") not in {
            (c.function_id, c.function_name) for c in store.load_checkpoints(workflow_id)
        }:
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                _, err = process.communicate()
                raise AssertionError(f"{workflow_id} never started sleeping\n{err}")
            time.sleep(0.02)
    finally:
        store.close()


def ran(effects: pathlib.Path) -> list[int]:
    return [int(n) for n in effects.read_text().split()] if effects.exists() else []


@pytest.fixture
def url(system_database_url: str) -> Iterator[str]:
    """The operator: DBOS launched in this process on a database shared with children."""
    if system_database_url.startswith("memory://"):
        pytest.skip("the memory store does not outlive its process")
    _launch(system_database_url, "operator")
    yield system_database_url
    DBOS.destroy(destroy_registry=False)


pytestmark = pytest.mark.slow


def test_cancel_from_another_process_stops_a_sleeping_workflow(
    url: str, tmp_path: pathlib.Path
) -> None:
    effects = tmp_path / "effects"
    runner = child("sleep", url, "proc-cancel", effects)
    wait_for_sleep(url, "proc-cancel", runner)
    started = time.monotonic()
    DBOS.cancel_workflow("proc-cancel")
    assert finish(runner) == "cancelled"
    assert time.monotonic() - started < 20  # noticed long before the 60 s sleep ends
    assert ran(effects) == [1]  # step 2 never started
    status = DBOS.get_workflow_status("proc-cancel")
    assert status is not None and status.status == "CANCELLED"


def test_resume_in_another_process_after_a_crash(url: str, tmp_path: pathlib.Path) -> None:
    effects = tmp_path / "effects"
    crashed = child("steps", url, "proc-crash", effects, "--crash-at", "3")
    crashed.communicate(timeout=60)
    assert crashed.returncode == -signal.SIGKILL
    assert ran(effects) == [1, 2, 3]
    # The crashed executor ("stepper") is gone; the operator resumes its workflow here.
    handle = DBOS.resume_workflow("proc-crash")
    assert handle.get_result(polling_interval_sec=0.02) == 15
    assert ran(effects) == [1, 2, 3, 3, 4, 5]  # only the interrupted step ran twice
    status = handle.get_status()
    assert status.executor_id == "operator" and status.status == "SUCCESS"


def test_fork_in_another_process(url: str, tmp_path: pathlib.Path) -> None:
    effects = tmp_path / "effects"
    assert finish(child("steps", url, "proc-original", effects)) == "15"
    assert ran(effects) == [1, 2, 3, 4, 5]
    # The child registered its own application version last, so it is the latest: an
    # unversioned fork would wait for it (as in DBOS). Fork onto this process's version.
    fork = DBOS.fork_workflow("proc-original", 4, application_version=DBOS.application_version)
    assert fork.get_result(polling_interval_sec=0.02) == 15
    assert ran(effects) == [1, 2, 3, 4, 5, 4, 5]  # steps 1-3 replayed from the copy
    status = fork.get_status()
    assert status.forked_from == "proc-original" and status.executor_id == "operator"


def test_delete_from_another_process_stops_the_running_workflow(
    url: str, tmp_path: pathlib.Path
) -> None:
    effects = tmp_path / "effects"
    runner = child("sleep", url, "proc-delete", effects)
    wait_for_sleep(url, "proc-delete", runner)
    DBOS.delete_workflow("proc-delete", delete_children=True)
    assert finish(runner) == "cancelled"
    assert ran(effects) == [1]
    assert DBOS.get_workflow_status("proc-delete") is None
    assert DBOS.list_workflow_steps("proc-delete") == []


def test_a_timeout_survives_a_crash(url: str, tmp_path: pathlib.Path) -> None:
    effects = tmp_path / "effects"
    timed = child("timed", url, "proc-timed", effects)
    wait_for_sleep(url, "proc-timed", timed)
    timed.kill()  # the process dies before its deadline; the workflow stays PENDING
    timed.communicate()
    status = DBOS.get_workflow_status("proc-timed")
    assert status is not None and status.status == "PENDING"
    deadline = status.workflow_deadline_epoch_ms
    started = time.monotonic()
    assert finish(child("recover", url, "proc-timed", effects)) == "cancelled"
    assert time.monotonic() - started < 20  # cancelled at the recorded deadline
    after = DBOS.get_workflow_status("proc-timed")
    assert after is not None and after.status == "CANCELLED"
    assert after.workflow_deadline_epoch_ms == deadline
    assert ran(effects) == [1]  # step 1 replayed after the crash, step 2 never ran


if __name__ == "__main__":
    main()
