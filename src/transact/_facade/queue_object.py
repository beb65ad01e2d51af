"""``Queue``: a queue declared in code (DBOS 2's ``Queue(name, ...)``) or kept in the
database (DBOS 3's ``DBOS.register_queue``), with DBOS 3's getters and setters.

A queue declared in code keeps the limits it was declared with (its setters raise). A
stored queue reads its row on every getter and writes it on every setter; each process
serving it applies a change within a second, without a restart. Assigning a setting as
an attribute (``queue.concurrency = 5``) raises rather than silently doing nothing.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine, Mapping
from typing import Any, Generic, TypeVar, overload

from typing_extensions import ParamSpec

from transact._facade.enqueueing import enqueue_on
from transact._facade.handles import WorkflowHandle, WorkflowHandleAsync
from transact._facade.loop_guard import warn_if_on_loop
from transact._facade.queue_settings import (
    SETTINGS,
    changed_record,
    limiter_of,
    make_record,
    stored_row,
)
from transact._runtime.queue_definitions import QUEUES, QueueConfig, limits_of
from transact._runtime.recovery import INTERNAL_QUEUE
from transact._store.protocol import Store
from transact._store.records import QueueRecord
from transact.errors import DBOSException

__all__ = ["Queue"]

P = ParamSpec("P")
R = TypeVar("R")
T = TypeVar("T")


class _Setting(Generic[T]):
    """A queue setting read as an attribute: the declaration's, or the stored row's."""

    def __init__(self, read: Callable[[QueueRecord], T]) -> None:
        self._read = read
        self._name = ""

    def __set_name__(self, owner: type[Queue], name: str) -> None:
        self._name = name

    @overload
    def __get__(self, queue: None, owner: type[Queue]) -> _Setting[T]: ...

    @overload
    def __get__(self, queue: Queue, owner: type[Queue]) -> T: ...

    def __get__(self, queue: Queue | None, owner: type[Queue]) -> _Setting[T] | T:
        if queue is None:
            return self
        if queue.is_stored:  # a read of the queues table
            warn_if_on_loop(f"Queue.{self._name}", f"Queue.get_{self._name}_async")
        return self._read(queue._settings())


class _GetAsync(Generic[T]):
    """``get_<setting>_async``: the setting, read without blocking the event loop."""

    def __init__(self, setting: str) -> None:
        self._setting = setting

    @overload
    def __get__(self, queue: None, owner: type[Queue]) -> _GetAsync[T]: ...

    @overload
    def __get__(self, queue: Queue, owner: type[Queue]) -> Callable[[], Coroutine[Any, Any, T]]: ...

    def __get__(
        self, queue: Queue | None, owner: type[Queue]
    ) -> _GetAsync[T] | Callable[[], Coroutine[Any, Any, T]]:
        if queue is None:
            return self

        async def get() -> T:
            value: T = await asyncio.to_thread(getattr, queue, self._setting)
            return value

        return get


class _Set(Generic[T]):
    """``set_<setting>``: store a new value (validated against the other limits:
    ``ValueError``); every process serving the queue applies it within a second.
    ``DBOSException`` on a queue declared in code."""

    def __init__(self, setting: str) -> None:
        self._setting = setting

    @overload
    def __get__(self, queue: None, owner: type[Queue]) -> _Set[T]: ...

    @overload
    def __get__(self, queue: Queue, owner: type[Queue]) -> Callable[[T], None]: ...

    def __get__(self, queue: Queue | None, owner: type[Queue]) -> _Set[T] | Callable[[T], None]:
        if queue is None:
            return self

        def set_(value: T) -> None:
            warn_if_on_loop(f"Queue.set_{self._setting}", f"Queue.set_{self._setting}_async")
            queue._change(self._setting, value)

        return set_


class _SetAsync(Generic[T]):
    """``set_<setting>_async``: ``set_<setting>`` without blocking the event loop."""

    def __init__(self, setting: str) -> None:
        self._setting = setting

    @overload
    def __get__(self, queue: None, owner: type[Queue]) -> _SetAsync[T]: ...

    @overload
    def __get__(
        self, queue: Queue, owner: type[Queue]
    ) -> Callable[[T], Coroutine[Any, Any, None]]: ...

    def __get__(
        self, queue: Queue | None, owner: type[Queue]
    ) -> _SetAsync[T] | Callable[[T], Coroutine[Any, Any, None]]:
        if queue is None:
            return self

        async def set_(value: T) -> None:
            await asyncio.to_thread(queue._change, self._setting, value)

        return set_


_Limiter = Mapping[str, float] | None
"""A limiter as a setter takes it."""


class Queue:
    """A queue of workflows, with limits that hold across every process sharing the
    system database.

    ``Queue(name, ...)`` declares one in code, once per process, at import time (every
    process that serves it declares it alike); ``DBOS.register_queue`` keeps one in the
    database instead, where its limits can change at run time.

    Args:
        name: the queue's name (``DBOSException`` if another queue has it).
        concurrency: deprecated name of ``global_concurrency``.
        limiter: ``{"limit": n, "period": seconds}``: at most ``n`` workflows start in
            any ``period`` seconds, in all processes together.
        worker_concurrency: at most this many run at once in one process.
        global_concurrency: at most this many run at once, in all processes together.
        partition_concurrency, partition_worker_concurrency, partition_limiter: the same
            limits per partition key (``SetEnqueueOptions(queue_partition_key=...)``, then
            required), on top of the queue-wide ones.
        priority_enabled: accepted for DBOS compatibility; priorities always apply.
        partition_queue: DBOS's legacy partitioning: every queue-wide limit applies per
            partition key instead.
        polling_interval_sec: how often a process looks for work it was not told about.

    Raises ``ValueError`` for invalid limits, with DBOS's messages.
    """

    name: str

    def __init__(
        self,
        name: str,
        concurrency: int | None = None,
        limiter: Mapping[str, float] | None = None,
        *,
        worker_concurrency: int | None = None,
        global_concurrency: int | None = None,
        partition_concurrency: int | None = None,
        partition_worker_concurrency: int | None = None,
        partition_limiter: Mapping[str, float] | None = None,
        priority_enabled: bool = False,
        partition_queue: bool = False,
        polling_interval_sec: float = 1.0,
    ) -> None:
        if not isinstance(name, str) or not name.strip():
            raise ValueError(f"a queue name must be a non-empty string, got {name!r}")
        if name == INTERNAL_QUEUE:
            raise DBOSException(f"{INTERNAL_QUEUE!r} is reserved for the library")
        record = make_record(
            name,
            concurrency=concurrency,
            global_concurrency=global_concurrency,
            worker_concurrency=worker_concurrency,
            limiter=limiter,
            partition_concurrency=partition_concurrency,
            partition_worker_concurrency=partition_worker_concurrency,
            partition_limiter=partition_limiter,
            priority_enabled=priority_enabled,
            partition_queue=partition_queue,
            polling_interval_sec=polling_interval_sec,
        )
        QUEUES.add(QueueConfig(name, limits_of(record), record.polling_interval_sec))
        object.__setattr__(self, "name", name)
        object.__setattr__(self, "_declared", record)

    @classmethod
    def stored(cls, name: str, store: Store | None = None) -> Queue:
        """A handle on the queue ``name`` kept in the database (not read here); with
        ``store``, bound to a ``DBOSClient``'s database (it configures, never enqueues)."""
        queue = object.__new__(cls)
        object.__setattr__(queue, "name", name)
        object.__setattr__(queue, "_declared", None)
        object.__setattr__(queue, "_client_store", store)
        return queue

    def _settings(self) -> QueueRecord:
        declared: QueueRecord | None = self.__dict__["_declared"]
        if declared is not None:
            return declared
        return stored_row(self.name, self.__dict__.get("_client_store"))

    @property
    def is_stored(self) -> bool:
        """Whether the queue is kept in the database (``DBOS.register_queue``)."""
        return self.__dict__["_declared"] is None

    def _change(self, setting: str, value: object) -> None:
        if not self.is_stored:
            raise DBOSException(
                f"Cannot configure queue {self.name}: dynamic configuration is only "
                "supported for queues registered via DBOS.register_queue."
            )
        changed_record(self.name, setting, value, self.__dict__.get("_client_store"))

    def __setattr__(self, attribute: str, value: object) -> None:
        if attribute in SETTINGS or attribute == "name":
            raise AttributeError(
                f"Queue.{attribute} cannot be assigned: call set_{attribute}(...) on a "
                "queue registered with DBOS.register_queue to change it"
            )
        object.__setattr__(self, attribute, value)

    def __repr__(self) -> str:
        return f"Queue({self.name!r})"

    # --- settings: getters, async getters, setters, async setters -------------------

    concurrency = _Setting[int | None](lambda r: r.concurrency)
    global_concurrency = _Setting[int | None](lambda r: r.concurrency)
    worker_concurrency = _Setting[int | None](lambda r: r.worker_concurrency)
    limiter = _Setting[dict[str, float] | None](
        lambda r: limiter_of(r.rate_limit_max, r.rate_limit_period_sec)
    )
    partition_concurrency = _Setting[int | None](lambda r: r.partition_concurrency)
    partition_worker_concurrency = _Setting[int | None](lambda r: r.partition_worker_concurrency)
    partition_limiter = _Setting[dict[str, float] | None](
        lambda r: limiter_of(r.partition_rate_limit_max, r.partition_rate_limit_period_sec)
    )
    priority_enabled = _Setting[bool](lambda r: r.priority_enabled)
    partition_queue = _Setting[bool](lambda r: r.partition_queue)
    polling_interval_sec = _Setting[float](lambda r: r.polling_interval_sec)

    get_concurrency_async = _GetAsync[int | None]("concurrency")
    get_global_concurrency_async = _GetAsync[int | None]("global_concurrency")
    get_worker_concurrency_async = _GetAsync[int | None]("worker_concurrency")
    get_limiter_async = _GetAsync[dict[str, float] | None]("limiter")
    get_partition_concurrency_async = _GetAsync[int | None]("partition_concurrency")
    get_partition_worker_concurrency_async = _GetAsync[int | None]("partition_worker_concurrency")
    get_partition_limiter_async = _GetAsync[dict[str, float] | None]("partition_limiter")
    get_priority_enabled_async = _GetAsync[bool]("priority_enabled")
    get_partition_queue_async = _GetAsync[bool]("partition_queue")
    get_polling_interval_sec_async = _GetAsync[float]("polling_interval_sec")

    set_concurrency = _Set[int | None]("concurrency")
    set_global_concurrency = _Set[int | None]("global_concurrency")
    set_worker_concurrency = _Set[int | None]("worker_concurrency")
    set_limiter = _Set[_Limiter]("limiter")
    set_partition_concurrency = _Set[int | None]("partition_concurrency")
    set_partition_worker_concurrency = _Set[int | None]("partition_worker_concurrency")
    set_partition_limiter = _Set[_Limiter]("partition_limiter")
    set_priority_enabled = _Set[bool]("priority_enabled")
    set_partition_queue = _Set[bool]("partition_queue")
    set_polling_interval_sec = _Set[float]("polling_interval_sec")

    set_concurrency_async = _SetAsync[int | None]("concurrency")
    set_global_concurrency_async = _SetAsync[int | None]("global_concurrency")
    set_worker_concurrency_async = _SetAsync[int | None]("worker_concurrency")
    set_limiter_async = _SetAsync[_Limiter]("limiter")
    set_partition_concurrency_async = _SetAsync[int | None]("partition_concurrency")
    set_partition_worker_concurrency_async = _SetAsync[int | None]("partition_worker_concurrency")
    set_partition_limiter_async = _SetAsync[_Limiter]("partition_limiter")
    set_priority_enabled_async = _SetAsync[bool]("priority_enabled")
    set_partition_queue_async = _SetAsync[bool]("partition_queue")
    set_polling_interval_sec_async = _SetAsync[float]("polling_interval_sec")

    # --- enqueueing -------------------------------------------------------------------

    @overload
    def enqueue(
        self, func: Callable[P, Coroutine[Any, Any, R]], *args: P.args, **kwargs: P.kwargs
    ) -> WorkflowHandle[R]: ...

    @overload
    def enqueue(
        self, func: Callable[P, R], *args: P.args, **kwargs: P.kwargs
    ) -> WorkflowHandle[R]: ...

    def enqueue(
        self, func: Callable[P, Any], *args: P.args, **kwargs: P.kwargs
    ) -> WorkflowHandle[Any]:
        """Put workflow ``func(*args, **kwargs)`` on this queue; return a handle to it.

        It never runs in this thread: a queue runner (of this or any other process)
        starts it when the queue's limits allow. ``SetWorkflowID``,
        ``SetWorkflowTimeout`` (counted from when it starts) and ``SetEnqueueOptions``
        apply. Inside a workflow the enqueue is checkpointed like a child start (the
        child's id is derived from the parent's, and a replay attaches to it).

        Raises ``DBOSException`` if ``func`` is not a workflow or this is called inside a
        step, ``ValueError`` if the options do not fit a queue declared in code (a
        partitioned queue needs a partition key, others refuse one),
        ``DBOSQueueDeduplicatedError`` if the deduplication id is held.
        """
        if self.__dict__.get("_client_store") is not None:
            raise DBOSException(
                f"Cannot enqueue on queue {self.name} from a client-bound Queue object. "
                "Use DBOSClient.enqueue instead."
            )
        declared: QueueRecord | None = self.__dict__["_declared"]
        partitioned = None if declared is None else limits_of(declared).by_partition
        return enqueue_on(self.name, func, args, kwargs, partitioned=partitioned)

    @overload
    async def enqueue_async(
        self, func: Callable[P, Coroutine[Any, Any, R]], *args: P.args, **kwargs: P.kwargs
    ) -> WorkflowHandleAsync[R]: ...

    @overload
    async def enqueue_async(
        self, func: Callable[P, R], *args: P.args, **kwargs: P.kwargs
    ) -> WorkflowHandleAsync[R]: ...

    async def enqueue_async(
        self, func: Callable[P, Any], *args: P.args, **kwargs: P.kwargs
    ) -> WorkflowHandleAsync[Any]:
        """``enqueue`` for code on an event loop: the row is written in a worker thread
        that carries the caller's context (inside a workflow it is recorded exactly as
        ``enqueue`` is), so the loop is not blocked. Returns a ``WorkflowHandleAsync``."""
        handle = await asyncio.to_thread(lambda: self.enqueue(func, *args, **kwargs))
        return WorkflowHandleAsync(handle)
