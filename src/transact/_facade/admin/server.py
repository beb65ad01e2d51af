"""DBOS's admin HTTP server (``run_admin_server``, ``admin_port``, default 3001).

The routes, request bodies, responses and status codes are DBOS's (see
``docs/admin.md``). Each request is served on its own thread and acts through the same
functions as the ``DBOS`` class, outside any workflow.
"""

from __future__ import annotations

import json
import logging
import re
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from transact._facade import api_management, api_workflows
from transact._facade.admin import actions, maintenance
from transact._facade.admin.metrics import metrics_text
from transact._facade.admin.output import queues_metadata, step_output, workflows_output
from transact._facade.launched import runtime
from transact._facade.listing import query_workflows
from transact.errors import DBOSException

logger = logging.getLogger("dbos")

Reply = tuple[int, Any]  # status code, and a JSON-able body (a str is sent as text)

_WORKFLOW = re.compile(r"^/workflows/(?P<id>[^/]+)(?P<action>/[a-z]+)?$")


class AdminServer:
    """The server's thread; ``deactivate`` is what ``GET /deactivate`` stops."""

    def __init__(self, port: int, deactivate: Callable[[], None], host: str = "0.0.0.0") -> None:
        routes = _Routes(deactivate)

        class Handler(_Handler):
            pass

        Handler.routes = routes
        self._server = ThreadingHTTPServer((host, port), Handler)
        self._server.daemon_threads = True
        self.port: int = self._server.server_address[1]
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="transact-admin", daemon=True
        )

    def start(self) -> None:
        """Serve in the background."""
        self._thread.start()
        logger.info("Admin server listening on port %d", self.port)

    def stop(self) -> None:
        """Stop serving and close the socket."""
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=10)


class _Handler(BaseHTTPRequestHandler):
    routes: _Routes

    def do_GET(self) -> None:
        self._answer(self.routes.get(self.path.split("?", 1)[0]))

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        try:
            body = json.loads(raw) if raw.strip() else None
        except json.JSONDecodeError as exc:
            self._answer((400, {"error": f"the body is not JSON: {exc}"}))
            return
        self._answer(self.routes.post(self.path.split("?", 1)[0], body))

    def _answer(self, reply: Reply) -> None:
        status, body = reply
        if status == 204:
            self.send_response(204)
            self.end_headers()
            return
        if isinstance(body, str):
            payload, kind = body.encode(), "text/plain; charset=utf-8"
        else:
            payload, kind = json.dumps(body).encode(), "application/json"
        self.send_response(status)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, format: str, *args: Any) -> None:
        logger.debug("admin server: " + format, *args)


class _Routes:
    """What each route does; a ``DBOSException`` or a ``ValueError`` is a 500 with
    ``{"error": ...}`` (an unknown workflow in ``GET /workflows/{id}`` is a 404)."""

    def __init__(self, deactivate: Callable[[], None]) -> None:
        self._deactivate = deactivate

    def get(self, path: str) -> Reply:
        if path == "/dbos-healthz":
            return 200, "healthy"
        if path == "/deactivate":
            self._deactivate()
            return 200, "deactivated"
        if path == "/conductor":
            return 200, {"status": True}
        if path == "/dbos-workflow-queues-metadata":
            return 200, queues_metadata()
        if path == "/metrics":
            return 200, metrics_text()
        match = _WORKFLOW.match(path)
        if match and match["action"] is None:
            return _guarded(lambda: _get_workflow(match["id"]))
        if match and match["action"] == "/steps":
            steps = api_workflows.list_workflow_steps(match["id"])
            return 200, [step_output(s) for s in steps]
        return 404, {"error": f"no route GET {path}"}

    def post(self, path: str, body: Any) -> Reply:
        if path == "/dbos-workflow-recovery":
            return _guarded(lambda: (200, runtime().recover_pending(list(body or []))))
        if path == "/workflows":
            return _guarded(lambda: (200, _list(body or {}, queued=False)))
        if path == "/queues":
            return _guarded(lambda: (200, _list(body or {}, queued=True)))
        if path == "/dbos-garbage-collect":
            return _guarded(lambda: _garbage_collect(body or {}))
        if path == "/dbos-global-timeout":
            return _guarded(lambda: _global_timeout(body or {}))
        match = _WORKFLOW.match(path)
        if match is None:
            return 404, {"error": f"no route POST {path}"}
        workflow_id, action = match["id"], match["action"]
        if action == "/cancel":
            return _guarded(lambda: _no_content(api_management.cancel_workflow, workflow_id))
        if action == "/resume":
            return _guarded(lambda: _no_content(api_management.resume_workflow, workflow_id))
        if action == "/restart":
            return _guarded(lambda: _fork(workflow_id, {}))
        if action == "/fork":
            return _guarded(lambda: _fork(workflow_id, body or {}))
        return 404, {"error": f"no route POST {path}"}


def _guarded(action: Callable[[], Reply]) -> Reply:
    try:
        return action()
    except (DBOSException, ValueError, TypeError, KeyError) as exc:
        return 500, {"error": str(exc)}


def _no_content(operation: Callable[[str], object], workflow_id: str) -> Reply:
    operation(workflow_id)
    return 204, None


def _get_workflow(workflow_id: str) -> Reply:
    status = api_workflows.get_workflow_status(workflow_id)
    if status is None:
        return 404, {"error": f"Workflow {workflow_id} not found"}
    return 200, workflows_output(status)


def _fork(workflow_id: str, body: dict[str, Any]) -> Reply:
    new_id = actions.fork(
        workflow_id,
        int(body.get("start_step", 1)),
        body.get("application_version"),
        body.get("new_workflow_id"),
    )
    return 200, {"workflow_id": new_id}


def _list(body: dict[str, Any], *, queued: bool) -> list[dict[str, str | None]]:
    query = actions.listing_query(body, queued=queued)
    return [workflows_output(s) for s in query_workflows(query, queued=queued)]


def _garbage_collect(body: dict[str, Any]) -> Reply:
    maintenance.garbage_collect(
        runtime().store, body.get("cutoff_epoch_timestamp_ms"), body.get("rows_threshold")
    )
    return 204, None


def _global_timeout(body: dict[str, Any]) -> Reply:
    rt = runtime()
    workflow_ids = maintenance.timed_out_workflows(rt.store, body["cutoff_epoch_timestamp_ms"])
    if workflow_ids:
        rt.cancel(workflow_ids)
    return 204, None
