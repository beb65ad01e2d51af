"""The admin server's ``/metrics``: the runtime's counters and each queue's depth, in the
Prometheus text format."""

from __future__ import annotations

from transact._core.query import WorkflowQuery
from transact._facade.launched import runtime
from transact._runtime.queue_runner import QUEUES


def metrics_text() -> str:
    """The exposition: workflows started, succeeded and failed by name, step durations,
    and the enqueued (ENQUEUED or DELAYED) and running (PENDING) workflows per queue,
    for every queue declared here or holding active workflows."""
    rt = runtime()
    store = rt.store
    names = {queue.name for queue in QUEUES.all()}
    active = store.list_workflows(
        WorkflowQuery(queues_only=True, load_input=False, load_output=False)
    )
    names |= {r.queue_name for r in active if r.queue_name is not None}
    depth: dict[str, tuple[int, int]] = {}
    for name in names:
        counts = store.count_workflows(WorkflowQuery(queue_names=(name,), queues_only=True))
        depth[name] = (
            counts.get("ENQUEUED", 0) + counts.get("DELAYED", 0),
            counts.get("PENDING", 0),
        )
    return rt.env.metrics.render(depth)
