"""The pytest plugin (entry point ``pytest11``): its fixtures and marker, used as a user
would, and ``FakeClock(auto_advance=True)``."""

from __future__ import annotations

import threading
from typing import Any

import pytest

from transact import DBOS
from transact._testing.plugin import _join_new_threads
from transact.testing import FakeClock

DAY = 86_400.0


@DBOS.workflow()
def remind_later(days: int) -> str:
    DBOS.sleep(days * DAY)
    return f"reminded after {days} days"


@DBOS.workflow()
def nap(seconds: float) -> str:
    DBOS.sleep(seconds)
    return "awake"


@pytest.mark.transact_every_store
def test_the_marker_runs_a_test_on_every_store(
    transact_dbos: Any, transact_url: str, transact_clock: FakeClock, request: pytest.FixtureRequest
) -> None:
    kind = request.node.callspec.params["transact_store_kind"]
    assert transact_url.startswith(
        {"memory": "memory://", "sqlite": "sqlite:///"}.get(kind, "postgresql")
    )
    assert remind_later(3) == "reminded after 3 days"  # in milliseconds, in virtual time
    assert transact_clock.now() >= 1_700_000_000.0 + 3 * DAY


def test_a_fresh_memory_runtime_per_test(transact_dbos: Any, transact_url: str) -> None:
    assert transact_url.startswith("memory://pytest-")
    assert transact_dbos.list_workflows() == []


def test_auto_advance_jumps_to_the_earliest_deadline(
    transact_dbos: Any, transact_clock: FakeClock
) -> None:
    # Both sleeps must be registered before time may jump: at the default 1 ms, a loaded
    # machine started the hour's workflow after the day's waiter had jumped a day.
    transact_clock.real_pause = 0.2
    start = transact_clock.now()
    day = DBOS.start_workflow(remind_later, 1)
    hour = DBOS.start_workflow(nap, 3_600.0)
    assert hour.get_result() == "awake"
    assert day.get_result() == "reminded after 1 days"
    # The hour ended first (once it was over, the clock was free to jump to the day).
    hour_done = DBOS.get_workflow_status(hour.workflow_id).completed_at  # type: ignore[union-attr]
    day_done = DBOS.get_workflow_status(day.workflow_id).completed_at  # type: ignore[union-attr]
    assert hour_done is not None and day_done is not None and hour_done < day_done
    # One timeline: the hour and the day overlap, so about a day passed (not 25 hours).
    assert start + DAY <= transact_clock.now() < start + DAY + 3_600.0


def test_without_auto_advance_each_wait_skips_its_whole_timeout() -> None:
    clock = FakeClock(real_pause=0.0)
    event = threading.Event()
    assert clock.wait(event, 10.0) is False
    assert clock.now() == 1_700_000_010.0


def test_auto_advance_ends_a_wait_early_when_its_event_is_set() -> None:
    clock = FakeClock(auto_advance=True)
    event = threading.Event()
    event.set()
    assert clock.wait(event, DAY) is True
    assert clock.now() == 1_700_000_000.0


def test_threads_left_running_are_named() -> None:
    before = set(threading.enumerate())
    stop = threading.Event()
    thread = threading.Thread(target=stop.wait, name="transact-leak", daemon=True)
    thread.start()
    assert _join_new_threads(before, seconds=0.01) == ["transact-leak"]
    stop.set()
    thread.join()
