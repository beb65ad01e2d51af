"""The dashboard as an ASGI application (Starlette): the page, its assets, a JSON API.

Every asset ships in the package (``static/``): the dashboard works offline. With a
``token``, every request must carry it (``Authorization: Bearer <token>``, or
``?token=<token>`` once, which sets a cookie for the browser).
"""

from __future__ import annotations

import hmac
import pathlib
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.middleware import Middleware
from starlette.middleware.base import BaseHTTPMiddleware
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from transact._core.query import WorkflowQuery
from transact._dashboard.source import PAGE_SIZE, Source
from transact._facade.calls import as_tuple, iso_to_ms
from transact.errors import DBOSException, DBOSNonExistentWorkflowError

STATIC = pathlib.Path(__file__).with_name("static")
_COOKIE = "transact_dashboard_token"


def create_app(
    source: Callable[[], Source],
    *,
    token: str | None = None,
    on_shutdown: Callable[[], None] | None = None,
) -> Starlette:
    """The dashboard over ``source()`` (called per request, so a dashboard mounted before
    ``DBOS.launch()`` finds the launched runtime); ``on_shutdown`` runs when the server
    stops."""

    async def index(request: Request) -> Response:
        return FileResponse(STATIC / "index.html")

    async def workflows(request: Request) -> Response:
        try:
            query = _query(request.query_params)
        except ValueError as exc:
            return JSONResponse({"error": str(exc)}, status_code=400)
        return JSONResponse(await run_in_threadpool(lambda: source().workflows(query)))

    async def workflow(request: Request) -> Response:
        workflow_id = request.path_params["workflow_id"]
        found = await run_in_threadpool(lambda: source().workflow(workflow_id))
        if found is None:
            return JSONResponse({"error": f"no workflow {workflow_id}"}, status_code=404)
        return JSONResponse(found)

    async def queues(request: Request) -> Response:
        return JSONResponse(await run_in_threadpool(lambda: source().queues()))

    async def act(request: Request) -> Response:
        workflow_id = request.path_params["workflow_id"]
        action = request.path_params["action"]
        body: dict[str, Any] = await request.json() if await request.body() else {}

        def run() -> dict[str, Any]:
            if action == "cancel":
                source().cancel(workflow_id)
                return {"workflow_id": workflow_id}
            if action == "resume":
                source().resume(workflow_id)
                return {"workflow_id": workflow_id}
            return {"workflow_id": source().fork(workflow_id, int(body.get("start_step", 1)))}

        try:
            return JSONResponse(await run_in_threadpool(run))
        except DBOSNonExistentWorkflowError as exc:
            return JSONResponse({"error": str(exc)}, status_code=404)
        except (DBOSException, ValueError) as exc:
            return JSONResponse({"error": str(exc)}, status_code=400)

    routes = [
        Route("/", index),
        Route("/api/workflows", workflows),
        Route("/api/workflows/{workflow_id}", workflow),
        Route("/api/workflows/{workflow_id}/{action:str}", act, methods=["POST"]),
        Route("/api/queues", queues),
        Mount("/static", StaticFiles(directory=STATIC), name="static"),
    ]
    middleware = [Middleware(BaseHTTPMiddleware, dispatch=_token_check(token))] if token else []

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        yield
        if on_shutdown is not None:
            on_shutdown()

    return Starlette(routes=routes, middleware=middleware, lifespan=lifespan)


def _query(params: Any) -> WorkflowQuery:
    """The listing's filters from the query string (``ValueError`` names a bad one)."""

    def many(key: str) -> tuple[str, ...] | None:
        values = [v for v in params.getlist(key) if v]
        return as_tuple(values) if values else None

    def number(key: str, default: int) -> int:
        value = params.get(key)
        return int(value) if value else default

    return WorkflowQuery(
        statuses=many("status"),
        names=many("name"),
        queue_names=many("queue"),
        workflow_id_prefixes=many("prefix"),
        users=many("user"),
        application_versions=many("version"),
        created_after=iso_to_ms(params.get("start") or None, "start"),
        created_before=iso_to_ms(params.get("end") or None, "end"),
        sort_desc=True,
        limit=min(number("limit", PAGE_SIZE), 500),
        offset=number("offset", 0),
    )


def _token_check(
    token: str,
) -> Callable[[Request, Callable[[Request], Awaitable[Response]]], Awaitable[Response]]:
    async def check(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        given = (
            request.headers.get("authorization", "").removeprefix("Bearer ")
            or request.query_params.get("token")
            or request.cookies.get(_COOKIE)
            or ""
        )
        if not hmac.compare_digest(given.encode(), token.encode()):
            return JSONResponse({"error": "a valid dashboard token is required"}, status_code=401)
        response = await call_next(request)
        if request.query_params.get("token"):
            response.set_cookie(_COOKIE, token, httponly=True, samesite="strict")
        return response

    return check
