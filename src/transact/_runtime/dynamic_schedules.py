"""Schedules created at run time (``DBOS.create_schedule``): the ``workflow_schedules``
table, served by every launched process.

A :class:`DynamicSchedulers` thread reads the ACTIVE schedules every second during the
first minute after launch, then every :data:`POLL_SECONDS` (and at once when this
process changes one), and keeps one firing thread per schedule, restarted when its
definition changes and stopped when it is paused or deleted. Each time of the cron
(evaluated in the schedule's IANA time zone) enqueues the workflow with
``(scheduled_time, context)`` under the id ``sched-<schedule name>-<time, ISO>`` on the
schedule's queue (or the internal one), with ``schedule_name`` on its row: every
process fires, the first insert wins, so each time runs once. With
``automatic_backfill`` a starting thread first enqueues every time missed since the
schedule last fired.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator
from datetime import datetime, timezone
from typing import Protocol
from zoneinfo import ZoneInfo

import attrs
from croniter import croniter

from transact._core.queue_policy import QueueEntry
from transact._runtime.announcer import announce
from transact._runtime.enqueue_rows import enqueued_record
from transact._runtime.options import StartOptions
from transact._runtime.recovery import INTERNAL_QUEUE
from transact._runtime.registry import REGISTRY
from transact._runtime.services import Services
from transact._serialization import Serializer
from transact._store.records import ScheduleRecord
from transact.errors import DBOSException

__all__ = [
    "POLL_SECONDS",
    "DynamicSchedulers",
    "ScheduleServices",
    "fire_schedule",
    "iso",
    "refresh_schedules",
    "schedule_times",
]

logger = logging.getLogger("transact")


class ScheduleServices(Services, Protocol):
    """The runtime as schedules see it: the services, and the serializer of contexts."""

    @property
    def serializer(self) -> Serializer:
        """How a schedule's context is stored."""
        ...


POLL_SECONDS = 30.0
"""How often a process reads the schedules table once it has run a minute (DBOS's
``scheduler_polling_interval_sec``); every second before that."""
EARLY_POLL_SECONDS = 1.0
EARLY_PERIOD_SECONDS = 60.0


def iso(moment: datetime) -> str:
    """``moment`` as the ISO text stored and used in ids: UTC, microseconds, so text
    order is time order."""
    return moment.astimezone(timezone.utc).isoformat(timespec="microseconds")


def schedule_times(cron: str, tz: str | None, after: datetime) -> Iterator[datetime]:
    """The times of ``cron`` in time zone ``tz`` (UTC if None) strictly after ``after``."""
    zone = ZoneInfo(tz) if tz else timezone.utc
    start = (after if after.tzinfo else after.replace(tzinfo=timezone.utc)).astimezone(zone)
    times = croniter(cron, start, second_at_beginning=True)
    while True:
        yield times.get_next(datetime)


def fire_schedule(
    runtime: ScheduleServices, schedule: ScheduleRecord, scheduled: datetime, workflow_id: str
) -> str:
    """Enqueue one firing of ``schedule`` for ``scheduled`` under ``workflow_id`` (an
    existing row with that id is attached to, not run again); return the id."""
    spec = REGISTRY.workflow(schedule.workflow_name)
    if spec is None:
        raise DBOSException(f"Workflow function '{schedule.workflow_name}' is not registered")
    context = runtime.serializer.deserialize(schedule.context)
    record = runtime.new_record(
        spec, workflow_id, (scheduled, context), {}, options=StartOptions(workflow_id=workflow_id)
    )
    queue = schedule.queue_name or INTERNAL_QUEUE
    record = enqueued_record(record, QueueEntry(queue), timed=False)
    record = attrs.evolve(record, schedule_name=schedule.schedule_name)
    _, created = runtime.insert(record)
    if created:
        announce(runtime, queue)
    return workflow_id


def _definition(schedule: ScheduleRecord) -> tuple[object, ...]:
    return (
        schedule.workflow_name,
        schedule.workflow_class_name,
        schedule.schedule,
        schedule.context,
        schedule.cron_timezone,
        schedule.queue_name,
    )


class _Firing(threading.Thread):
    """Fires one schedule at each of its times until stopped."""

    def __init__(self, runtime: ScheduleServices, schedule: ScheduleRecord) -> None:
        super().__init__(name=f"transact-schedule-{schedule.schedule_name}", daemon=True)
        self.schedule = schedule
        self._runtime = runtime
        self.stopped = threading.Event()

    def run(self) -> None:
        clock = self._runtime.clock
        now = datetime.fromtimestamp(clock.now(), timezone.utc)
        schedule = self.schedule
        try:
            if schedule.automatic_backfill and schedule.last_fired_at is not None:
                missed = datetime.fromisoformat(schedule.last_fired_at)
                for scheduled in schedule_times(schedule.schedule, schedule.cron_timezone, missed):
                    if scheduled > now or self.stopped.is_set():
                        break
                    self._fire(scheduled)
            # Each time follows the previous scheduled time, not the clock.
            for scheduled in schedule_times(schedule.schedule, schedule.cron_timezone, now):
                remaining = scheduled.timestamp() - clock.now()
                if remaining > 0 and clock.wait(self.stopped, remaining):
                    return
                if self.stopped.is_set():
                    return
                self._fire(scheduled)
        except Exception:  # a broken definition must not take the process down
            logger.exception("Schedule %s stopped", schedule.schedule_name)

    def _fire(self, scheduled: datetime) -> None:
        name = self.schedule.schedule_name
        try:
            fire_schedule(self._runtime, self.schedule, scheduled, f"sched-{name}-{iso(scheduled)}")
            self._runtime.store.schedule_fired(name, iso(scheduled))
        except DBOSException as exc:
            logger.error("Schedule %s: firing at %s failed: %s", name, iso(scheduled), exc)


class DynamicSchedulers(threading.Thread):
    """Keeps one firing thread per ACTIVE schedule of the table."""

    def __init__(self, runtime: ScheduleServices) -> None:
        super().__init__(name="transact-dynamic-scheduler", daemon=True)
        self._runtime = runtime
        self._lock = threading.Lock()
        self._stopped = threading.Event()
        self._firing: dict[str, _Firing] = {}
        self._launched_at = time.monotonic()

    def refresh(self) -> None:
        """Read the schedules table and start, restart or stop firing threads."""
        with self._lock:
            if self._stopped.is_set():
                return
            active = {
                s.schedule_name: s for s in self._runtime.store.list_schedules(statuses=["ACTIVE"])
            }
            for name, thread in list(self._firing.items()):
                wanted = active.get(name)
                if wanted is None or _definition(wanted) != _definition(thread.schedule):
                    thread.stopped.set()
                    del self._firing[name]
            for name, schedule in active.items():
                if name not in self._firing:
                    thread = _Firing(self._runtime, schedule)
                    self._firing[name] = thread
                    thread.start()

    def run(self) -> None:
        while True:
            early = time.monotonic() - self._launched_at < EARLY_PERIOD_SECONDS
            if self._stopped.wait(EARLY_POLL_SECONDS if early else POLL_SECONDS):
                return
            try:
                self.refresh()
            except Exception as exc:  # a database hiccup: try again at the next poll
                logger.warning("Could not read the schedules table: %s", exc)

    def begin(self) -> None:
        """Read the table now, then keep polling it."""
        _SCHEDULERS.add(self)
        try:
            self.refresh()
        except DBOSException as exc:
            logger.warning("Could not read the schedules table: %s", exc)
        self.start()

    def stop(self) -> None:
        """Stop polling and every firing thread."""
        _SCHEDULERS.discard(self)
        with self._lock:
            self._stopped.set()
            threads = list(self._firing.values())
            self._firing.clear()
        for thread in threads:
            thread.stopped.set()
        for thread in threads:
            thread.join(timeout=10)
        if self.is_alive():
            self.join(timeout=10)


_SCHEDULERS: set[DynamicSchedulers] = set()


def refresh_schedules() -> None:
    """Apply the schedules table now in this process (after this process changed it)."""
    for scheduler in list(_SCHEDULERS):
        scheduler.refresh()
