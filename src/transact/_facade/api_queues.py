"""DBOS 3's queue registry API on ``DBOS``: queues kept in the database
(``register_queue``, ``retrieve_queue``, ``delete_queue``, ``list_queues``) and the
queues this process serves (``listen_queues``); each with its ``_async`` twin.
Enqueueing onto them is ``api_enqueue``'s concern."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from typing import Literal

from transact._facade import launched
from transact._facade.launched import runtime
from transact._facade.queue_object import Queue
from transact._facade.queue_settings import make_record
from transact._runtime.queue_definitions import LISTENING, refresh_all, register_at_launch

__all__ = [
    "delete_queue",
    "delete_queue_async",
    "list_queues",
    "list_queues_async",
    "listen_queues",
    "register_queue",
    "register_queue_async",
    "retrieve_queue",
    "retrieve_queue_async",
]

OnConflict = Literal["update_if_latest_version", "always_update", "never_update"]
"""What ``register_queue`` does with a queue already kept under its name."""


# --- queues kept in the database -------------------------------------------------------


def register_queue(
    name: str,
    *,
    worker_concurrency: int | None = None,
    global_concurrency: int | None = None,
    partition_concurrency: int | None = None,
    partition_worker_concurrency: int | None = None,
    partition_limiter: dict[str, float] | None = None,
    limiter: dict[str, float] | None = None,
    polling_interval_sec: float = 1.0,
    on_conflict: OnConflict = "update_if_latest_version",
    concurrency: int | None = None,
    priority_enabled: bool = False,
    partition_queue: bool = False,
) -> Queue:
    """Keep queue ``name`` in the database (create it, or per ``on_conflict`` update an
    existing one) and return it. Every process that listens to it serves it within a
    second; its setters change it while it runs. Before ``DBOS.launch()`` the row is
    written at launch (the queue's getters need a launched runtime).

    ``on_conflict``: ``always_update`` and ``update_if_latest_version`` (every process of
    one application runs its latest version here) overwrite the stored settings,
    ``never_update`` keeps them. Raises ``ValueError`` for a reserved name (``_dbos_``
    prefix) or invalid limits (DBOS's messages).
    """
    if name.startswith("_dbos_"):
        raise ValueError(
            f"Queue name {name} is reserved: names starting with '_dbos_' belong to "
            "DBOS's internal queues."
        )
    if on_conflict not in ("update_if_latest_version", "always_update", "never_update"):
        raise ValueError(f"invalid on_conflict {on_conflict!r}")
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
        now_ms=int(time.time() * 1000),
    )
    replace = on_conflict != "never_update"
    rt = launched.runtime_or_none()
    if rt is None:  # before launch: written when the runtime launches
        register_at_launch(record, replace=replace)
    else:
        rt.store.put_queue(record, replace=replace)
        refresh_all()
    return Queue.stored(name)


def retrieve_queue(name: str) -> Queue | None:
    """The queue ``name`` kept in the database, or None."""
    return None if runtime().store.get_queue(name) is None else Queue.stored(name)


def delete_queue(name: str) -> None:
    """Delete queue ``name`` from the database: every process stops serving it within a
    second (its workflows stay as they are)."""
    runtime().store.delete_queue(name)
    refresh_all()


def list_queues(*, application_name: str | None = None) -> list[Queue]:
    """Every queue kept in the database, by name (``application_name`` is accepted for
    DBOS compatibility: one database serves one application here)."""
    return [Queue.stored(r.name) for r in runtime().store.list_queues()]


async def register_queue_async(
    name: str,
    *,
    worker_concurrency: int | None = None,
    global_concurrency: int | None = None,
    partition_concurrency: int | None = None,
    partition_worker_concurrency: int | None = None,
    partition_limiter: dict[str, float] | None = None,
    limiter: dict[str, float] | None = None,
    polling_interval_sec: float = 1.0,
    on_conflict: OnConflict = "update_if_latest_version",
    concurrency: int | None = None,
    priority_enabled: bool = False,
    partition_queue: bool = False,
) -> Queue:
    """``register_queue`` without blocking the event loop."""
    return await asyncio.to_thread(
        lambda: register_queue(
            name,
            worker_concurrency=worker_concurrency,
            global_concurrency=global_concurrency,
            partition_concurrency=partition_concurrency,
            partition_worker_concurrency=partition_worker_concurrency,
            partition_limiter=partition_limiter,
            limiter=limiter,
            polling_interval_sec=polling_interval_sec,
            on_conflict=on_conflict,
            concurrency=concurrency,
            priority_enabled=priority_enabled,
            partition_queue=partition_queue,
        )
    )


async def retrieve_queue_async(name: str) -> Queue | None:
    """``retrieve_queue`` without blocking the event loop."""
    return await asyncio.to_thread(retrieve_queue, name)


async def delete_queue_async(name: str) -> None:
    """``delete_queue`` without blocking the event loop."""
    await asyncio.to_thread(delete_queue, name)


async def list_queues_async(*, application_name: str | None = None) -> list[Queue]:
    """``list_queues`` without blocking the event loop."""
    return await asyncio.to_thread(list_queues)


def listen_queues(queues: Sequence[Queue | str]) -> None:
    """Before launch, at most once: this process serves only these queues (and the
    internal one), so an enqueuing process or a web server need not run workflows.

    Raises ``DBOSException`` after launch or on a second call.
    """
    names = [q if isinstance(q, str) else q.name for q in queues]
    LISTENING.restrict(names, launched=launched.runtime_or_none() is not None)
