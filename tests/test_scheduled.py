"""Cron-scheduled workflows: firing times (over a simulated clock), the decorator, and
one firing per time across processes.

The cross-process test runs this file as a script::

    python tests/test_scheduled.py URL EXECUTOR_ID LOG_FILE STOP_FILE
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
from itertools import islice

import pytest

from transact import DBOS, DBOSConfig
from transact._runtime.scheduler import (
    SCHEDULES,
    Scheduler,
    fire_times,
    scheduled_workflow_id,
    validate_cron,
)
from transact.errors import DBOSException
from transact.testing import FakeClock, launched

UTC = timezone.utc
T0 = datetime(2024, 1, 1, 0, 0, 3, tzinfo=UTC)

# --- firing times ----------------------------------------------------------------------


def test_fire_times_with_and_without_seconds() -> None:
    assert list(islice(fire_times("*/5 * * * * *", T0), 3)) == [
        T0.replace(second=5),
        T0.replace(second=10),
        T0.replace(second=15),
    ]
    assert list(islice(fire_times("30 2 * * *", T0), 2)) == [
        datetime(2024, 1, 1, 2, 30, tzinfo=UTC),
        datetime(2024, 1, 2, 2, 30, tzinfo=UTC),
    ]
    # A naive start is UTC; a time exactly on the schedule is not repeated.
    assert next(fire_times("* * * * * *", T0.replace(tzinfo=None))) == T0 + timedelta(seconds=1)


@pytest.mark.parametrize("cron", ["", "* * *", "61 * * * *", "* * * * * * * *", "often"])
def test_invalid_cron_is_refused(cron: str) -> None:
    with pytest.raises(ValueError, match="cron"):
        validate_cron(cron)
    with pytest.raises(ValueError, match="cron"):
        DBOS.scheduled(cron)


def test_scheduled_needs_a_workflow() -> None:
    def plain(scheduled_time: datetime, actual_time: datetime) -> None:
        pass

    with pytest.raises(DBOSException, match="not a workflow"):
        DBOS.scheduled("* * * * *")(plain)


def test_scheduler_walks_cron_times_on_a_simulated_clock() -> None:
    """Minutes of simulated time pass in milliseconds; every time fires once, in order,
    and a firing that ran late does not make the next one skip a time."""
    clock = FakeClock(start=T0.timestamp())
    fired: list[tuple[datetime, datetime]] = []
    stopped = threading.Event()

    def fire(scheduled: datetime, actual: datetime) -> None:
        fired.append((scheduled, actual))
        if len(fired) == 3:
            clock.advance(25)  # a slow firing: the next two times are already past
        if len(fired) == 8:
            stopped.set()

    scheduler = Scheduler("*/10 * * * * *", clock=clock, fire=fire, stopped=stopped)
    scheduler.start()
    scheduler.join(timeout=10)
    assert not scheduler.is_alive()
    assert [s for s, _ in fired] == [
        T0.replace(second=10) + timedelta(seconds=10 * i) for i in range(8)
    ]
    assert all(actual >= scheduled for scheduled, actual in fired)
    assert fired[3][1] - fired[3][0] >= timedelta(seconds=5)  # late, but not skipped


# --- through DBOS ----------------------------------------------------------------------

ticks: list[tuple[str | None, datetime, datetime]] = []
LOG_FILE = os.environ.get("SCHEDULED_TEST_LOG", "")


@DBOS.workflow()
def every_ten_seconds(scheduled_time: datetime, actual_time: datetime) -> None:
    ticks.append((DBOS.workflow_id, scheduled_time, actual_time))


@pytest.fixture
def scheduled_every_ten_seconds() -> Iterator[None]:
    DBOS.scheduled("*/10 * * * * *")(every_ten_seconds)
    try:
        yield
    finally:
        SCHEDULES.clear()
        ticks.clear()


def test_scheduled_workflow_runs_once_per_time_with_both_times(
    scheduled_every_ten_seconds: None, system_database_url: str
) -> None:
    # A slow fake clock: simulated time only moves while some thread waits.
    clock = FakeClock(start=T0.timestamp(), real_pause=0.02)
    config: DBOSConfig = {"name": "scheduled-tests", "system_database_url": system_database_url}
    with launched(config, clock=clock):
        deadline = time.monotonic() + 30
        while len(ticks) < 3:
            assert time.monotonic() < deadline, ticks
            time.sleep(0.01)
        rows = DBOS.list_workflows(workflow_id_prefix="sched-every_ten_seconds-")
    times = sorted(t for _, t, _ in ticks)
    assert times[:3] == [T0.replace(second=10) + timedelta(seconds=10 * i) for i in range(3)]
    for workflow_id, scheduled, actual in ticks:
        assert workflow_id == scheduled_workflow_id("every_ten_seconds", scheduled)
        assert workflow_id == f"sched-every_ten_seconds-{scheduled.isoformat()}"
        assert actual >= scheduled and actual.tzinfo is not None
    assert len({r.workflow_id for r in rows}) == len(rows)
    assert all(r.queue_name == "_dbos_internal_queue" for r in rows)


# --- across processes ------------------------------------------------------------------


@DBOS.workflow()
def every_second(scheduled_time: datetime, actual_time: datetime) -> None:
    with open(LOG_FILE, "a") as f:
        f.write(f"{scheduled_time.isoformat()} {os.getpid()}\n")


def worker_main(url: str, executor_id: str, log_file: str, stop_file: str) -> None:
    global LOG_FILE
    LOG_FILE = log_file
    DBOS.scheduled("* * * * * *")(every_second)
    DBOS(
        config={
            "name": "scheduled-workers",
            "system_database_url": url,
            "executor_id": executor_id,
            "application_version": "v1",
        }
    )
    DBOS.launch()
    print("ready", flush=True)
    while not os.path.exists(stop_file):
        time.sleep(0.05)
    DBOS.destroy(workflow_completion_timeout_sec=5)


@pytest.mark.slow
def test_two_processes_fire_each_time_once(
    system_database_url: str, tmp_path: pathlib.Path
) -> None:
    if system_database_url.startswith("memory://"):
        pytest.skip("the memory store does not outlive its process")
    log, stop = tmp_path / "fired.log", tmp_path / "stop"
    env = dict(os.environ, PYTHONPATH=str(pathlib.Path(__file__).parents[1]))
    processes = [
        subprocess.Popen(
            [sys.executable, __file__, system_database_url, f"sched-{i}", str(log), str(stop)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        for i in range(2)
    ]
    try:
        for p in processes:
            assert p.stdout is not None
            assert p.stdout.readline().strip() == "ready"
        time.sleep(3.5)
    finally:
        stop.touch()
        for p in processes:
            _, err = p.communicate(timeout=60)
            assert p.returncode == 0, err
    fired = Counter(line.split()[0] for line in log.read_text().splitlines())
    assert len(fired) >= 3
    assert set(fired.values()) == {1}, fired


if __name__ == "__main__":
    worker_main(*sys.argv[1:5])
