"""The admin server's ``/metrics`` over HTTP, on every store."""

from __future__ import annotations

import re
import threading

import pytest

from tests.test_admin_server import Admin, admin, gates
from tests.waiting import wait_until
from transact import DBOS, Queue, SetWorkflowID
from transact._telemetry.metrics import BUCKETS, Metrics

# The fixture, shared with the admin server's tests; its teardown opens the gates.
__all__ = ["admin", "gates"]

metrics_queue = Queue("metrics-queue", concurrency=1)


@DBOS.step()
def measured(x: int) -> int:
    return x + 1


@DBOS.workflow()
def metered(x: int) -> int:
    return measured(x) + measured(x)


@DBOS.workflow()
def metered_failure() -> None:
    measured(0)
    raise ValueError("metered failure")


@DBOS.workflow()
def metered_blocked(tag: str) -> str:
    while not gates[tag].wait(0.01):
        pass
    return tag


def samples(text: str) -> dict[str, float]:
    """Every sample line of the exposition, by its name and labels."""
    out = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            key, value = line.rsplit(" ", 1)
            out[key] = float(value)
    return out


def test_metrics_count_workflows_steps_and_queue_depth(admin: Admin) -> None:
    for n in range(3):
        metered(n)
    with SetWorkflowID("metered-failure"), pytest.raises(ValueError):
        metered_failure()
    gates["metrics"] = threading.Event()
    handles = [metrics_queue.enqueue(metered_blocked, "metrics") for _ in range(2)]

    def one_running() -> bool:
        # Two enqueues in one millisecond dequeue in id order, so either may be first.
        statuses = sorted(DBOS.get_workflow_status(h.workflow_id).status for h in handles)  # type: ignore[union-attr]
        return statuses == ["ENQUEUED", "PENDING"]

    wait_until(one_running)

    status, text = admin.get("/metrics")
    assert status == 200
    assert "# TYPE transact_workflows_started_total counter" in text
    got = samples(text)
    name = metered.__qualname__
    assert got[f'transact_workflows_started_total{{name="{name}"}}'] == 3
    assert got[f'transact_workflows_succeeded_total{{name="{name}"}}'] == 3
    failure = metered_failure.__qualname__
    assert got[f'transact_workflows_failed_total{{name="{failure}"}}'] == 1
    assert f'transact_workflows_succeeded_total{{name="{failure}"}}' not in got
    step = measured.__qualname__
    assert got[f'transact_step_duration_seconds_count{{name="{step}"}}'] == 7
    assert got[f'transact_step_duration_seconds_bucket{{name="{step}",le="+Inf"}}'] == 7
    assert got[f'transact_step_duration_seconds_sum{{name="{step}"}}'] >= 0
    assert got['transact_queue_enqueued{queue="metrics-queue"}'] == 1
    assert got['transact_queue_running{queue="metrics-queue"}'] == 1
    gates["metrics"].set()
    wait_until(
        lambda: (
            samples(admin.get("/metrics")[1])['transact_queue_enqueued{queue="metrics-queue"}'] == 0
        )
    )


def test_histogram_buckets_are_cumulative_and_labels_escaped() -> None:
    metrics = Metrics()
    metrics.step_finished('a "quoted"\nstep', 0.003)
    metrics.step_finished('a "quoted"\nstep', 100.0)
    text = metrics.render({"q": (2, 1)})
    label = 'a \\"quoted\\"\\nstep'
    got = samples(text)
    assert got[f'transact_step_duration_seconds_bucket{{name="{label}",le="0.0025"}}'] == 0
    assert got[f'transact_step_duration_seconds_bucket{{name="{label}",le="0.005"}}'] == 1
    assert got[f'transact_step_duration_seconds_bucket{{name="{label}",le="{BUCKETS[-1]!r}"}}'] == 1
    assert got[f'transact_step_duration_seconds_bucket{{name="{label}",le="+Inf"}}'] == 2
    assert got[f'transact_step_duration_seconds_sum{{name="{label}"}}'] == 100.003
    assert got['transact_queue_enqueued{queue="q"}'] == 2
    assert re.search(r"^transact_queue_running\{queue=\"q\"\} 1$", text, re.M)
