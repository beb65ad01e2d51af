"""DBOS's event-loop guard: a blocking ``DBOS`` method called on a thread whose event
loop is running raises ``RuntimeError`` naming its ``_async`` twin (it would block the
loop for a database round trip or a durable wait)."""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from typing import Any

from transact._runtime.loops import running_loop

logger = logging.getLogger("dbos")

# DBOS's guarded methods (2.x and 3.4); ``start_workflow`` deliberately is not one.
GUARDED = [
    "get_workflow_status",
    "get_result",
    "wait_first",
    "retrieve_workflow",
    "send",
    "send_bulk",
    "recv",
    "sleep",
    "set_event",
    "get_event",
    "get_all_events",
    "cancel_workflow",
    "cancel_workflows",
    "delete_workflow",
    "delete_workflows",
    "resume_workflow",
    "resume_workflows",
    "set_workflow_delay",
    "update_workflow_attributes",
    "fork_workflow",
    "rewind_workflow",
    "list_workflows",
    "list_queued_workflows",
    "list_workflow_steps",
    "write_stream",
    "close_stream",
    "read_stream",
    "read_stream_offset",
    "patch",
    "deprecate_patch",
    "run_step",
    "register_queue",
    "retrieve_queue",
    "delete_queue",
    "list_queues",
]


def loop_running() -> bool:
    """Whether this thread has a running event loop."""
    return running_loop() is not None


def blocking(name: str, func: Callable[..., Any]) -> Callable[..., Any]:
    """``func`` refusing to run on a thread with a running event loop."""

    @functools.wraps(func)
    def guarded(*args: Any, **kwargs: Any) -> Any:
        if loop_running():
            raise RuntimeError(
                f"{name}() was called while an event loop is running. "
                f"Use await {name}_async(...) instead."
            )
        return func(*args, **kwargs)

    return guarded


def guard(cls: type) -> None:
    """Wrap every guarded static member ``cls`` has (members added later are wrapped
    too, as their names are listed)."""
    for name in GUARDED:
        member = cls.__dict__.get(name)
        if isinstance(member, staticmethod):
            setattr(cls, name, staticmethod(blocking(name, member.__func__)))


def warn_if_on_loop(method: str, async_alternative: str) -> None:
    """DBOS's warning for the sync methods it lets through on a loop thread (a queue's
    stored settings, a client's queue and connection calls): they work, but block the
    loop for a database round trip."""
    if loop_running():
        logger.warning(
            "Synchronous '%s' was called from a running asyncio event loop. This blocks "
            "the loop on a database round-trip. Use '%s' instead.",
            method,
            async_alternative,
        )
