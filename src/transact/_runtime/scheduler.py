"""Cron-scheduled workflows: one thread per schedule enqueues a workflow per firing time.

Firing times come from ``croniter`` (5 fields, or 6 with seconds first), in UTC. A
schedule's thread starts at launch from the current time (no catch-up of times missed
while no process ran) and then walks the cron times one after the other, waiting on the
runtime's clock: a fake clock makes the walk instant in tests. Each firing enqueues the
workflow on the internal queue with the id ``sched-<name>-<scheduled time, ISO>``, so
however many processes run the schedule, each time runs once: the first insert wins,
the others attach to it.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator
from datetime import datetime, timezone

import attrs
from croniter import croniter

from transact._core.queue_policy import QueueEntry
from transact._runtime.clock import Clock
from transact._runtime.enqueue_rows import enqueue
from transact._runtime.options import StartOptions
from transact._runtime.recovery import INTERNAL_QUEUE
from transact._runtime.registry import REGISTRY
from transact._runtime.services import Services
from transact.errors import DBOSException

__all__ = [
    "SCHEDULES",
    "Schedule",
    "ScheduleRegistry",
    "Scheduler",
    "Schedulers",
    "fire_times",
    "scheduled_workflow_id",
    "validate_cron",
]

logger = logging.getLogger("dbos")


def validate_cron(cron: object) -> str:
    """``cron`` if it is a valid 5- or 6-field (seconds first) expression; else
    ``ValueError``."""
    if not isinstance(cron, str) or not croniter.is_valid(cron, second_at_beginning=True):
        raise ValueError(
            f"invalid cron schedule {cron!r}: use 5 fields (minute hour day month weekday) "
            "or 6 with seconds first"
        )
    return cron


def fire_times(cron: str, after: datetime) -> Iterator[datetime]:
    """The firing times of ``cron`` strictly after ``after`` (UTC if naive), in order."""
    if after.tzinfo is None:
        after = after.replace(tzinfo=timezone.utc)
    times = croniter(cron, after, second_at_beginning=True)
    while True:
        yield times.get_next(datetime)


def scheduled_workflow_id(name: str, scheduled_time: datetime) -> str:
    """The id of the firing of workflow ``name`` at ``scheduled_time``: the same in
    every process, which makes the firing happen once."""
    return f"sched-{name}-{scheduled_time.isoformat()}"


@attrs.frozen
class Schedule:
    """Workflow ``name`` runs at every time of ``cron``."""

    name: str
    cron: str


class ScheduleRegistry:
    """Workflow name -> schedule, process-wide (filled by ``@DBOS.scheduled``)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._schedules: dict[str, Schedule] = {}

    def add(self, schedule: Schedule) -> None:
        """Register ``schedule`` (replacing one for the same workflow: a reload)."""
        with self._lock:
            self._schedules[schedule.name] = schedule

    def all(self) -> list[Schedule]:
        """Every schedule."""
        with self._lock:
            return list(self._schedules.values())

    def remove(self, name: str) -> None:
        """Forget the schedule of workflow ``name`` (if any)."""
        with self._lock:
            self._schedules.pop(name, None)

    def clear(self) -> None:
        """Forget every schedule (``DBOS.destroy(destroy_registry=True)``)."""
        with self._lock:
            self._schedules.clear()


SCHEDULES = ScheduleRegistry()


class Scheduler(threading.Thread):
    """Calls ``fire(scheduled_time, actual_time)`` at each time of ``cron`` until
    ``stopped`` is set, waiting on ``clock``."""

    def __init__(
        self,
        cron: str,
        *,
        clock: Clock,
        fire: Callable[[datetime, datetime], None],
        stopped: threading.Event,
        name: str = "transact-scheduler",
    ) -> None:
        super().__init__(name=name, daemon=True)
        self._cron = cron
        self._clock = clock
        self._fire = fire
        self._stopped = stopped

    def run(self) -> None:
        clock = self._clock
        start = datetime.fromtimestamp(clock.now(), timezone.utc)
        # Each time follows the previous *scheduled* time, not the clock: a firing that
        # ran late does not make the next one skip a time.
        for scheduled in fire_times(self._cron, start):
            remaining = scheduled.timestamp() - clock.now()
            if remaining > 0 and clock.wait(self._stopped, remaining):
                return
            if self._stopped.is_set():
                return
            actual = datetime.fromtimestamp(clock.now(), timezone.utc)
            try:
                self._fire(scheduled, actual)
            except DBOSException as exc:
                logger.error("Scheduled firing at %s failed: %s", scheduled.isoformat(), exc)


class Schedulers:
    """The scheduler threads of one launched runtime: one per registered schedule."""

    def __init__(self, runtime: Services, registry: ScheduleRegistry = SCHEDULES) -> None:
        self._runtime = runtime
        self._stopped = threading.Event()
        self._threads = [
            Scheduler(
                schedule.cron,
                clock=runtime.clock,
                fire=self._firing(schedule.name),
                stopped=self._stopped,
                name=f"transact-scheduler-{schedule.name}",
            )
            for schedule in registry.all()
        ]

    def start(self) -> None:
        """Start every scheduler thread."""
        for thread in self._threads:
            thread.start()

    def stop(self) -> None:
        """Stop and join every scheduler thread."""
        self._stopped.set()
        for thread in self._threads:
            thread.join(timeout=10)

    def _firing(self, name: str) -> Callable[[datetime, datetime], None]:
        def fire(scheduled: datetime, actual: datetime) -> None:
            spec = REGISTRY.workflow(name)
            if spec is None:
                logger.error("Scheduled workflow %s is no longer registered", name)
                return
            enqueue(
                self._runtime,
                spec,
                (scheduled, actual),
                {},
                options=StartOptions(workflow_id=scheduled_workflow_id(name, scheduled)),
                entry=QueueEntry(INTERNAL_QUEUE),
            )

        return fire
