"""Queues kept in the database (DBOS 3's ``register_queue``) as the runner serves them,
and which queues this process serves (``DBOS.listen_queues``).

The :class:`DefinitionWatcher` thread reads the ``queues`` table once per
:data:`REFRESH_SECONDS` (one read per process, never one per claim) and hands every
queue it finds to the runner: a new queue gets a claiming thread, a changed one its new
limits, a deleted one loses its thread. A process that changes a queue itself refreshes
at once (:meth:`DefinitionWatcher.refresh`).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Collection

import attrs

from transact._core.queue_policy import QueueLimits, RateLimit
from transact._runtime.services import Services
from transact._store.records import QueueRecord
from transact.errors import DBOSException

__all__ = [
    "LISTENING",
    "QUEUES",
    "REFRESH_SECONDS",
    "DefinitionWatcher",
    "Listening",
    "QueueConfig",
    "QueueRegistry",
    "limits_of",
    "refresh_all",
    "register_at_launch",
    "write_pending",
]

logger = logging.getLogger("transact")

REFRESH_SECONDS = 1.0
"""How often each process reads the queues table (DBOS's queue manager does too)."""


def _rate(limit: int | None, period: float | None) -> RateLimit | None:
    if limit is None or period is None:
        return None
    return RateLimit(limit=limit, period_ms=max(1, round(period * 1000)))


def limits_of(record: QueueRecord) -> QueueLimits:
    """The limits of a stored queue row (validated when written)."""
    return QueueLimits(
        concurrency=record.concurrency,
        worker_concurrency=record.worker_concurrency,
        rate_limit=_rate(record.rate_limit_max, record.rate_limit_period_sec),
        partitioned=record.partition_queue,
        partition_concurrency=record.partition_concurrency,
        partition_worker_concurrency=record.partition_worker_concurrency,
        partition_rate_limit=_rate(
            record.partition_rate_limit_max, record.partition_rate_limit_period_sec
        ),
    )


@attrs.frozen
class QueueConfig:
    """A queue as the runtime runs it."""

    name: str
    limits: QueueLimits = attrs.field(factory=QueueLimits)
    polling_interval_sec: float = 1.0


class QueueRegistry:
    """Queue name -> config, process-wide: queues are declared at import time, before (or
    after) launch, and outlive ``destroy`` unless the registry is destroyed too."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._queues: dict[str, QueueConfig] = {}
        self._listeners: list[Callable[[QueueConfig], None]] = []

    def add(self, config: QueueConfig) -> None:
        """Register ``config``; ``DBOSException`` if the name is taken."""
        with self._lock:
            if config.name in self._queues:
                raise DBOSException(f"a queue named {config.name!r} already exists")
            self._queues[config.name] = config
            listeners = list(self._listeners)
        for listener in listeners:  # a runner already launched starts serving it
            listener(config)

    def get(self, name: str) -> QueueConfig | None:
        """The queue called ``name``, if declared."""
        with self._lock:
            return self._queues.get(name)

    def all(self) -> list[QueueConfig]:
        """Every declared queue."""
        with self._lock:
            return list(self._queues.values())

    def remove(self, name: str) -> None:
        """Forget the queue called ``name`` (a runner already serving it goes on)."""
        with self._lock:
            self._queues.pop(name, None)

    def clear(self) -> None:
        """Forget every queue (``DBOS.destroy(destroy_registry=True)``)."""
        with self._lock:
            self._queues.clear()

    def listen(self, listener: Callable[[QueueConfig], None]) -> None:
        """Call ``listener`` with every queue declared from now on."""
        with self._lock:
            self._listeners.append(listener)

    def unlisten(self, listener: Callable[[QueueConfig], None]) -> None:
        """Stop calling ``listener``."""
        with self._lock:
            if listener in self._listeners:
                self._listeners.remove(listener)


QUEUES = QueueRegistry()
"""The queues declared in code (``Queue(...)``), process-wide."""


class Listening:
    """The queues this process serves: every queue, or those named once before launch
    with ``DBOS.listen_queues`` (the internal queue is always served)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._names: frozenset[str] | None = None

    def restrict(self, names: Collection[str], *, launched: bool) -> None:
        """Serve only ``names`` from now on; ``DBOSException`` after launch or twice."""
        with self._lock:
            if launched:
                raise DBOSException("listen_queues called after DBOS is launched")
            if self._names is not None:
                raise DBOSException("listen_queues called more than once")
            self._names = frozenset(names)

    def serves(self, name: str) -> bool:
        """Whether this process claims from queue ``name``."""
        with self._lock:
            return self._names is None or name in self._names

    def clear(self) -> None:
        """Serve every queue again (``DBOS.destroy``)."""
        with self._lock:
            self._names = None


LISTENING = Listening()


class DefinitionWatcher(threading.Thread):
    """Reads the queues table every :data:`REFRESH_SECONDS` and applies it to the runner
    through ``apply(rows)`` (the rows of the queues this process serves)."""

    def __init__(self, runtime: Services, apply: Callable[[list[QueueRecord]], None]) -> None:
        super().__init__(name="transact-queue-definitions", daemon=True)
        self._runtime = runtime
        self._apply = apply
        self._lock = threading.Lock()
        self._stopped = threading.Event()

    def start(self) -> None:
        """Refresh every :data:`REFRESH_SECONDS` from now on (and on ``refresh_all``)."""
        with _WATCHERS_LOCK:
            _WATCHERS.add(self)
        super().start()

    def refresh(self) -> None:
        """Read the table and apply it now."""
        with self._lock:  # one refresh at a time, so an older read never wins
            if self._stopped.is_set():
                return
            rows = self._runtime.store.list_queues()
            self._apply([r for r in rows if LISTENING.serves(r.name)])

    def run(self) -> None:
        while not self._stopped.wait(REFRESH_SECONDS):
            try:
                self.refresh()
            except Exception as exc:  # the watcher must outlive a database hiccup
                logger.warning("Could not read the queues table: %s", exc)

    def stop(self) -> None:
        """Stop refreshing and join the thread."""
        with _WATCHERS_LOCK:
            _WATCHERS.discard(self)
        self._stopped.set()
        if self.is_alive():
            self.join(timeout=10)


_PENDING: list[tuple[QueueRecord, bool]] = []
_PENDING_LOCK = threading.Lock()


def register_at_launch(record: QueueRecord, *, replace: bool) -> None:
    """Write ``record`` to the queues table when the runtime launches (a queue
    registered before ``DBOS.launch()``)."""
    with _PENDING_LOCK:
        _PENDING.append((record, replace))


def write_pending(runtime: Services) -> None:
    """Write the queues registered before launch (in order), and forget them."""
    with _PENDING_LOCK:
        pending = list(_PENDING)
        _PENDING.clear()
    for record, replace in pending:
        runtime.store.put_queue(record, replace=replace)


_WATCHERS: set[DefinitionWatcher] = set()
_WATCHERS_LOCK = threading.Lock()


def refresh_all() -> None:
    """Apply the queues table now in this process (after this process changed it)."""
    with _WATCHERS_LOCK:
        watchers = list(_WATCHERS)
    for watcher in watchers:
        watcher.refresh()
