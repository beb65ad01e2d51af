"""What tracing costs per step: off (``NO_TRACING``, the default) and on (OpenTelemetry).

    .venv/bin/python -m benchmarks.tracing_cost [--steps 200] [--rounds 7] [--store URL]

Four figures:

1. the hook alone, per step, with tracing off: the runtime's one test of ``enabled``
   around a step body, timed in a tight loop against an empty loop (and, beside it, what
   the ``/metrics`` counters cost per step);
2. a workflow of N steps end to end on the memory store (where nothing else hides the
   cost), tracing off and on, interleaved round by round; the median per step of each;
3. the same on SQLite (``--store`` to choose another URL), where a step is one write.

"On" uses the SDK's ``TracerProvider`` with a ``BatchSpanProcessor`` feeding an exporter
that drops the spans, so the figure is what transact and the SDK spend, not the network.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Sequence
from typing import Any

from opentelemetry import trace
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter, SpanExportResult

from transact import DBOS
from transact._telemetry.hook import NO_TRACING
from transact._telemetry.metrics import Metrics


class _Dropping(SpanExporter):
    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        return SpanExportResult.SUCCESS


@DBOS.step()
def traced_cost_step(i: int) -> int:
    return i


@DBOS.workflow()
def traced_cost_workflow(steps: int) -> int:
    total = 0
    for i in range(steps):
        total += traced_cost_step(i)
    return total


def hook_cost_ns(calls: int = 1_000_000) -> float:
    """Nanoseconds per step that tracing off adds: the runtime's test of the hook
    (``step_runner.run_attempts``), timed against an empty loop."""
    tracing = NO_TRACING
    began = time.perf_counter_ns()
    for _ in range(calls):
        if tracing.enabled:
            raise AssertionError("tracing is off")
    hooked = time.perf_counter_ns() - began
    began = time.perf_counter_ns()
    for _ in range(calls):
        pass
    empty = time.perf_counter_ns() - began
    return (hooked - empty) / calls


def metrics_cost_ns(calls: int = 1_000_000) -> float:
    """Nanoseconds per step that ``/metrics`` counting adds (two clock reads and one
    histogram update), timed against an empty loop."""
    metrics = Metrics()
    began = time.perf_counter_ns()
    for _ in range(calls):
        start = time.perf_counter()
        metrics.step_finished("traced_cost_step", time.perf_counter() - start)
    counted = time.perf_counter_ns() - began
    began = time.perf_counter_ns()
    for _ in range(calls):
        pass
    return (counted - (time.perf_counter_ns() - began)) / calls


def per_step_us(url: str, enable: bool, steps: int) -> float:
    """Microseconds per step of one workflow of ``steps`` steps."""
    DBOS(config={"name": "tracing-cost", "system_database_url": url, "enable_otlp": enable})
    DBOS.launch()
    try:
        traced_cost_workflow(10)  # warm up
        began = time.perf_counter()
        traced_cost_workflow(steps)
        return (time.perf_counter() - began) / steps * 1e6
    finally:
        DBOS.destroy()


def compare(url_of: Any, steps: int, rounds: int) -> tuple[float, float]:
    """Median per-step microseconds off and on, rounds interleaved."""
    off: list[float] = []
    on: list[float] = []
    for n in range(rounds):
        off.append(per_step_us(url_of(n, "off"), False, steps))
        on.append(per_step_us(url_of(n, "on"), True, steps))
    return statistics.median(off), statistics.median(on)


def main() -> None:
    """Print the three figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--store", help="a system database URL (default: a SQLite file)")
    options = parser.parse_args()

    provider = TracerProvider()
    provider.add_span_processor(BatchSpanProcessor(_Dropping()))
    trace.set_tracer_provider(provider)

    print(f"hook with tracing off: {hook_cost_ns():.0f} ns per step")
    print(f"metrics counting: {metrics_cost_ns():.0f} ns per step")
    off, on = compare(lambda n, tag: f"memory://cost-{tag}-{n}", options.steps, options.rounds)
    print(f"memory store: {off:.1f} us/step off, {on:.1f} us/step on (+{on - off:.1f} us)")
    with tempfile.TemporaryDirectory() as folder:

        def url_of(n: int, tag: str) -> str:
            return options.store or f"sqlite:///{folder}/cost-{tag}-{n}.sqlite"

        off, on = compare(url_of, options.steps, options.rounds)
    label = "given store" if options.store else "SQLite"
    print(f"{label}: {off:.1f} us/step off, {on:.1f} us/step on (+{on - off:.1f} us)")
    provider.shutdown()


if __name__ == "__main__":
    main()
