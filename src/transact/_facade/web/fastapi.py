"""``DBOS(config, fastapi=app)``: launch with the app, the idempotency header, DBOS errors
as JSON.

Three things are installed on the app, before it starts:

- its lifespan launches DBOS at startup (before the app's own lifespan runs) and destroys
  it at shutdown, so it works under uvicorn and in ``TestClient`` alike;
- an ASGI middleware: a request carrying ``dbos-idempotency-key`` runs inside
  ``SetWorkflowID(<key>)``, so the workflow it starts (or calls) takes that id, and a
  retried request returns the first outcome instead of running the workflow again;
- an exception handler answering a ``DBOSException`` that escapes a route with DBOS's
  JSON body (``message``, ``dbos_error_code``, ``dbos_error``) and the error's status
  code, else 500.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from transact._facade.context import SetWorkflowID
from transact._facade.launched import MAIN_LOOP
from transact._facade.web.requests import IDEMPOTENCY_HEADER, error_body
from transact._facade.web.tracing import ASGIHandlerSpan
from transact.errors import DBOSException

_HEADER = IDEMPOTENCY_HEADER.encode()


def install(app: FastAPI, *, launch: Callable[[], None], destroy: Callable[[], None]) -> None:
    """Install the lifespan (calling ``launch`` and ``destroy``), the middleware and the
    error handler on ``app``."""
    app.router.lifespan_context = _with_dbos(app.router.lifespan_context, launch, destroy)
    app.add_middleware(IdempotencyMiddleware)
    app.add_middleware(ASGIHandlerSpan)  # added last, so outermost: spans the whole request
    app.add_exception_handler(DBOSException, _dbos_error)


def _with_dbos(
    inner: Callable[[Any], AbstractAsyncContextManager[Any]],
    launch: Callable[[], None],
    destroy: Callable[[], None],
) -> Callable[[Any], AbstractAsyncContextManager[Any]]:
    @asynccontextmanager
    async def lifespan(app: Any) -> AsyncIterator[Any]:
        # Launching migrates and recovers: off the loop, so the server stays responsive.
        # Recovered and dequeued async workflows run on this (the server's) loop.
        MAIN_LOOP.set(asyncio.get_running_loop())
        await asyncio.to_thread(launch)
        try:
            async with inner(app) as state:
                yield state
        finally:
            await asyncio.to_thread(destroy)

    return lifespan


class IdempotencyMiddleware:
    """Run each HTTP request carrying ``dbos-idempotency-key`` under that workflow id."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        key = _idempotency_key(scope) if scope["type"] == "http" else None
        if key is None:
            await self.app(scope, receive, send)
            return
        with SetWorkflowID(key):
            await self.app(scope, receive, send)


def _idempotency_key(scope: Scope) -> str | None:
    for name, value in scope.get("headers", ()):
        if name.lower() == _HEADER:
            return bytes(value).decode("latin-1") or None
    return None


async def _dbos_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, DBOSException)  # registered for DBOSException only
    body, status = error_body(exc)
    return JSONResponse(body, status_code=status)
