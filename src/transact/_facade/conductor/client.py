"""The websocket to DBOS Conductor: connect, answer, keep alive, reconnect.

With a ``conductor_key`` each process opens ``<conductor_url>/websocket/<app name>/<key>``
and answers every request Conductor sends (a JSON object with ``type`` and
``request_id``) with an object carrying the same ``type`` and ``request_id``, the
answer's fields and ``error_message`` (null, or why the request failed). Pings every 20 s
(15 s for the pong) keep the connection alive; a lost or refused connection is retried
with a growing pause (1 s up to 30 s). Nothing here ever stops the application: a
failure logs one warning per outage.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Mapping
from typing import Any

from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidURI
from websockets.sync.client import ClientConnection, connect

from transact._facade.conductor import exports, fleet, requests, schedules
from transact._facade.conductor.requests import Answer

logger = logging.getLogger("dbos")

DEFAULT_CONDUCTOR_URL = "wss://cloud.dbos.dev/conductor/v1alpha1"
PING_INTERVAL_SECONDS = 20.0
PONG_TIMEOUT_SECONDS = 15.0
FIRST_RETRY_SECONDS = 1.0
MAX_RETRY_SECONDS = 30.0


def answers(metadata: dict[str, Any] | None, version: str) -> Mapping[str, Answer]:
    """Every request type this process answers, by its name in the protocol."""
    return {
        "executor_info": requests.executor_info(metadata, version),
        "recovery": requests.recovery,
        "cancel": requests.cancel,
        "delete": requests.delete,
        "resume": requests.resume,
        "restart": requests.restart,
        "list_workflows": requests.list_workflows,
        "list_queued_workflows": requests.list_queued_workflows,
        "get_workflow": requests.get_workflow,
        "exist_pending_workflows": requests.exist_pending_workflows,
        "list_steps": requests.list_steps,
        "fork_workflow": requests.fork_workflow,
        "retention": requests.retention,
        "get_metrics": requests.get_metrics,
        "get_workflow_events": requests.get_workflow_events,
        "get_workflow_notifications": exports.get_workflow_notifications,
        "get_workflow_streams": exports.get_workflow_streams,
        "export_workflow": exports.export_workflow_request,
        "import_workflow": exports.import_workflow_request,
        "alert": fleet.alert,
        "fork_from_failure": fleet.fork_from_failure,
        "get_workflow_aggregates": fleet.get_workflow_aggregates,
        "get_step_aggregates": fleet.get_step_aggregates,
        "list_queues": fleet.list_queues,
        "get_queue": fleet.get_queue,
        "list_schedules": schedules.list_schedules,
        "get_schedule": schedules.get_schedule,
        "pause_schedule": schedules.pause_schedule,
        "resume_schedule": schedules.resume_schedule,
        "backfill_schedule": schedules.backfill_schedule,
        "trigger_schedule": schedules.trigger_schedule,
        "list_application_versions": requests.list_application_versions,
        "set_latest_application_version": requests.set_latest_application_version,
    }


def answer(table: Mapping[str, Answer], message: str | bytes) -> dict[str, Any]:
    """The answer to one request (never raises: a failure is its ``error_message``)."""
    try:
        request = json.loads(message)
        if not isinstance(request, dict):
            raise ValueError("a request must be a JSON object")
    except ValueError as exc:
        return {"type": None, "request_id": None, "error_message": f"bad request: {exc}"}
    kind, request_id = request.get("type"), request.get("request_id")
    reply: dict[str, Any] = {"type": kind, "request_id": request_id, "error_message": None}
    handler = table.get(str(kind))
    if handler is None:
        reply["error_message"] = f"unknown request type {kind!r}"
        return reply
    try:
        reply.update(handler(request))
    except Exception as exc:  # the application must outlive any bad request
        logger.warning("Conductor request %s (%s) failed: %s", kind, request_id, exc)
        reply["error_message"] = f"{type(exc).__name__}: {exc}"
    return reply


class ConductorClient:
    """The connection thread (a daemon): started at launch, stopped at destroy."""

    def __init__(self, url: str, app_name: str, key: str, table: Mapping[str, Answer]) -> None:
        self.endpoint = f"{url.rstrip('/')}/websocket/{app_name}/{key}"
        self._table = table
        self._stopped = threading.Event()
        self._lock = threading.Lock()
        self._connection: ClientConnection | None = None
        self._thread = threading.Thread(target=self._run, name="transact-conductor", daemon=True)

    def start(self) -> None:
        """Connect in the background."""
        self._thread.start()

    def stop(self) -> None:
        """Close the connection and stop reconnecting."""
        self._stopped.set()
        with self._lock:
            connection = self._connection
        if connection is not None:
            connection.close()
        self._thread.join(timeout=10)

    def _run(self) -> None:
        pause = FIRST_RETRY_SECONDS
        warned = False
        while not self._stopped.is_set():
            try:
                with connect(
                    self.endpoint,
                    ping_interval=PING_INTERVAL_SECONDS,
                    ping_timeout=PONG_TIMEOUT_SECONDS,
                    open_timeout=10,
                ) as connection:
                    with self._lock:
                        self._connection = connection
                    if self._stopped.is_set():
                        return
                    logger.info("Connected to DBOS Conductor")
                    warned, pause = False, FIRST_RETRY_SECONDS
                    for message in connection:
                        connection.send(json.dumps(answer(self._table, message)))
            except (OSError, ConnectionClosed, InvalidHandshake, InvalidURI, TimeoutError) as exc:
                if self._stopped.is_set():
                    return
                if not warned:
                    logger.warning("Cannot reach DBOS Conductor (%s); retrying", exc)
                    warned = True
            finally:
                with self._lock:
                    self._connection = None
            if self._stopped.wait(pause):
                return
            pause = min(pause * 2, MAX_RETRY_SECONDS)
