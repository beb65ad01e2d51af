"""``enable_otlp`` with ``otlp_traces_endpoints`` and ``otlp_logs_endpoints``: spans and
the ``transact``/``dbos`` loggers' records reach an OTLP/HTTP collector (a stand-in
server here), and without the OpenTelemetry packages everything works, exporting
nothing."""

from __future__ import annotations

import logging
import subprocess
import sys
import textwrap
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from transact import DBOS


@DBOS.step()
def exported_step() -> int:
    DBOS.logger.info("inside the exported step")
    return 1


@DBOS.workflow()
def exported_workflow() -> int:
    return exported_step() + 1


class Collector:
    """An OTLP/HTTP collector stand-in: keeps each request's path and body."""

    def __init__(self) -> None:
        self.requests: list[tuple[str, bytes]] = []
        received = self.requests

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                received.append((self.path, body))
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def collector() -> Iterator[Collector]:
    running = Collector()
    yield running
    running.close()


def test_traces_and_logs_are_exported_over_otlp(
    system_database_url: str, collector: Collector
) -> None:
    DBOS(
        config={
            "name": "exported-app",
            "system_database_url": system_database_url,
            "enable_otlp": True,
            "otlp_traces_endpoints": [f"{collector.url}/v1/traces"],
            "otlp_logs_endpoints": [f"{collector.url}/v1/logs"],
            "otlp_attributes": {"team": "payments"},
        }
    )
    DBOS.launch()
    try:
        assert exported_workflow() == 2
        logging.getLogger("dbos").warning("a record of the dbos logger")
    finally:
        DBOS.destroy()  # flushes both exporters
    span_names: list[str] = []
    services: set[str] = set()
    log_bodies: list[str] = []
    log_attributes: dict[str, dict[str, str]] = {}
    for path, body in collector.requests:
        if path == "/v1/traces":
            traces = ExportTraceServiceRequest.FromString(body)
            for resource_spans in traces.resource_spans:
                services |= {
                    a.value.string_value
                    for a in resource_spans.resource.attributes
                    if a.key == "service.name"
                }
                for scope in resource_spans.scope_spans:
                    span_names += [s.name for s in scope.spans]
        elif path == "/v1/logs":
            logs = ExportLogsServiceRequest.FromString(body)
            for resource_logs in logs.resource_logs:
                for scope in resource_logs.scope_logs:
                    for record in scope.log_records:
                        log_bodies.append(record.body.string_value)
                        log_attributes[record.body.string_value] = {
                            a.key: a.value.string_value for a in record.attributes
                        }
    assert exported_workflow.__qualname__ in span_names
    assert exported_step.__qualname__ in span_names
    assert services == {"exported-app"}
    assert "inside the exported step" in log_bodies
    assert "a record of the dbos logger" in log_bodies
    inside = log_attributes["inside the exported step"]
    assert inside["operationUUID"]  # logged inside a workflow
    assert inside["applicationID"] == "exported-app"
    assert inside["team"] == "payments"
    assert "operationUUID" not in log_attributes["a record of the dbos logger"]
    # The handler is detached at destroy: later records are not exported.
    assert not logging.getLogger("transact").handlers or all(
        "opentelemetry" not in type(h).__module__ for h in logging.getLogger("transact").handlers
    )


@pytest.mark.slow
def test_without_opentelemetry_installed_everything_works(tmp_path: object) -> None:
    program = textwrap.dedent(
        f"""
        import sys
        for name in ("opentelemetry",):
            sys.modules[name] = None  # as if the otel extra were not installed
        from transact import DBOS, PropagateOtelContext

        @DBOS.step()
        def step() -> int:
            return 1

        @DBOS.workflow()
        def workflow() -> int:
            return step() + 1

        DBOS(config={{"name": "no-otel", "system_database_url": "sqlite:///{tmp_path}/s.sqlite",
                      "enable_otlp": True,
                      "otlp_traces_endpoints": ["http://127.0.0.1:1/v1/traces"]}})
        DBOS.launch()
        with PropagateOtelContext():
            print(workflow(), DBOS.span)
        DBOS.destroy()
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", program], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["2", "None"]
    assert "OpenTelemetry is not installed" in done.stderr
