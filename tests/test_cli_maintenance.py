"""``transact garbage-collect``, ``transact global-timeout`` and ``transact
rename-application`` as a subprocess against SQLite and Postgres, while this test
process runs the application."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator

import pytest

from tests.test_cli import failed, ok, transact
from tests.waiting import status_of, wait_until
from transact import DBOS, DBOSClient, EnqueueOptions, SetWorkflowID

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


def _owners() -> dict[str, str | None]:
    return {w.workflow_id: w.application_name for w in DBOS.list_workflows()}


@pytest.mark.slow
def test_rename_application_asks_then_re_owns(app: str) -> None:
    # The launched application's rows are unclaimed; a client of "old-app" enqueues one.
    for n in range(3):
        with SetWorkflowID(f"rn-{n}"):
            maintained(n)
    client = DBOSClient(system_database_url=app, application_name="old-app")
    options: EnqueueOptions = {
        "workflow_name": "elsewhere",
        "queue_name": "rn-q",
        "workflow_id": "rn-old",
    }
    client.enqueue(options)
    client.destroy()
    rename = ("rename-application", "-s", app, "-f", "old-app", "-t", "new-app")

    refused = transact(*rename, stdin="n\n")
    assert refused.returncode == 1 and "rename-application cancelled" in refused.stderr
    assert refused.stdout == "" and "[y/N]" in refused.stderr
    assert _owners()["rn-old"] == "old-app"

    agreed = transact(*rename, stdin="y\n")
    assert agreed.returncode == 0, agreed.stderr
    counts = {"queues": 0, "schedules": 0, "versions": 0, "workflows": 1, "steps": 0}
    assert json.loads(agreed.stdout) == counts
    assert _owners()["rn-old"] == "new-app"

    # The launched application's version and its three workflows, one per batch.
    adopt = ("-y", "--adopt-unclaimed-rows", "--batch-size", "1", "--schema", "dbos")
    adopted = ok("rename-application", "-s", app, "-t", "new-app", *adopt)
    assert adopted == {**counts, "workflows": 3, "versions": 1}
    assert set(_owners().values()) == {"new-app"}


@pytest.mark.slow
def test_rename_application_errors(app: str) -> None:
    base = ("rename-application", "-s", app, "-y")
    assert "Nothing to re-own: name the application" in failed(*base, "-t", "new-app")
    assert "Invalid application name 'Bad'" in failed(*base, "-f", "old-app", "-t", "Bad")
    assert "previous name cannot be empty" in failed(*base, "-f", "", "-t", "new-app")
    same = failed(*base, "-f", "new-app", "-t", "new-app")
    assert "DBOS Error: Application 'new-app' already holds that name" in same
    assert "batch_size must be a positive integer, got 0" in failed(
        *base, "-f", "old-app", "-t", "new-app", "--batch-size", "0"
    )
    # Refused before asking: a bad rename reads no answer.
    unasked = transact("rename-application", "-s", app, "-t", "new-app", stdin="y\n")
    assert unasked.returncode == 1 and "[y/N]" not in unasked.stderr
    # A closed stdin is a no, not a traceback.
    closed = transact("rename-application", "-s", app, "-f", "old-app", "-t", "new-app")
    assert closed.returncode == 1 and "Traceback" not in closed.stderr
    assert "cancelled" in closed.stderr
    usage = transact("rename-application", "-s", app, "-y", "-f", "old-app")
    assert usage.returncode == 2 and "-t/--to" in usage.stderr
