"""``DBOS.tracer`` and ``DBOS.span``: the user's access to the spans transact makes."""

from __future__ import annotations

from typing import Any

from transact._telemetry.setup import active_tracing


class DBOSTracer:
    """Starts and ends spans with transact's tracer (DBOS's ``DBOSTracer``), so user
    spans carry the same attributes and go to the same exporters. Without OpenTelemetry
    installed, ``start_span`` raises ``ImportError``."""

    def start_span(self, attributes: dict[str, Any], parent: Any = None) -> Any:
        """Start a span named by ``attributes["name"]`` (default "span"), a child of
        ``parent`` (a span) or of the current span; it is not made current."""
        from opentelemetry import trace

        tracing = active_tracing()
        tracer = getattr(tracing, "tracer", None) or trace.get_tracer("transact")
        base = getattr(getattr(tracing, "attributes", None), "base", {})
        context = trace.set_span_in_context(parent) if parent is not None else None
        name = str(attributes.get("name", "span"))
        return tracer.start_span(name, context=context, attributes={**base, **attributes})

    def end_span(self, span: Any) -> None:
        """End a span from ``start_span``."""
        span.end()

    def get_current_span(self) -> Any:
        """The current span (``DBOS.span``)."""
        return current_span()


TRACER = DBOSTracer()


def current_span() -> Any:
    """The current OpenTelemetry span (the running workflow's, step's or transaction's
    when tracing is on); None without OpenTelemetry installed."""
    try:
        from opentelemetry import trace
    except ImportError:
        return None
    return trace.get_current_span()


def tracer() -> DBOSTracer:
    """The ``DBOSTracer``."""
    return TRACER
