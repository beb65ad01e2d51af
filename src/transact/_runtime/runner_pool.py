"""Running background workflows: few threads while they keep moving, more when they stall.

A burst of background workflows (recovery at launch, a queue's claimed batch, many
``start_workflow`` calls) used to get a pool thread each at once: up to hundreds of
threads taking turns on the GIL, most of them only waiting for it. On 2 cores, 1,000
recovered workflows (two commits each) finished at ~1,800/s on 512 threads and
~2,600/s on 8 (``benchmarks/PROFILE.md``).

So the :class:`Dispatcher` keeps a backlog and a few *runners*: pool threads that take
jobs from the backlog one after another. A new job gets a new runner at once while
there are fewer than ``runners``; otherwise it waits in the backlog for the next free
runner. A runner may be held up for long, though: a slow step, or code that blocks by
other means than a durable wait (which parks, below), keeps its thread. A watcher
thread therefore looks at the backlog every ``stall_seconds`` (5 ms; 20 ms cost a
third of ``start_workflow`` throughput on SQLite, where more runners overlap their
commits) and, if no runner took a job from it since its last look, doubles the runners
allowed (up to the pool's size). A job thus waits at most a few ticks, and a workflow
waiting for another one that is still in the backlog is never left waiting for good.
Once the backlog is empty the allowance falls back to ``runners``, and runners beyond
it end when they finish their job.

Each runner is a :class:`~transact._runtime.parking.Hub`: it runs every job in a
greenlet, and a job that waits durably parks there and hands the thread back. A runner
holding parked jobs stays alive (they can only resume on its thread), resumes them
first when they are woken, and meanwhile takes jobs from the backlog like any idle
runner. The pool's size thus bounds only the workflows running code, not those waiting.
"""

from __future__ import annotations

import collections
import logging
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

from transact._runtime.parking import Hub, Job

__all__ = ["Dispatcher"]

logger = logging.getLogger("dbos")


class Dispatcher:
    """Runs jobs on ``pool`` with ``runners`` threads, more while the backlog stalls."""

    def __init__(
        self,
        pool: ThreadPoolExecutor,
        *,
        runners: int,
        max_runners: int,
        stall_seconds: float = 0.005,
    ) -> None:
        self._pool = pool
        self._base = runners
        self._max = max(max_runners, runners)
        self._stall_seconds = stall_seconds
        self._lock = threading.Lock()
        self._backlog: collections.deque[Callable[[], None]] = collections.deque()
        self._runners = 0  # runners alive
        self._allowed = runners  # runners allowed now
        self._taken = 0  # jobs taken from the backlog so far: how the watcher sees progress
        self._watching = False
        self._closed = threading.Event()
        self._idle: list[Hub] = []  # runners holding parked jobs, waiting for work

    def submit(self, job: Callable[[], None]) -> None:
        """Run ``job`` (which must not raise) as soon as a runner is free.

        Raises ``RuntimeError`` once closed, as a shut-down thread pool does: a job
        dropped silently would leave whoever awaits it waiting for ever.
        """
        with self._lock:
            if self._closed.is_set():
                raise RuntimeError("cannot start a workflow here: the executor is shutting down")
            self._backlog.append(job)
            if self._idle:
                self._idle.pop().wake_up.notify()
                return
            spawn = self._runners < self._allowed
            if spawn:
                self._runners += 1
            watch = not spawn and not self._watching
            if watch:
                self._watching = True
        if spawn:
            self._pool.submit(self._run)
        if watch:
            threading.Thread(target=self._watch, name="transact-dispatch", daemon=True).start()

    def close(self) -> None:
        """Drop the jobs not started yet and start no more (at shutdown)."""
        self._closed.set()
        with self._lock:
            self._backlog.clear()

    def _run(self) -> None:
        hub = Hub(self._lock)
        while True:
            with self._lock:
                job = self._next(hub)
                if job is None:
                    self._runners -= 1
                    return
            job.switch()  # back here when the job finishes or parks
            if not job.dead:
                with self._lock:
                    hub.parked += 1
                    self._taken += 1  # progress too: the runner is free for the backlog

    def _next(self, hub: Hub) -> Job | None:
        """The hub's next job (a woken one first), waiting while it holds parked jobs;
        None once it holds none and has nothing to do. Called under the lock."""
        while True:
            if hub.ready:
                hub.parked -= 1
                return hub.ready.popleft()
            if self._backlog and (hub.parked or self._runners <= self._allowed):
                self._taken += 1
                return Job(self._guarded(self._backlog.popleft()), hub)
            if not hub.parked:
                return None
            self._idle.append(hub)
            hub.wake_up.wait()
            if hub in self._idle:  # woken by a resume, not by ``submit``
                self._idle.remove(hub)

    @staticmethod
    def _guarded(job: Callable[[], None]) -> Callable[[], None]:
        def run() -> None:
            try:
                job()
            except BaseException:  # a job's failure must not take its runner's backlog down
                logger.exception("A background workflow failed outside its own error handling")

        return run

    def _watch(self) -> None:
        seen = -1
        while not self._closed.wait(self._stall_seconds):
            with self._lock:
                if not self._backlog:
                    self._allowed = self._base
                    self._watching = False
                    return
                spawn = 0
                if self._taken == seen:  # no runner came back for a job: they are held up
                    self._allowed = min(self._max, self._allowed * 2)
                    spawn = max(0, min(self._allowed - self._runners, len(self._backlog)))
                    self._runners += spawn
                seen = self._taken
            for _ in range(spawn):
                self._pool.submit(self._run)
        with self._lock:
            self._watching = False
