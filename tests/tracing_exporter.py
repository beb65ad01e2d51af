"""The process's OpenTelemetry provider for tests: one in-memory exporter (the global
provider can be set only once per process, so every tracing test module shares it)."""

from __future__ import annotations

from opentelemetry import trace
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from tests.waiting import wait_until

EXPORTER = InMemorySpanExporter()
PROVIDER = TracerProvider()
PROVIDER.add_span_processor(SimpleSpanProcessor(EXPORTER))
# transact uses the global provider when no OTLP endpoint is configured, as an
# application's own OpenTelemetry set-up would be used.
trace.set_tracer_provider(PROVIDER)
CALLER = PROVIDER.get_tracer("the-caller")


def spans() -> dict[str, list[ReadableSpan]]:
    """The finished spans, by name."""
    out: dict[str, list[ReadableSpan]] = {}
    for span in EXPORTER.get_finished_spans():
        out.setdefault(span.name, []).append(span)
    return out


def finished(name: str, count: int) -> list[ReadableSpan]:
    """The ``count`` spans named ``name``, once they have ended (a workflow's span ends
    just after its outcome is recorded, so after its awaiters may have woken up)."""
    wait_until(lambda: len(spans().get(name, [])) >= count)
    return spans()[name]


def one(name: str) -> ReadableSpan:
    """The one finished span named ``name``."""
    found = finished(name, 1)
    assert len(found) == 1, (name, found)
    return found[0]
