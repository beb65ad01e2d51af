"""Which event loop an async workflow runs on (see ``loop_runs.py``)."""

from __future__ import annotations

import asyncio

from transact._runtime.registry import WorkflowSpec


def running_loop() -> asyncio.AbstractEventLoop | None:
    """The loop running in this thread, or None."""
    # The non-raising form of ``asyncio.get_running_loop()`` (in ``asyncio.__all__``, for
    # event-loop implementations): every blocking call of the facade asks, and raising
    # and catching the RuntimeError cost ten times the answer.
    return asyncio._get_running_loop()


def loop_for(
    spec: WorkflowSpec,
    loop: asyncio.AbstractEventLoop | None,
    main_loop: asyncio.AbstractEventLoop | None,
    *,
    inline: bool,
) -> asyncio.AbstractEventLoop | None:
    """The loop to run ``spec`` on from a thread: ``loop`` (an async parent's), else the
    application's main loop, if it runs; None for a sync workflow, for no running loop,
    and when the caller would wait (``inline``) on that very loop's thread."""
    if not spec.is_async:
        return None
    loop = loop or main_loop
    if loop is None or loop.is_closed() or not loop.is_running():
        return None
    if inline and running_loop() is loop:
        return None  # waiting here would block the loop the workflow needs
    return loop
