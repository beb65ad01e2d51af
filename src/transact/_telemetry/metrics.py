"""In-process counters of workflows and steps, rendered in the Prometheus text format.

The runtime updates them where it already handles outcomes (a workflow's start and its
recorded outcome, a step's body), in memory, without a lock: no write to any database.
They count what ran in this process since launch; queue depth is read from the store
when ``/metrics`` is scraped (``render``'s ``queues``).
"""

from __future__ import annotations

import bisect
from collections.abc import Mapping

# Step duration buckets, in seconds (upper bounds; +Inf is implied).
BUCKETS: tuple[float, ...] = (
    0.001,
    0.0025,
    0.005,
    0.01,
    0.025,
    0.05,
    0.1,
    0.25,
    0.5,
    1.0,
    2.5,
    5.0,
    10.0,
    30.0,
    60.0,
)


class _Histogram:
    __slots__ = ("count", "counts", "total")

    def __init__(self) -> None:
        self.counts = [0] * (len(BUCKETS) + 1)  # per bucket, not cumulative; last is +Inf
        self.count = 0
        self.total = 0.0


class Metrics:
    """Counters of one runtime: workflows started, succeeded, failed (by name) and step
    durations (by step name).

    Updates take no lock (a lock costs more than a step's whole bookkeeping): each is a
    few dictionary and list operations under the GIL, and ``render`` copies with
    single C-level calls. Two threads updating the same counter in the same instant may
    lose one increment, which a monitoring figure can afford; nothing durable reads them.
    """

    def __init__(self) -> None:
        self.started: dict[str, int] = {}
        self.succeeded: dict[str, int] = {}
        self.failed: dict[str, int] = {}
        self._steps: dict[str, _Histogram] = {}

    def workflow_started(self, name: str) -> None:
        """An execution of workflow ``name`` began here (a start, dequeue or recovery)."""
        self.started[name] = self.started.get(name, 0) + 1

    def workflow_finished(self, name: str, succeeded: bool) -> None:
        """Workflow ``name``'s outcome was recorded: SUCCESS or ERROR."""
        counters = self.succeeded if succeeded else self.failed
        counters[name] = counters.get(name, 0) + 1

    def step_finished(self, name: str, seconds: float) -> None:
        """A step body ``name`` ran (all its attempts) for ``seconds``."""
        histogram = self._steps.get(name) or self._steps.setdefault(name, _Histogram())
        histogram.counts[bisect.bisect_left(BUCKETS, seconds)] += 1
        histogram.count += 1
        histogram.total += seconds

    def render(self, queues: Mapping[str, tuple[int, int]] = {}) -> str:
        """The Prometheus text exposition (version 0.0.4) of every counter, with the
        ``(enqueued, running)`` depth of each of ``queues``."""
        started, succeeded, failed = dict(self.started), dict(self.succeeded), dict(self.failed)
        steps = {n: (list(h.counts), h.count, h.total) for n, h in dict(self._steps).items()}
        lines: list[str] = []
        for metric, help_text, values in (
            ("transact_workflows_started_total", "Workflow executions started", started),
            ("transact_workflows_succeeded_total", "Workflows finished with SUCCESS", succeeded),
            ("transact_workflows_failed_total", "Workflows finished with ERROR", failed),
        ):
            lines += [f"# HELP {metric} {help_text}.", f"# TYPE {metric} counter"]
            lines += [f'{metric}{{name="{_label(n)}"}} {v}' for n, v in sorted(values.items())]
        metric = "transact_step_duration_seconds"
        lines += [f"# HELP {metric} Step run time, all attempts.", f"# TYPE {metric} histogram"]
        for name, (counts, count, total) in sorted(steps.items()):
            label = _label(name)
            cumulative = 0
            for bound, n in zip((*BUCKETS, None), counts, strict=True):
                cumulative += n
                le = "+Inf" if bound is None else repr(bound)
                lines.append(f'{metric}_bucket{{name="{label}",le="{le}"}} {cumulative}')
            lines.append(f'{metric}_sum{{name="{label}"}} {total!r}')
            lines.append(f'{metric}_count{{name="{label}"}} {count}')
        for metric, help_text, column in (
            ("transact_queue_enqueued", "Workflows waiting in the queue", 0),
            ("transact_queue_running", "Workflows dequeued and running", 1),
        ):
            lines += [f"# HELP {metric} {help_text}.", f"# TYPE {metric} gauge"]
            lines += [
                f'{metric}{{queue="{_label(q)}"}} {depth[column]}'
                for q, depth in sorted(queues.items())
            ]
        return "\n".join(lines) + "\n"


def _label(value: str) -> str:
    """A label value escaped as the text format requires."""
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')
