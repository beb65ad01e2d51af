"""``DBOS(config, flask=app)``: the idempotency header for a Flask (WSGI) application.

The app's ``wsgi_app`` is wrapped so that a request carrying ``dbos-idempotency-key``
runs inside ``SetWorkflowID(<key>)``: the workflow it starts or calls takes that id, and a
retried request returns the first outcome. A Flask application launches DBOS itself
(``DBOS.launch()``), as with DBOS.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from transact._facade.context import SetWorkflowID
from transact._facade.web.requests import IDEMPOTENCY_HEADER
from transact._facade.web.tracing import WSGIHandlerSpan

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]

_ENVIRON_KEY = "HTTP_" + IDEMPOTENCY_HEADER.upper().replace("-", "_")


def install(app: Any) -> None:
    """Wrap ``app.wsgi_app`` (a ``flask.Flask``) in the idempotency middleware."""
    app.wsgi_app = WSGIHandlerSpan(IdempotencyMiddleware(app.wsgi_app))


class IdempotencyMiddleware:
    """Run each request carrying ``dbos-idempotency-key`` under that workflow id."""

    def __init__(self, app: WSGIApp) -> None:
        self.app = app

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        key = environ.get(_ENVIRON_KEY)
        if not key:
            return self.app(environ, start_response)
        with SetWorkflowID(key):
            # Flask runs the view inside this call; only the body's bytes come later.
            return self.app(environ, start_response)
