"""Schedules created at run time, on every store: the API and its errors, firing in a
time zone with the context and ``schedule_name``, pause and resume, ``apply_schedules``,
backfills and triggers; and exactly one run per time with three processes firing.

The cross-process test runs this file as a script::

    python tests/test_schedules.py URL EXECUTOR_ID LOG_FILE STOP_FILE
"""

from __future__ import annotations

import os
import pathlib
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from tests.waiting import wait_until
from transact import DBOS, DBOSConfig, ScheduleInput
from transact._runtime.dynamic_schedules import iso, schedule_times
from transact.errors import DBOSException
from transact.testing import FakeClock, launched

UTC = timezone.utc
T0 = datetime(2024, 1, 1, 0, 0, 3, tzinfo=UTC)
lock = threading.Lock()
fired: list[tuple[str, datetime, Any]] = []
LOG_FILE = os.environ.get("SCHEDULES_LOG_FILE", "")


@DBOS.workflow()
def on_schedule(scheduled_time: datetime, context: Any) -> None:
    workflow_id = DBOS.workflow_id
    assert workflow_id is not None
    with lock:
        fired.append((workflow_id, scheduled_time, context))
    if LOG_FILE:
        with open(LOG_FILE, "a") as f:
            f.write(f"{scheduled_time.isoformat()} {os.getpid()}\n")


def not_a_workflow(scheduled_time: datetime, context: Any) -> None:
    pass


@pytest.fixture
def dbos(system_database_url: str) -> Iterator[type[DBOS]]:
    fired.clear()
    DBOS.destroy()
    config: DBOSConfig = {"name": "schedule-tests", "system_database_url": system_database_url}
    with launched(config) as dbos:
        yield dbos


def schedule(name: str) -> dict[str, Any]:
    got = DBOS.get_schedule(name)
    return {} if got is None else dict(got)


def fired_ids() -> list[str]:
    with lock:
        return [w for w, _, _ in fired]


def test_create_get_list_pause_resume_delete(dbos: type[DBOS]) -> None:
    DBOS.create_schedule(
        schedule_name="every-second",
        workflow_fn=on_schedule,
        schedule="* * * * * *",
        context={"tenant": 7},
    )
    got = DBOS.get_schedule("every-second")
    assert got is not None
    assert (got["workflow_name"], got["status"], got["context"]) == (
        on_schedule.__qualname__,
        "ACTIVE",
        {"tenant": 7},
    )
    assert [s["schedule_name"] for s in DBOS.list_schedules(schedule_name_prefix="every")] == [
        "every-second"
    ]
    assert DBOS.list_schedules(status="PAUSED") == []
    wait_until(lambda: len(fired) >= 2)
    workflow_id, scheduled, context = fired[0]
    assert workflow_id == f"sched-every-second-{iso(scheduled)}" and context == {"tenant": 7}
    rows = DBOS.list_workflows(schedule_name="every-second")
    assert rows and all(r.schedule_name == "every-second" for r in rows)
    assert DBOS.list_workflows(schedule_name="other") == []
    wait_until(lambda: schedule("every-second").get("last_fired_at") is not None)
    DBOS.pause_schedule("every-second")
    assert schedule("every-second")["status"] == "PAUSED"
    time.sleep(0.3)  # a firing already under way may still land
    count = len(fired)
    time.sleep(1.5)
    assert len(fired) == count
    DBOS.resume_schedule("every-second")
    wait_until(lambda: len(fired) > count)
    DBOS.delete_schedule("every-second")
    assert DBOS.get_schedule("every-second") is None


def test_create_schedule_errors(dbos: type[DBOS]) -> None:
    ok: dict[str, Any] = {"schedule_name": "s", "workflow_fn": on_schedule, "schedule": "0 * * * *"}
    with pytest.raises(DBOSException, match="Invalid cron schedule: 'often'"):
        DBOS.create_schedule(**{**ok, "schedule": "often"})
    with pytest.raises(DBOSException, match="Queue 'nowhere' is not declared"):
        DBOS.create_schedule(**ok, queue_name="nowhere")
    with pytest.raises(DBOSException, match="is not registered"):
        DBOS.create_schedule(**{**ok, "workflow_fn": not_a_workflow})
    with pytest.raises(DBOSException, match="Invalid timezone: 'Mars/Base'"):
        DBOS.create_schedule(**ok, cron_timezone="Mars/Base")
    DBOS.create_schedule(**ok)
    with pytest.raises(DBOSException, match="Schedule 's' already exists"):
        DBOS.create_schedule(**ok)
    with pytest.raises(DBOSException, match="Schedule 'nope' does not exist"):
        DBOS.trigger_schedule("nope")


def test_apply_schedules_upserts_atomically(dbos: type[DBOS]) -> None:
    first: ScheduleInput = {
        "schedule_name": "a",
        "workflow_fn": on_schedule,
        "schedule": "0 * * * *",
    }
    DBOS.apply_schedules([first])
    DBOS.pause_schedule("a")
    DBOS.apply_schedules(
        [
            {**first, "schedule": "30 * * * *", "context": 1},
            {"schedule_name": "b", "workflow_fn": on_schedule, "schedule": "0 0 * * *"},
        ]
    )
    a = DBOS.get_schedule("a")
    assert a is not None and (a["schedule"], a["status"], a["context"]) == (
        "30 * * * *",
        "PAUSED",
        1,
    )
    with pytest.raises(
        DBOSException, match="Schedule entry 1 is missing required field 'schedule'"
    ):
        DBOS.apply_schedules(
            [{**first, "schedule": "5 * * * *"}, {"schedule_name": "c", "workflow_fn": on_schedule}]
        )
    with pytest.raises(DBOSException, match="Invalid cron"):
        DBOS.apply_schedules(
            [{**first, "schedule": "5 * * * *"}, {**first, "schedule_name": "c", "schedule": "x"}]
        )
    assert schedule("a")["schedule"] == "30 * * * *"  # nothing written
    assert DBOS.get_schedule("c") is None


def test_backfill_and_trigger(dbos: type[DBOS]) -> None:
    queue = DBOS.register_queue("sched-q", polling_interval_sec=0.05)
    DBOS.create_schedule(
        schedule_name="hourly",
        workflow_fn=on_schedule,
        schedule="0 * * * *",
        context="ctx",
        queue_name=queue.name,
    )
    start, end = datetime(2024, 3, 1, 0, 0), datetime(2024, 3, 1, 3, 0)
    handles = DBOS.backfill_schedule("hourly", start, end)
    expected = [datetime(2024, 3, 1, h, tzinfo=UTC) for h in (1, 2)]  # strictly between
    assert [h.workflow_id for h in handles] == [f"sched-hourly-{iso(t)}" for t in expected]
    for h in handles:
        h.get_result()
    again = DBOS.backfill_schedule("hourly", start, end)
    assert [h.workflow_id for h in again] == [h.workflow_id for h in handles]
    time.sleep(0.2)
    assert sorted(fired_ids()) == sorted(h.workflow_id for h in handles)  # not run twice
    triggered = DBOS.trigger_schedule("hourly")
    assert triggered.workflow_id.startswith("sched-hourly-trigger-")
    triggered.get_result()
    status = triggered.get_status()
    assert (status.queue_name, status.schedule_name) == (queue.name, "hourly")


def test_automatic_backfill_runs_missed_times(dbos: type[DBOS]) -> None:
    DBOS.create_schedule(
        schedule_name="catch-up",
        workflow_fn=on_schedule,
        schedule="0 * * * *",
        automatic_backfill=True,
    )
    DBOS.pause_schedule("catch-up")
    now = datetime.now(UTC)
    last = now.replace(minute=0, second=0, microsecond=0) - timedelta(hours=5)
    from transact._facade.launched import runtime

    runtime().store.schedule_fired("catch-up", iso(last))
    missed = []
    for t in schedule_times("0 * * * *", None, last):
        if t > now:
            break
        missed.append(f"sched-catch-up-{iso(t)}")
    DBOS.resume_schedule("catch-up")
    wait_until(lambda: set(missed) <= set(fired_ids()))
    assert len(missed) == 5


def test_cron_in_a_time_zone_over_a_fake_clock(system_database_url: str) -> None:
    fired.clear()
    DBOS.destroy()
    clock = FakeClock(start=T0.timestamp(), real_pause=0.02)
    config: DBOSConfig = {"name": "schedule-tz", "system_database_url": system_database_url}
    with launched(config, clock=clock):
        DBOS.create_schedule(
            schedule_name="nine-in-new-york",
            workflow_fn=on_schedule,
            schedule="0 9 * * *",
            cron_timezone="America/New_York",
        )
        wait_until(lambda: len(fired) >= 2, timeout=30)
    times = sorted(t for _, t, _ in fired)[:2]
    ny = ZoneInfo("America/New_York")
    assert [t.astimezone(ny).hour for t in times] == [9, 9]
    assert times[0].astimezone(UTC).hour == 14  # EST in January
    assert times[1] - times[0] == timedelta(days=1)


# --- across processes ------------------------------------------------------------------


def worker_main(url: str, executor_id: str, log_file: str, stop_file: str) -> None:
    global LOG_FILE
    LOG_FILE = log_file
    DBOS(
        config={"name": "schedule-workers", "system_database_url": url, "executor_id": executor_id}
    )
    DBOS.launch()
    print("ready", flush=True)
    while not os.path.exists(stop_file):
        time.sleep(0.05)
    DBOS.destroy(workflow_completion_timeout_sec=5)


def test_each_time_runs_once_with_three_processes(
    durable_database_url: str, tmp_path: pathlib.Path
) -> None:
    log_file, stop = tmp_path / "fired.log", tmp_path / "stop"
    app = pathlib.Path(__file__).resolve()
    env = dict(os.environ, PYTHONPATH=str(app.parents[1]))
    workers = []
    DBOS.destroy()
    config: DBOSConfig = {
        "name": "schedule-workers",
        "system_database_url": durable_database_url,
        "executor_id": "creator",
    }
    try:
        for i in range(3):
            worker = subprocess.Popen(
                [sys.executable, str(app), durable_database_url, f"w{i}", str(log_file), str(stop)],
                stdout=subprocess.PIPE,
                text=True,
                env=env,
            )
            workers.append(worker)
            assert worker.stdout is not None and worker.stdout.readline().strip() == "ready"
        with launched(config):
            # This process fires too: four in all.
            DBOS.create_schedule(
                schedule_name="shared", workflow_fn=on_schedule, schedule="* * * * * *"
            )
            wait_until(
                lambda: log_file.exists() and len(log_file.read_text().splitlines()) >= 4,
                timeout=30,
            )
            DBOS.delete_schedule("shared")
            rows = DBOS.list_workflows(schedule_name="shared")
    finally:
        stop.touch()
        for worker in workers:
            worker.wait(timeout=30)
    lines = [line.split() for line in log_file.read_text().splitlines()]
    counts = Counter(t for t, _ in lines)
    assert counts and max(counts.values()) == 1, counts
    assert len({r.workflow_id for r in rows}) == len(rows) >= 4


if __name__ == "__main__":
    worker_main(*sys.argv[1:5])


@DBOS.workflow()
def manage_schedules(name: str) -> int:
    DBOS.create_schedule(schedule_name=name, workflow_fn=on_schedule, schedule="0 0 1 1 *")
    DBOS.pause_schedule(name)
    found = DBOS.list_schedules(schedule_name_prefix=name)
    DBOS.delete_schedule(name)
    return len(found)


def test_schedule_operations_are_steps_in_a_workflow(dbos: type[DBOS]) -> None:
    handle = DBOS.start_workflow(manage_schedules, "in-workflow")
    assert handle.get_result() == 1
    names = [s["function_name"] for s in DBOS.list_workflow_steps(handle.workflow_id)]
    assert names == [
        "DBOS.createSchedule",
        "DBOS.pauseSchedule",
        "DBOS.listSchedules",
        "DBOS.deleteSchedule",
    ]
