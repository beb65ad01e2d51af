"""The handler span of a web request (DBOS's HTTP middleware span), for the FastAPI
(ASGI) and Flask (WSGI) integrations, when tracing is on.

The span is current while the route runs, so the workflows the route starts or calls
continue the request's trace. Its attributes are DBOS's: ``requestID`` (the
``x-request-id`` header, else a new UUID), ``requestIP``, ``requestURL``,
``requestMethod``, ``operationType`` "handler", and ``responseCode`` once known.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

from transact._telemetry.setup import active_tracing

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]
# ASGI's types, spelled here so a Flask application needs no Starlette.
Scope = dict[str, Any]
Message = dict[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


def _request(request_id: str | None, ip: str | None, url: str, method: str) -> dict[str, str]:
    attributes = {"requestID": request_id or str(uuid.uuid4()), "requestURL": url}
    attributes["requestMethod"] = method
    if ip:
        attributes["requestIP"] = ip
    return attributes


class ASGIHandlerSpan:
    """ASGI middleware: each HTTP request in a handler span (nothing when tracing is off)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        tracing = active_tracing()
        if scope["type"] != "http" or not tracing.enabled:
            await self.app(scope, receive, send)
            return
        headers = {bytes(k).decode("latin-1").lower(): bytes(v) for k, v in scope["headers"]}
        client = scope.get("client")
        query = scope.get("query_string", b"").decode("latin-1")
        url = scope.get("path", "/") + (f"?{query}" if query else "")
        request = _request(
            headers["x-request-id"].decode("latin-1") if "x-request-id" in headers else None,
            client[0] if client else None,
            url,
            scope.get("method", "GET"),
        )
        with tracing.handler(scope.get("path", "/"), request) as span:

            async def sending(message: Message) -> None:
                if message["type"] == "http.response.start":
                    tracing.responded(span, int(message["status"]))
                await send(message)

            await self.app(scope, receive, sending)


class WSGIHandlerSpan:
    """WSGI middleware: each request in a handler span (nothing when tracing is off)."""

    def __init__(self, app: WSGIApp) -> None:
        self.app = app

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        tracing = active_tracing()
        if not tracing.enabled:
            return self.app(environ, start_response)
        path = environ.get("PATH_INFO", "/")
        query = environ.get("QUERY_STRING", "")
        request = _request(
            environ.get("HTTP_X_REQUEST_ID"),
            environ.get("REMOTE_ADDR"),
            path + (f"?{query}" if query else ""),
            environ.get("REQUEST_METHOD", "GET"),
        )
        with tracing.handler(path, request) as span:

            def starting(status: str, headers: Any, *args: Any) -> Any:
                tracing.responded(span, int(status.split(" ", 1)[0]))
                return start_response(status, headers, *args)

            # Flask runs the view inside this call; only the body's bytes come later.
            return self.app(environ, starting)
