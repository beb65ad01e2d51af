"""The routing decision of an operation, made in one place for its sync and async twins.

In workflow code the operation is performed: checkpointed, and replayed from its
checkpoint. Anywhere else it takes its unrecorded route (``elsewhere``), which runs it
directly or refuses it with DBOS's error. The async twin performs on the event loop (its
function ids are taken before the first ``await``, so gathered operations keep their call
order) and runs ``elsewhere`` in a worker thread, which carries the caller's context.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import TypeVar

from transact._core.effects import Effect
from transact._runtime.async_driver import perform_async
from transact._runtime.interpreter import perform
from transact._runtime.state import current_workflow

T = TypeVar("T")


def perform_or_else(effect: Effect[T], elsewhere: Callable[[], T]) -> T:
    """Perform ``effect`` in workflow code; otherwise return ``elsewhere()``."""
    state = current_workflow()
    if state is not None:
        return perform(state, effect)
    return elsewhere()


async def perform_or_else_async(effect: Effect[T], elsewhere: Callable[[], T]) -> T:
    """Perform ``effect`` in workflow code; otherwise ``elsewhere()`` in a worker thread."""
    state = current_workflow()
    if state is not None:
        return await perform_async(state, effect)
    return await asyncio.to_thread(elsewhere)
