"""``transact garbage-collect`` and ``transact global-timeout`` as a subprocess against
SQLite and Postgres, while this test process runs the application."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import pytest

from tests.test_cli import failed, ok, transact
from tests.waiting import status_of, wait_until
from transact import DBOS, SetWorkflowID

gates: dict[str, threading.Event] = {}


@DBOS.step()
def maintained_step(x: int) -> int:
    return x * 2


@DBOS.workflow()
def maintained(x: int) -> int:
    return maintained_step(x)


@DBOS.workflow()
def maintained_blocked(tag: str) -> str:
    maintained_step(0)
    while not gates[tag].wait(0.01):
        pass
    maintained_step(1)
    return tag


@pytest.fixture
def app(durable_database_url: str) -> Iterator[str]:
    DBOS(config={"name": "cli-maintenance", "system_database_url": durable_database_url})
    DBOS.launch()
    try:
        yield durable_database_url
    finally:
        for gate in gates.values():
            gate.set()
        DBOS.destroy()


@pytest.mark.slow
def test_garbage_collect_keeps_the_newest_and_the_active(app: str) -> None:
    gates["gc"] = threading.Event()
    blocked = DBOS.start_workflow(maintained_blocked, "gc")
    wait_until(lambda: len(DBOS.list_workflow_steps(blocked.workflow_id)) == 1)
    for n in range(4):
        with SetWorkflowID(f"gc-{n}"):
            maintained(n)
        time.sleep(0.002)  # distinct creation times, so "the newest two" is well defined
    assert ok("garbage-collect", "-s", app, "--rows-threshold", "2") == {"deleted": 2}
    left = {w.workflow_id for w in DBOS.list_workflows()}
    assert left == {blocked.workflow_id, "gc-2", "gc-3"}
    cutoff = str(int(time.time() * 1000) + 1000)
    assert ok("garbage-collect", "-s", app, "--cutoff-epoch-timestamp-ms", cutoff) == {"deleted": 2}
    assert [w.workflow_id for w in DBOS.list_workflows()] == [blocked.workflow_id]
    assert "--rows-threshold" in failed("garbage-collect", "-s", app)


@pytest.mark.slow
def test_global_timeout_cancels_what_runs_too_long(app: str) -> None:
    gates["old"] = threading.Event()
    old = DBOS.start_workflow(maintained_blocked, "old")
    wait_until(lambda: len(DBOS.list_workflow_steps(old.workflow_id)) == 1)
    with SetWorkflowID("finished-old"):
        maintained(1)
    assert ok("global-timeout", "-s", app, "--older-than", "3600") == {"cancelled": []}
    cutoff = str(int(time.time() * 1000))
    done = ok("global-timeout", "-s", app, "--cutoff-epoch-timestamp-ms", cutoff)
    assert done == {"cancelled": [old.workflow_id]}
    assert status_of(old.workflow_id) == "CANCELLED"
    assert status_of("finished-old") == "SUCCESS"
    gates["old"].set()
    # The application's executor notices and stops before its next step.
    wait_until(lambda: len(DBOS.list_workflow_steps(old.workflow_id)) == 1)
    usage = transact("global-timeout", "-s", app)  # argparse's usage error
    assert usage.returncode == 2 and "required" in usage.stderr
