"""The ``_async`` twin of a blocking client method, made once instead of written out."""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable, Coroutine
from typing import Any, ParamSpec, TypeVar

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

P = ParamSpec("P")
R = TypeVar("R")


def twin(method: Callable[P, R]) -> Callable[P, Coroutine[Any, Any, R]]:
    """``method`` run in a worker thread, awaited: the event loop is never blocked. As a
    class attribute it is a method too (``self`` is passed through)."""

    @functools.wraps(method)
    async def run(*args: P.args, **kwargs: P.kwargs) -> R:
        return await asyncio.to_thread(method, *args, **kwargs)

    run.__doc__ = f"``{method.__name__}`` without blocking the event loop."
    run.__name__ = f"{method.__name__}_async"
    run.__qualname__ = f"{method.__qualname__}_async"
    return run


async def on_sync_face(conn_or_session: Any, work: Callable[[Any], R]) -> R:
    """Run ``work`` on the synchronous face of ``conn_or_session``: through ``run_sync``
    for an asyncio connection or session (same transaction, no thread), else in a
    worker thread so the event loop is not blocked."""
    if isinstance(conn_or_session, AsyncConnection | AsyncSession):
        return await conn_or_session.run_sync(work)
    return await asyncio.to_thread(work, conn_or_session)
