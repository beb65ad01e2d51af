"""Queues at run time: the process-wide queue registry and the queue runner.

The :class:`QueueRunner` (started by ``DBOS.launch``, stopped by ``destroy``) runs one
thread per queue, the internal queue included (resumed, forked, scheduled and recovered
workflows go through it, possibly enqueued by another process). Each thread claims what
the queue's limits allow (``Store.claim_queued``: one transaction per batch, exact
across processes; a queue whose partitions run one workflow each claims every idle
partition's first row at once, ``Store.claim_partition_heads``) and hands the claimed
rows to ``Runtime.dispatch``. Between claims it sleeps ``polling_interval_sec``
(jittered, so processes do not poll in step), but wakes at once when this process
enqueues on the queue (or, for a limited queue, finishes one of its workflows), and on
Postgres when any process enqueues on it (the ``queue:<name>`` notification, which a
process hears once it serves a queue: ``Store.serve_queue``). How long it lets a
burst gather before claiming is ``_core/claim_pacing.py``'s.

An enqueue (``enqueue_rows.py``) wakes this process's runner directly and tells the
other processes through the runtime's
:class:`~transact._runtime.announcer.QueueAnnouncer` (``announcer.py``).

Per-worker concurrency counts the queue's workflows running in this process: those it
claimed and those recovered at launch (:meth:`QueueRunner.start` adopts them).
"""

from __future__ import annotations

import logging
import random
import threading
import time
from concurrent.futures import Future
from typing import Any

from transact._core.checkpoint import Checkpoint
from transact._core.claim_pacing import MIN_CLAIM_GAP_SECONDS, next_claim_gap
from transact._core.queue_policy import budget, local_counts, sweep_budget, sweeps_heads
from transact._core.status import WorkflowStatusString as S
from transact._runtime.announcer import QueueAnnouncer, queue_key, retire, serve
from transact._runtime.clock import now_ms
from transact._runtime.latest import is_latest
from transact._runtime.queue_definitions import (
    LISTENING,
    QUEUES,
    DefinitionWatcher,
    QueueConfig,
    QueueRegistry,
    limits_of,
    write_pending,
)
from transact._runtime.services import Services
from transact._store.records import QueueRecord, WorkflowQuery, WorkflowRecord
from transact.errors import DBOSException

__all__ = [
    "QUEUES",
    "QueueConfig",
    "QueueRegistry",
    "QueueRunner",
    "queue_key",
]

logger = logging.getLogger("dbos")

# Its own generator (poll jitter, partition order): the runner's threads must not move
# the application's global ``random`` state (a seeded test, or Hypothesis drawing data,
# would see it change).
_JITTER = random.Random()

MAX_BATCH = 100
"""Most workflows one claim takes: a bigger batch would let one process take a whole
backlog that its peers could share."""
MAX_IN_FLIGHT = 256
"""Most workflows of one queue this process runs at once when the queue sets no
per-worker limit (the thread pool is the real bound; this keeps work for the peers)."""
ERROR_BACKOFF_SECONDS = 1.0


# --- the runner ----------------------------------------------------------------------


class QueueRunner:
    """One claiming thread per queue for one launched runtime."""

    def __init__(self, runtime: Services, registry: QueueRegistry = QUEUES) -> None:
        self._runtime = runtime
        self._registry = registry
        self._lock = threading.Lock()
        self._loops: dict[str, _QueueLoop] = {}
        self._stopped = threading.Event()
        self._announcer = QueueAnnouncer(runtime)
        self._adopted: dict[str, list[WorkflowRecord]] = {}
        self.definitions = DefinitionWatcher(runtime, self._apply_definitions)

    def start(self, internal: QueueConfig) -> None:
        """Serve ``internal`` and every declared queue (and those declared later) and the
        queues kept in the database that this process listens to; adopt this process's
        running workflows of each (recovered at launch)."""
        self._announcer.start()
        serve(self._runtime, self._announcer)
        self._adopted = self._running_queued()
        self._serve(internal, self._adopted)
        for config in self._registry.all():
            self._declared(config)
        self._registry.listen(self._declared)
        try:
            write_pending(self._runtime)
            self.definitions.refresh()
        except DBOSException as exc:
            logger.warning("Could not read the queues table: %s", exc)
        self.definitions.start()

    def stop(self) -> None:
        """Stop claiming (running workflows go on) and join the threads."""
        self._registry.unlisten(self._declared)
        self.definitions.stop()
        self._stopped.set()
        with self._lock:
            loops = list(self._loops.values())
        for loop in loops:
            self._runtime.waiters.notify(queue_key(loop.config.name))
        for loop in loops:
            loop.join(timeout=10)
        retire(self._runtime, self._announcer)

    def running(self, queue_name: str) -> int:
        """How many of the queue's workflows this process runs now."""
        with self._lock:
            loop = self._loops.get(queue_name)
        return 0 if loop is None else loop.running_total()

    def _declared(self, config: QueueConfig) -> None:
        if LISTENING.serves(config.name):
            self._serve(config, self._adopted)

    def _apply_definitions(self, rows: list[QueueRecord]) -> None:
        """Serve the stored queues ``rows`` with their current limits; stop serving
        stored queues no longer there. A queue declared in code keeps its own limits."""
        found = {
            r.name: QueueConfig(r.name, limits_of(r), r.polling_interval_sec)
            for r in rows
            if self._registry.get(r.name) is None
        }
        with self._lock:
            loops = dict(self._loops)
        for name, config in found.items():
            loop = loops.get(name)
            if loop is None:
                self._serve(config, self._adopted, stored=True)
            elif loop.stored and loop.config != config:
                loop.config = config  # read once per claim by the loop
                self._runtime.waiters.notify(queue_key(name))
        for name, loop in loops.items():
            if loop.stored and name not in found:
                with self._lock:
                    self._loops.pop(name, None)
                loop.retire()
                self._runtime.store.retire_queue(name)
                self._runtime.waiters.notify(queue_key(name))

    def _serve(
        self,
        config: QueueConfig,
        adopted: dict[str, list[WorkflowRecord]],
        *,
        stored: bool = False,
    ) -> None:
        with self._lock:
            if self._stopped.is_set() or config.name in self._loops:
                return
            loop = _QueueLoop(self._runtime, config, self._stopped)
            loop.stored = stored
            self._loops[config.name] = loop
        # Hear other processes' enqueues, and count as a worker of its global limit.
        self._runtime.store.serve_queue(config.name)
        for record in adopted.pop(config.name, []):
            future = self._runtime.future(record.workflow_id)
            if future is not None:
                loop.track(record, future)
        loop.start()

    def _running_queued(self) -> dict[str, list[WorkflowRecord]]:
        """This executor's PENDING queued rows that run here (recovered at launch)."""
        rt = self._runtime
        try:
            rows = rt.store.list_workflows(
                WorkflowQuery(
                    statuses=(S.PENDING.value,),
                    executor_ids=(rt.executor_id,),
                    queues_only=True,
                    load_input=False,
                    load_output=False,
                )
            )
        except DBOSException as exc:
            logger.warning("Could not list this executor's queued workflows: %s", exc)
            return {}
        found: dict[str, list[WorkflowRecord]] = {}
        for row in rows:
            if row.queue_name is not None and rt.future(row.workflow_id) is not None:
                found.setdefault(row.queue_name, []).append(row)
        return found


class _QueueLoop(threading.Thread):
    """The claiming thread of one queue."""

    def __init__(self, runtime: Services, config: QueueConfig, stopped: threading.Event) -> None:
        super().__init__(name=f"transact-queue-{config.name}", daemon=True)
        self.config = config
        self._runtime = runtime
        self._stopped = stopped
        self.stored = False  # a queue kept in the database: its config may change
        self.retired = threading.Event()  # its row was deleted (set by ``retire``)
        self._lock = threading.Lock()
        # Held across each claim statement, and by ``retire``: no claim runs after it.
        self._claiming = threading.Lock()
        # Partition key (None: the whole queue) -> ids of workflows running here.
        self._running: dict[str | None, set[str]] = {}
        self._throttled = False

    def retire(self) -> None:
        """Stop claiming, once a claim under way has finished: a workflow enqueued after
        this returns is never claimed here (DBOS's deleted queue)."""
        with self._claiming:
            self.retired.set()

    def running_total(self) -> int:
        with self._lock:
            return sum(len(ids) for ids in self._running.values())

    def track(self, record: WorkflowRecord, future: Future[Any]) -> None:
        """Count ``record`` as running here until ``future`` is done."""
        key = record.queue_partition_key if self.config.limits.by_partition else None
        with self._lock:
            self._running.setdefault(key, set()).add(record.workflow_id)
        future.add_done_callback(lambda _: self._done(key, record.workflow_id))

    def _done(self, key: str | None, workflow_id: str) -> None:
        with self._lock:
            ids = self._running.get(key)
            if ids is not None:
                ids.discard(workflow_id)
            left = sum(len(i) for i in self._running.values())
            throttled = self._throttled
        # Completions wake the loop only where a slot matters: a limited queue, or an
        # unlimited one whose last claim was cut short by MAX_IN_FLIGHT, once it has
        # drained to half of it. (Waking on every completion would cost a claim each.)
        limits = self.config.limits
        limited = limits.worker_limited or limits.shared
        if limited or (throttled and left <= MAX_IN_FLIGHT // 2):
            self._runtime.waiters.notify(queue_key(self.config.name))

    def run(self) -> None:
        waiters = self._runtime.waiters
        least_gap = MIN_CLAIM_GAP_SECONDS
        with waiters.registered(queue_key(self.config.name)) as wake:
            while not (self._stopped.is_set() or self.retired.is_set()):
                wake.clear()
                try:
                    claimed, more = self._poll()
                except Exception as exc:  # the queue must outlive any one failure
                    if self._stopped.is_set():
                        return
                    if isinstance(exc, DBOSException):
                        logger.warning("Queue %s: claiming failed: %s", self.config.name, exc)
                    else:
                        logger.exception("Queue %s: claiming failed", self.config.name)
                    claimed, more = 0, False
                    wake.wait(ERROR_BACKOFF_SECONDS)
                if more:
                    continue
                claimed_at = time.monotonic()
                least_gap = next_claim_gap(least_gap, claimed, gathers=self._gathers())
                # Real time, not the runtime's clock: a fake clock would race ahead.
                interval = self.config.polling_interval_sec  # may change (stored queues)
                if wake.wait(interval * _JITTER.uniform(0.95, 1.05)):
                    # Woken (an enqueue, a completion): let a burst of them gather into
                    # one claim rather than one transaction per wake-up.
                    gap = least_gap - (time.monotonic() - claimed_at)
                    if gap > 0:
                        self._stopped.wait(gap)

    def _gathers(self) -> bool:
        """Whether claims may wait to gather rows (``claim_pacing``): not when a limit
        decides how many start (a completion then frees a slot to fill at once)."""
        limits = self.config.limits
        return not (limits.worker_limited or limits.shared or limits.by_partition)

    def _poll(self) -> tuple[int, bool]:
        """Claim and start what the limits allow; return how many were claimed, and
        whether a full batch was (so more may be waiting)."""
        rt = self._runtime
        limits = self.config.limits
        if sweeps_heads(limits):
            return self._sweep()
        keys: list[str | None]
        if limits.by_partition:
            keys = list(rt.store.queued_partitions(self.config.name, now_ms(rt.clock)))
            _JITTER.shuffle(keys)  # no partition always first in line
        else:
            keys = [None]
        more = False
        total = 0
        for key in keys:
            if self._stopped.is_set():
                return total, False
            cap = MAX_BATCH
            with self._lock:
                local = len(self._running.get(key, ()))
                in_flight = sum(len(i) for i in self._running.values())
                if limits.worker_concurrency is None:
                    room = MAX_IN_FLIGHT - in_flight
                    # Under the lock: a completion after this reads the flag it needs.
                    self._throttled = room < cap
                    cap = min(cap, room)
            if budget(limits, local_counts(in_flight, local), cap) == 0:
                continue
            with self._claiming:
                if self.retired.is_set():
                    return total, False
                claimed = rt.store.claim_queued(
                    self.config.name,
                    executor_id=rt.executor_id,
                    application_version=rt.application_version,
                    limits=limits,
                    local_running=in_flight,
                    partition_key=key,
                    max_claims=cap,
                    now_ms=now_ms(rt.clock),
                    partition_local_running=local,
                    take_unversioned=is_latest(rt),
                )
            self._start_all(claimed)
            more = more or len(claimed) == cap
            total += len(claimed)
        return total, more

    def _sweep(self) -> tuple[int, bool]:
        """Claim the first row of every idle partition at once (``sweeps_heads``)."""
        rt = self._runtime
        with self._lock:
            in_flight = sum(len(i) for i in self._running.values())
        allowed = sweep_budget(
            self.config.limits, in_flight, min(MAX_BATCH, MAX_IN_FLIGHT - in_flight)
        )
        if allowed == 0:
            return 0, False
        with self._claiming:
            if self.retired.is_set():
                return 0, False
            claimed = rt.store.claim_partition_heads(
                self.config.name,
                executor_id=rt.executor_id,
                application_version=rt.application_version,
                max_claims=allowed,
                now_ms=now_ms(rt.clock),
                take_unversioned=is_latest(rt),
            )
        self._start_all(claimed)
        return len(claimed), len(claimed) == allowed

    def _start_all(self, claimed: list[WorkflowRecord]) -> None:
        if claimed:
            # One read for the batch's logs, not one per workflow.
            logs = self._runtime.store.load_checkpoints_many([r.workflow_id for r in claimed])
            for record in claimed:
                self._start(record, logs.get(record.workflow_id, []))

    def _start(self, record: WorkflowRecord, log: list[Checkpoint]) -> None:
        try:
            future = self._runtime.dispatch(record, log)
        except DBOSException as exc:
            # Unknown function or too many recovery attempts: the row says so (or stays
            # PENDING for this executor's next launch); the queue goes on.
            logger.error("Queue %s: cannot run %s: %s", self.config.name, record.workflow_id, exc)
            return
        if future is not None:
            self.track(record, future)
