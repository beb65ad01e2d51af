"""Tracing with OpenTelemetry (imported only when ``enable_otlp`` is set).

Spans come from the tracer of the configured provider (or of the global one, when no
endpoint is configured, so an application's own provider, or a test's in-memory
exporter, receives them). A workflow's span is parented on the context stored with it;
step and transaction spans on the current span, which the workflow's context variables
carry into its threads and tasks.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager
from typing import Any

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.trace import Span, Status, StatusCode, Tracer
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

from transact._telemetry.attributes import SEMCONV, Attributes
from transact._telemetry.propagate import inject, propagated_context

_PROPAGATOR = TraceContextTextMapPropagator()


class OtelTracing:
    """The ``Tracing`` hook over an OpenTelemetry tracer."""

    enabled = True

    def __init__(self, tracer: Tracer, attributes: Attributes, provider: Any = None) -> None:
        self.tracer = tracer
        self.attributes = attributes
        self._provider = provider  # ours, to flush at shutdown; None: the global one

    def workflow(
        self,
        workflow_id: str,
        name: str,
        *,
        user: str | None,
        roles: tuple[str, ...] | None,
        queue_name: str | None,
        parent: str | None,
    ) -> AbstractContextManager[Any]:
        """A span around one execution of a workflow, parented on ``parent``."""
        attributes = self.attributes.workflow(workflow_id, name, user, roles, queue_name)
        return self._span(name, attributes, extract(parent))

    def operation(self, kind: str, name: str, workflow_id: str) -> AbstractContextManager[Any]:
        """A span around a step or transaction body."""
        return self._span(name, self.attributes.operation(kind, name, workflow_id), None)

    def event(self, text: str) -> None:
        """Add ``text`` as an event of the current span."""
        trace.get_current_span().add_event(text)

    def handler(self, name: str, request: Mapping[str, str]) -> AbstractContextManager[Any]:
        """A span around one HTTP request, child of the current context."""
        return self._span(name, self.attributes.handler(request), None)

    def responded(self, span: Any, status_code: int) -> None:
        """Set ``responseCode`` (or its semconv form) on a handler span."""
        if span is not None:
            semconv = self.attributes.fmt == "semconv"
            span.set_attribute(SEMCONV["responseCode"] if semconv else "responseCode", status_code)

    def carrier(self, *, child: bool) -> str | None:
        """The context to store with a new workflow."""
        if not child:
            propagated = propagated_context()
            if propagated is not None:
                return propagated
        return inject()

    def shutdown(self) -> None:
        """Flush our provider's exporters and stop them."""
        if self._provider is not None:
            self._provider.shutdown()

    @contextmanager
    def _span(
        self, name: str, attributes: dict[str, str], parent: otel_context.Context | None
    ) -> Iterator[Span]:
        # The status is set here (OK, or ERROR with the message) rather than by the SDK,
        # which would prefix the exception's type; cancellations are BaseExceptions.
        with self.tracer.start_as_current_span(
            name,
            context=parent,
            attributes=attributes,
            record_exception=False,
            set_status_on_exception=False,
        ) as span:
            try:
                yield span
            except BaseException as exc:
                span.record_exception(exc)
                span.set_status(Status(StatusCode.ERROR, str(exc)))
                raise
            span.set_status(Status(StatusCode.OK))


def extract(carrier: str | None) -> otel_context.Context | None:
    """The context a stored carrier names; None (a new trace) for none or a bad one."""
    if not carrier:
        return None
    try:
        values = json.loads(carrier)
    except ValueError:
        return None
    if not isinstance(values, dict):
        return None
    return _PROPAGATOR.extract(values, context=otel_context.Context())
