"""``DBOS.asyncio_wait``: ``asyncio.wait`` whose outcome a workflow replays.

Which futures were done when the wait returned depends on timing; inside a workflow
that choice is recorded (the indexes of the done futures, as the checkpoint
``DBOS.asyncio_wait``) so a re-execution makes the same one, then waits for exactly
those futures (replayed steps finish at once).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Iterable
from typing import Any, Literal, TypeVar

from transact._core.effects import RunStep
from transact._runtime.async_driver import perform_async
from transact._runtime.state import current_workflow

T = TypeVar("T")

ReturnWhen = Literal["FIRST_COMPLETED", "FIRST_EXCEPTION", "ALL_COMPLETED"]


async def asyncio_wait(
    fs: Iterable[Awaitable[T]],
    *,
    timeout: float | None = None,
    return_when: ReturnWhen = "ALL_COMPLETED",
) -> tuple[set[asyncio.Future[T]], set[asyncio.Future[T]]]:
    """``asyncio.wait(fs, timeout=, return_when=)``: the (done, pending) sets; in
    workflow code the split is checkpointed and replayed (one step id)."""
    futures = [asyncio.ensure_future(f) for f in fs]
    state = current_workflow()
    if state is None:
        return await asyncio.wait(futures, timeout=timeout, return_when=return_when)

    async def wait_for_indexes() -> list[int]:
        done, _ = await asyncio.wait(futures, timeout=timeout, return_when=return_when)
        return [i for i, future in enumerate(futures) if future in done]

    effect: RunStep[Any] = RunStep("DBOS.asyncio_wait", wait_for_indexes)
    indexes: list[int] = await perform_async(state, effect)
    done: set[asyncio.Future[T]] = {futures[i] for i in indexes}
    if done:
        await asyncio.wait(done)  # on replay they were re-created: let them finish
    return done, {f for f in futures if f not in done}
