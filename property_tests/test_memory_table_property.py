"""The memory store's per-queue indexes (``_store/memory/table.py``) always agree with
its rows, whatever sequence of writes, deletions and clears reaches them."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from transact._store.memory.table import WorkflowTable
from transact._store.records import WorkflowRecord

IDS = st.sampled_from(["a", "b", "c", "d"])
QUEUES = st.sampled_from([None, "q1", "q2"])
STATUSES = st.sampled_from(["ENQUEUED", "DELAYED", "PENDING", "SUCCESS", "ERROR", "CANCELLED"])
LIVE = {"ENQUEUED", "DELAYED", "PENDING"}

writes = st.tuples(st.just("set"), IDS, QUEUES, STATUSES)
removals = st.tuples(st.sampled_from(["del", "pop", "pop-default"]), IDS)
clears = st.tuples(st.just("clear"))
operations = st.lists(st.one_of(writes, removals, clears), max_size=40)


def _row(workflow_id: str, queue_name: str | None, status: str) -> WorkflowRecord:
    return WorkflowRecord(
        workflow_id=workflow_id,
        status=status,
        name="fn",
        queue_name=queue_name,
        created_at=1,
        updated_at=1,
    )


def _apply(table: WorkflowTable, operation: tuple[object, ...]) -> None:
    kind = operation[0]
    if kind == "set":
        _, workflow_id, queue_name, status = operation
        assert isinstance(workflow_id, str) and isinstance(status, str)
        assert queue_name is None or isinstance(queue_name, str)
        table[workflow_id] = _row(workflow_id, queue_name, status)
    elif kind == "clear":
        table.clear()
    else:
        workflow_id = operation[1]
        assert isinstance(workflow_id, str)
        if kind == "pop-default":
            assert table.pop(workflow_id, None) is None or workflow_id not in table
        elif workflow_id in table:
            if kind == "del":
                del table[workflow_id]
            else:
                assert table.pop(workflow_id) is not None


@given(operations)
def test_the_indexes_agree_with_the_rows(ops: list[tuple[object, ...]]) -> None:
    table = WorkflowTable()
    for operation in ops:
        _apply(table, operation)
        for queue in ("q1", "q2"):
            rows = [r for r in table.values() if r.queue_name == queue]
            assert sorted(r.workflow_id for r in table.in_queue(queue)) == sorted(
                r.workflow_id for r in rows
            )
            assert sorted(r.workflow_id for r in table.live_in_queue(queue)) == sorted(
                r.workflow_id for r in rows if r.status in LIVE
            )
            # The index returns the current rows, not stale copies.
            assert all(table[r.workflow_id] is r for r in table.in_queue(queue))
