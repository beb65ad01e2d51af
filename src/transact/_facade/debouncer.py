"""``Debouncer``: run a workflow once per burst of calls, with the last arguments.

``Debouncer.create(workflow, debounce_timeout_sec=..., queue=...)`` makes one;
``debounce(key, period, *args)`` starts the workflow ``period`` seconds after the last
call with that key (but no later than ``debounce_timeout_sec`` after the first), on the
queue (the internal queue by default). The store work is ``_runtime/debouncing.py``.
"""

from __future__ import annotations

import asyncio
import math
import uuid
from collections.abc import Callable
from typing import Generic, TypeVar

from typing_extensions import ParamSpec

from transact._core.queue_policy import QueueEntry
from transact._facade.context import ambient_enqueue_options, take_start_options
from transact._facade.decorators import as_step
from transact._facade.handles import WorkflowHandle, WorkflowHandleAsync
from transact._facade.launched import runtime
from transact._facade.queue_object import Queue
from transact._runtime.announcer import announce
from transact._runtime.clock import now_ms
from transact._runtime.debouncing import debounce_key, debounce_row
from transact._runtime.enqueue_rows import enqueued_record
from transact._runtime.recovery import INTERNAL_QUEUE
from transact._runtime.registry import WorkflowSpec, spec_of
from transact.errors import DBOSException

__all__ = ["Debouncer"]

P = ParamSpec("P")
R = TypeVar("R")


def _check_ambient() -> None:
    options = ambient_enqueue_options()
    for set_, message in (
        (
            options.deduplication_id is not None,
            "Cannot debounce a workflow with a deduplication_id set: the debounce key is "
            "used as the workflow's deduplication ID.",
        ),
        (
            options.delay_seconds is not None,
            "Cannot debounce a workflow with a delay set: the debounce period controls the "
            "workflow's delay.",
        ),
        (
            options.priority is not None,
            "Cannot debounce a workflow with a priority set: priority is not supported for "
            "debounced workflows.",
        ),
        (
            options.queue_partition_key is not None,
            "Cannot debounce a workflow with a queue partition key set: partitioned queues "
            "do not support deduplication, which debouncing requires.",
        ),
        (
            options.duplication_policy == "return-existing",
            "Cannot debounce a workflow with duplication_policy 'return-existing': a "
            "debounce owns the workflow's deduplication behavior.",
        ),
    ):
        if set_:
            raise DBOSException(message)


class Debouncer(Generic[P, R]):
    """Debounces one workflow: see :meth:`create` and :meth:`debounce`."""

    def __init__(
        self, spec: WorkflowSpec, *, debounce_timeout_sec: float | None, queue_name: str
    ) -> None:
        self._spec = spec
        self.debounce_timeout_sec = debounce_timeout_sec
        self.queue_name = queue_name

    @staticmethod
    def create(
        workflow: Callable[P, R],
        *,
        debounce_timeout_sec: float | None = None,
        queue: Queue | str | None = None,
    ) -> Debouncer[P, R]:
        """A debouncer of ``workflow`` (a registered workflow function, not a method):
        each run waits at most ``debounce_timeout_sec`` after the first call of its
        burst, on ``queue`` (the internal queue if None).

        Raises ``TypeError`` for a method, ``DBOSException`` for a function that is
        not a workflow.
        """
        if getattr(workflow, "__self__", None) is not None:
            raise TypeError("Only workflow functions may be debounced, not methods")
        spec = spec_of(workflow)
        if spec is None:
            name = getattr(workflow, "__name__", repr(workflow))
            raise DBOSException(
                f"Could not execute workflow <NONE>: {name} is not a registered workflow function"
            )
        if debounce_timeout_sec is not None and not (
            debounce_timeout_sec >= 0 and math.isfinite(debounce_timeout_sec)
        ):
            raise ValueError(f"debounce_timeout_sec must be >= 0, got {debounce_timeout_sec!r}")
        name = INTERNAL_QUEUE if queue is None else queue if isinstance(queue, str) else queue.name
        return Debouncer(spec, debounce_timeout_sec=debounce_timeout_sec, queue_name=name)

    @staticmethod
    async def create_async(
        workflow: Callable[P, R],
        *,
        debounce_timeout_sec: float | None = None,
        queue: Queue | str | None = None,
    ) -> Debouncer[P, R]:
        """``create`` for code on an event loop (nothing to wait for)."""
        return Debouncer.create(workflow, debounce_timeout_sec=debounce_timeout_sec, queue=queue)

    def debounce(
        self, debounce_key_: str, debounce_period_sec: float, *args: P.args, **kwargs: P.kwargs
    ) -> WorkflowHandle[R]:
        """Run the workflow with these arguments ``debounce_period_sec`` from now, unless
        another call with the same key comes first: that call's arguments and period
        replace these (up to the debouncer's timeout after the burst's first call).
        Returns a handle on the workflow that will run.

        Raises ``DBOSException`` if ``SetEnqueueOptions`` sets a deduplication id, delay,
        priority, partition key or ``return-existing``.
        """
        _check_ambient()
        if not (debounce_period_sec >= 0 and math.isfinite(debounce_period_sec)):
            raise ValueError(f"debounce_period_sec must be >= 0, got {debounce_period_sec!r}")
        rt = runtime()
        options = take_start_options(queued=True)
        workflow_id = options.workflow_id or str(uuid.uuid4())
        record = rt.new_record(self._spec, workflow_id, args, kwargs, options=options)
        entry = QueueEntry(
            self.queue_name, deduplication_id=debounce_key(self._spec.name, debounce_key_)
        )
        record = enqueued_record(record, entry, timed=options.timeout_seconds is not None)
        timeout = self.debounce_timeout_sec

        def bounce_or_insert() -> str:
            held, created = debounce_row(
                rt.store,
                record,
                period_ms=round(debounce_period_sec * 1000),
                timeout_ms=None if timeout is None else round(timeout * 1000),
                now_ms=now_ms(rt.clock),
            )
            if created:
                announce(rt, self.queue_name)
            return held

        # In workflow code a replay gets the recorded id back rather than debouncing again.
        return WorkflowHandle(as_step("DBOS.debounce_delayed_workflow", bounce_or_insert))

    async def debounce_async(
        self, debounce_key_: str, debounce_period_sec: float, *args: P.args, **kwargs: P.kwargs
    ) -> WorkflowHandleAsync[R]:
        """``debounce`` without blocking the event loop."""
        handle = await asyncio.to_thread(
            lambda: self.debounce(debounce_key_, debounce_period_sec, *args, **kwargs)
        )
        return WorkflowHandleAsync(handle)
