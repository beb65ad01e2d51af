"""The routing decision of an ``*_async`` twin, made in one place.

In workflow code the twin performs its effect on the event loop (its function ids are
taken before the first ``await``, so gathered operations keep their call order). Anywhere
else it runs the synchronous route in a worker thread, which carries the caller's
context: that route runs the operation unrecorded or refuses it with DBOS's error.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import TypeVar

from transact._core.effects import Effect
from transact._runtime.async_driver import perform_async
from transact._runtime.state import current_workflow

T = TypeVar("T")


async def perform_or_else_async(effect: Effect[T], elsewhere: Callable[[], T]) -> T:
    """Perform ``effect`` in workflow code; otherwise ``elsewhere()`` in a worker thread."""
    state = current_workflow()
    if state is not None:
        return await perform_async(state, effect)
    return await asyncio.to_thread(elsewhere)
