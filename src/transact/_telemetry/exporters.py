"""OTLP/HTTP exporters of traces and logs (the ``otel`` extra)."""

from __future__ import annotations

import logging
import warnings
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from opentelemetry import trace
from opentelemetry.sdk.resources import SERVICE_NAME, Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.trace import Tracer

TRACER_NAME = "transact"


def tracer(application_name: str, endpoints: Sequence[str]) -> tuple[Tracer, Any]:
    """With endpoints, a tracer of a provider of our own exporting to each of them (and
    the provider, to flush at shutdown); without, the global provider's tracer, so an
    application's own set-up receives the spans."""
    if not endpoints:
        return trace.get_tracer(TRACER_NAME), None
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

    provider = TracerProvider(resource=Resource.create({SERVICE_NAME: application_name}))
    for endpoint in endpoints:
        provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(endpoint=endpoint)))
    return provider.get_tracer(TRACER_NAME), provider


class _Attributes(logging.Filter):
    """Adds DBOS's record attributes to every record the OTLP handler exports: the
    process's (``applicationID``, ``applicationVersion``, ``executorID``, and
    ``otlp_attributes``) and, inside a workflow, ``operationUUID``."""

    def __init__(
        self, attributes: Mapping[str, str], workflow_id: Callable[[], str | None]
    ) -> None:
        super().__init__()
        self.attributes = dict(attributes)
        self.workflow_id = workflow_id

    def filter(self, record: logging.LogRecord) -> bool:
        for key, value in self.attributes.items():
            setattr(record, key, value)
        workflow_id = self.workflow_id()
        if workflow_id is not None:
            record.operationUUID = workflow_id
        return True


def log_handler(
    application_name: str,
    endpoints: Sequence[str],
    level: str,
    attributes: Mapping[str, str],
    workflow_id: Callable[[], str | None],
) -> tuple[Any, logging.Handler | None]:
    """A logging handler sending records over OTLP to each endpoint, and its provider;
    (None, None) without endpoints."""
    if not endpoints:
        return None, None
    from opentelemetry.exporter.otlp.proto.http._log_exporter import OTLPLogExporter
    from opentelemetry.sdk._logs import LoggerProvider, LoggingHandler
    from opentelemetry.sdk._logs.export import BatchLogRecordProcessor

    provider = LoggerProvider(resource=Resource.create({SERVICE_NAME: application_name}))
    for endpoint in endpoints:
        provider.add_log_record_processor(
            BatchLogRecordProcessor(OTLPLogExporter(endpoint=endpoint))
        )
    with warnings.catch_warnings():
        # Deprecated in favour of a separate instrumentation package; still the SDK's.
        warnings.simplefilter("ignore", DeprecationWarning)
        handler = LoggingHandler(
            level=logging.getLevelName(level.upper()), logger_provider=provider
        )
    handler.addFilter(_Attributes(attributes, workflow_id))
    return provider, handler
