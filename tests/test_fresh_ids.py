"""A workflow id the library generates is inserted as fresh (``Store.insert_workflow``'s
``fresh_id``), so Postgres skips clearing rows a deleted workflow may have left under it;
an id the caller chose, or a child's derived id, is never fresh (it may have been used)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from transact import DBOS, Queue, SetWorkflowID
from transact._facade.launched import runtime

fresh_queue = Queue("fresh_ids_queue")


@DBOS.workflow()
def leaf(x: int) -> int:
    return x + 1


@DBOS.workflow()
def parent(x: int) -> int:
    return DBOS.start_workflow(leaf, x).get_result() + fresh_queue.enqueue(leaf, x).get_result()


Inserts = list[tuple[str, bool]]


@pytest.fixture
def inserts(system_database_url: str) -> Iterator[Inserts]:
    DBOS.destroy()
    DBOS(config={"name": "test-fresh-ids", "system_database_url": system_database_url})
    DBOS.launch()
    store = runtime().store
    seen: Inserts = []
    original: Callable[..., Any] = store.insert_workflow

    def spied(record: Any, *, fresh_id: bool = False, announce: bool = False) -> Any:
        seen.append((record.workflow_id, fresh_id))
        return original(record, fresh_id=fresh_id, announce=announce)

    store.insert_workflow = spied  # type: ignore[method-assign]
    yield seen
    del store.insert_workflow
    DBOS.destroy()


def test_generated_ids_are_fresh(inserts: Inserts) -> None:
    assert leaf(1) == 2
    assert DBOS.start_workflow(leaf, 2).get_result() == 3
    assert fresh_queue.enqueue(leaf, 3).get_result() == 4
    assert len(inserts) == 3
    assert all(fresh for _, fresh in inserts)
    assert len({workflow_id for workflow_id, _ in inserts}) == 3


def test_chosen_ids_are_not_fresh(inserts: Inserts) -> None:
    with SetWorkflowID("chosen-direct"):
        assert leaf(1) == 2
    with SetWorkflowID("chosen-started"):
        assert DBOS.start_workflow(leaf, 2).get_result() == 3
    with SetWorkflowID("chosen-enqueued"):
        assert fresh_queue.enqueue(leaf, 3).get_result() == 4
    assert inserts == [
        ("chosen-direct", False),
        ("chosen-started", False),
        ("chosen-enqueued", False),
    ]


def test_children_ids_are_not_fresh(inserts: Inserts) -> None:
    with SetWorkflowID("fresh-parent"):
        assert parent(1) == 4
    # The children's ids are the parent's and their function ids: 1 (started), 3 (enqueued).
    assert inserts == [
        ("fresh-parent", False),
        ("fresh-parent-1", False),
        ("fresh-parent-3", False),
    ]
