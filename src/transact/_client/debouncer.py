"""``DebouncerClient``: DBOS's debouncer through a ``DBOSClient``. A burst of calls with
one key runs the named workflow once, with the last call's arguments, ``period`` seconds
after the last call (bounded by ``debounce_timeout_sec`` after the first); the
application's executors run it. The store work is ``_runtime/debouncing.py``, shared
with ``Debouncer``."""

from __future__ import annotations

import asyncio
import math
from typing import Any

import attrs

from transact._client.client import DBOSClient
from transact._client.handles import WorkflowHandleClientAsyncPolling, WorkflowHandleClientPolling
from transact._client.operations import enqueued_row
from transact._facade.api_enqueue import EnqueueOptions
from transact._facade.queue_object import Queue
from transact._runtime.announcer import queue_key
from transact._runtime.clock import now_ms
from transact._runtime.debouncing import debounce_key, debounce_row
from transact._runtime.recovery import INTERNAL_QUEUE
from transact.errors import DBOSException

# The options a debounce owns, and DBOS's message for each one set by the caller.
_OWNED = (
    (
        "deduplication_id",
        "Cannot debounce a workflow with a deduplication_id set: the debounce key is used "
        "as the workflow's deduplication ID.",
    ),
    (
        "delay_seconds",
        "Cannot debounce a workflow with a delay set: the debounce period controls the "
        "workflow's delay.",
    ),
    (
        "priority",
        "Cannot debounce a workflow with a priority set: priority is not supported for "
        "debounced workflows.",
    ),
    (
        "queue_partition_key",
        "Cannot debounce a workflow with a queue partition key set: partitioned queues do "
        "not support deduplication, which debouncing requires.",
    ),
)


class DebouncerClient:
    """Debounce the workflow ``workflow_options["workflow_name"]`` from any process."""

    def __init__(
        self,
        client: DBOSClient,
        workflow_options: EnqueueOptions,
        *,
        debounce_timeout_sec: float | None = None,
        queue: Queue | str | None = None,
        application_name: str | None = None,
    ) -> None:
        for key, message in _OWNED:
            if workflow_options.get(key) is not None:
                raise DBOSException(message)
        if workflow_options.get("duplication_policy") == "return-existing":
            raise DBOSException(
                "Cannot debounce a workflow with duplication_policy 'return-existing': a "
                "debounce owns the workflow's deduplication behavior."
            )
        if debounce_timeout_sec is not None and not (
            debounce_timeout_sec >= 0 and math.isfinite(debounce_timeout_sec)
        ):
            raise ValueError(f"debounce_timeout_sec must be >= 0, got {debounce_timeout_sec!r}")
        name = queue.name if isinstance(queue, Queue) else queue
        self._client = client
        self._options: EnqueueOptions = {
            **workflow_options,
            "queue_name": name or workflow_options.get("queue_name") or INTERNAL_QUEUE,
        }
        self.debounce_timeout_sec = debounce_timeout_sec
        self.application_name = application_name or client.application_name

    def debounce(
        self, debounce_key_: str, debounce_period_sec: float, *args: Any, **kwargs: Any
    ) -> WorkflowHandleClientPolling[Any]:
        """Run the workflow with these arguments ``debounce_period_sec`` from now, unless
        another call with the same key comes first. Returns a handle on the workflow
        that will run."""
        if not (debounce_period_sec >= 0 and math.isfinite(debounce_period_sec)):
            raise ValueError(f"debounce_period_sec must be >= 0, got {debounce_period_sec!r}")
        connection = self._client._connection
        record, entry, _ = enqueued_row(
            connection, self._options, args, kwargs, application_name=self.application_name
        )
        record = attrs.evolve(record, deduplication_id=debounce_key(record.name, debounce_key_))
        timeout = self.debounce_timeout_sec
        held, created = debounce_row(
            connection.store,
            record,
            period_ms=round(debounce_period_sec * 1000),
            timeout_ms=None if timeout is None else round(timeout * 1000),
            now_ms=now_ms(connection.env.clock),
        )
        if created:
            connection.store.publish([queue_key(entry.queue_name)])
        return WorkflowHandleClientPolling(held, connection)

    async def debounce_async(
        self, debounce_key_: str, debounce_period_sec: float, *args: Any, **kwargs: Any
    ) -> WorkflowHandleClientAsyncPolling[Any]:
        """``debounce`` without blocking the event loop."""
        handle = await asyncio.to_thread(
            lambda: self.debounce(debounce_key_, debounce_period_sec, *args, **kwargs)
        )
        return WorkflowHandleClientAsyncPolling(handle.workflow_id, self._client._connection)
