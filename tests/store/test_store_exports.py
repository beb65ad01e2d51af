"""The export verbs (``transact._store.exports``), checked the same way on every store:
messages and stream entries as rows, export, import, and import across store kinds."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any, cast

import pytest

from tests.store.test_store_conformance import SUCCESS, add, cp, wf
from transact._store.exports import ExportedWorkflow
from transact._store.factory import open_store
from transact._store.memory import MemoryStore
from transact._store.protocol import Store
from transact._store.records import WorkflowQuery
from transact._store.sql.engine.modes import IDS_PER_STATEMENT
from transact.errors import DBOSConflictingWorkflowError, DBOSQueueDeduplicatedError


def populate(store: Store, workflow_id: str, parent: str | None = None) -> None:
    """A finished workflow with two steps, events (one set twice), two streams (one
    closed) and a message, attached to ``parent`` if given."""
    add(store, wf(workflow_id, parent_workflow_id=parent, queue_name="q", priority=3))
    store.record_checkpoint(workflow_id, cp(1, started_at_epoch_ms=5, completed_at_epoch_ms=6))
    store.set_event(workflow_id, "k", '"v1"', 2, cp(2, "set_event"))
    store.set_event(workflow_id, "k", '"v2"', 3, cp(3, "set_event"))
    store.set_event(workflow_id, "a", "1", 4, None)
    store.write_stream(workflow_id, "s", "10", 4, None)
    store.write_stream(workflow_id, "s", "11", 5, None)
    store.write_stream(workflow_id, "b", '"__DBOS_STREAM_CLOSED__"', 5, None)
    store.send_message(workflow_id, "t", '"m"', message_id=None, now_ms=7)
    store.finish_workflow(workflow_id, status=SUCCESS, output='"done"', error=None, now_ms=9)


def test_messages_are_listed_in_send_order_consumed_or_not(store: Store) -> None:
    add(store, wf("dest"))
    store.send_message("dest", "b", '"first"', message_id=None, now_ms=10)
    store.send_message("dest", None, '"second"', message_id=None, now_ms=10)
    store.send_message("dest", "b", '"third"', message_id="m3", now_ms=12)
    assert store.consume_message("dest", "b", cp(1, "recv")) == '"first"'
    listed = [
        (m.topic, m.message, m.created_at_epoch_ms, m.consumed) for m in store.list_messages("dest")
    ]
    assert listed == [
        ("b", '"first"', 10, True),
        (None, '"second"', 10, False),
        ("b", '"third"', 12, False),
    ]
    assert store.list_messages("nobody") == []


def test_stream_entries_are_listed_by_key_then_offset(store: Store) -> None:
    populate(store, "streamer")
    entries = [
        (s.key, s.offset, s.value, s.function_id) for s in store.list_stream_entries("streamer")
    ]
    assert entries == [
        ("b", 0, '"__DBOS_STREAM_CLOSED__"', 5),
        ("s", 0, "10", 4),
        ("s", 1, "11", 5),
    ]
    assert store.list_stream_entries("nobody") == []


def test_an_export_holds_every_row_but_the_messages(store: Store) -> None:
    populate(store, "exp")
    [exported] = store.export_workflows(["exp", "missing"])
    status = exported["workflow_status"]
    assert (status["workflow_uuid"], status["status"], status["output"]) == (
        "exp",
        SUCCESS,
        '"done"',
    )
    assert (status["queue_name"], status["priority"], status["was_forked_from"]) == ("q", 3, False)
    steps = exported["operation_outputs"]
    assert [(s["workflow_uuid"], s["function_id"], s["function_name"]) for s in steps] == [
        ("exp", 1, "step"),
        ("exp", 2, "set_event"),
        ("exp", 3, "set_event"),
    ]
    assert (steps[0]["started_at_epoch_ms"], steps[0]["completed_at_epoch_ms"]) == (5, 6)
    assert exported["workflow_events"] == [
        {"workflow_uuid": "exp", "key": "a", "value": "1"},
        {"workflow_uuid": "exp", "key": "k", "value": '"v2"'},
    ]
    assert [
        (h["function_id"], h["key"], h["value"]) for h in exported["workflow_events_history"]
    ] == [
        (2, "k", '"v1"'),
        (3, "k", '"v2"'),
        (4, "a", "1"),
    ]
    assert [(s["key"], s["offset"]) for s in exported["streams"]] == [("b", 0), ("s", 0), ("s", 1)]
    assert "notifications" not in exported
    assert store.export_workflows(["missing"]) == []


def _shape(store: Store, workflow_id: str) -> tuple[object, ...]:
    """What the runtime reads back of a workflow."""
    return (
        store.get_workflow(workflow_id),
        store.load_checkpoints(workflow_id),
        store.get_all_events(workflow_id),
        [store.read_stream(workflow_id, key, 0, 10) for key in ("b", "s")],
    )


def test_round_trip_after_delete(store: Store) -> None:
    populate(store, "rt")
    before = _shape(store, "rt")
    exported = store.export_workflows(["rt"])
    store.delete_workflows(["rt"])
    assert store.get_workflow("rt") is None
    store.import_workflows(exported)
    assert _shape(store, "rt") == before
    assert store.export_workflows(["rt"]) == exported


def test_a_write_after_an_import_listing_a_stream_out_of_order_appends(store: Store) -> None:
    """Offsets continue after the largest imported one, whatever order the export lists
    the entries in (an export may come from another store, or be edited)."""
    add(store, wf("unsorted"))
    for value in ("10", "11", "12"):
        store.write_stream("unsorted", "s", value, 1, None)
    [exported] = store.export_workflows(["unsorted"])
    exported["streams"] = list(reversed(exported["streams"]))
    store.delete_workflows(["unsorted"])
    store.import_workflows([exported])
    assert store.write_stream("unsorted", "s", "13", 2, None) == 3
    read = store.read_stream("unsorted", "s", 0, 10)
    assert (read.value, read.following) == ("10", ("11", "12", "13"))


def test_children_are_exported_through_descendants(store: Store) -> None:
    populate(store, "root")
    populate(store, "child", parent="root")
    populate(store, "grandchild", parent="child")
    populate(store, "stranger")
    family = ["root", *store.descendants(["root"])]
    exported = store.export_workflows(family)
    assert [e["workflow_status"]["workflow_uuid"] for e in exported] == family
    assert sorted(family) == ["child", "grandchild", "root"]
    store.delete_workflows(family)
    store.import_workflows(exported)
    assert store.descendants(["root"]) == ["child", "grandchild"]


def test_an_existing_id_refuses_the_whole_import(store: Store) -> None:
    populate(store, "old")
    populate(store, "new")
    exported = store.export_workflows(["new", "old"])
    store.delete_workflows(["new"])
    with pytest.raises(DBOSConflictingWorkflowError, match="old"):
        store.import_workflows(exported)
    assert store.get_workflow("new") is None  # nothing written
    assert store.load_checkpoints("new") == []
    twice = store.export_workflows(["old"]) * 2
    store.delete_workflows(["old"])
    with pytest.raises(DBOSConflictingWorkflowError, match="old"):
        store.import_workflows(twice)
    assert store.get_workflow("old") is None


def test_a_clash_past_the_first_chunk_of_a_large_import_refuses_it_all(store: Store) -> None:
    # The existing ids are looked up in chunks (IDS_PER_STATEMENT): the clash is in the
    # third one, and the whole import still writes nothing.
    count = 2 * IDS_PER_STATEMENT + 10
    add(store, *(wf(f"bulk-{i:05d}", status=SUCCESS) for i in range(count)))
    exported = store.export_workflows([f"bulk-{i:05d}" for i in range(count)])
    store.delete_workflows([f"bulk-{i:05d}" for i in range(count - 1)])
    with pytest.raises(DBOSConflictingWorkflowError, match=f"bulk-{count - 1:05d}"):
        store.import_workflows(exported)
    assert store.get_workflow("bulk-00000") is None  # nothing written
    store.delete_workflows([f"bulk-{count - 1:05d}"])
    store.import_workflows(exported)
    assert len(store.list_workflows(WorkflowQuery(workflow_ids=("bulk-00000",)))) == 1
    assert store.get_workflow(f"bulk-{count - 1:05d}") is not None


def test_a_held_deduplication_id_refuses_the_whole_import(store: Store) -> None:
    """Held by a stored row, or by an earlier workflow of the same import: either way
    DBOS's error names the workflow that cannot take it, and nothing is written."""
    add(
        store,
        *(
            wf(f"d-{i}", status="ENQUEUED", queue_name="q", deduplication_id=f"k{i}")
            for i in range(3)
        ),
    )
    exported = store.export_workflows(["d-0", "d-1", "d-2"])
    store.delete_workflows(["d-1", "d-2"])
    add(store, wf("holder", status="ENQUEUED", queue_name="q", deduplication_id="k2"))
    with pytest.raises(DBOSQueueDeduplicatedError, match="d-2"):
        store.import_workflows(exported[1:])
    assert store.get_workflow("d-1") is None  # nothing written
    store.delete_workflows(["holder"])

    # Two workflows of one import with one key: the second is refused.
    status: dict[str, Any] = dict(exported[2]["workflow_status"])
    status["deduplication_id"] = "k1"
    twin = cast(ExportedWorkflow, {**exported[2], "workflow_status": status})
    with pytest.raises(DBOSQueueDeduplicatedError, match="d-2"):
        store.import_workflows([exported[1], twin])
    assert store.get_workflow("d-1") is None  # nothing written
    store.import_workflows(exported[1:])  # the keys are free again
    rows = store.list_workflows(WorkflowQuery(workflow_ids=("d-0", "d-1", "d-2")))
    assert sorted(str(w.deduplication_id) for w in rows) == ["k0", "k1", "k2"]


@pytest.fixture
def other_stores(tmp_path: Path) -> Iterator[list[Store]]:
    """A fresh memory store and a fresh SQLite store, to import into."""
    sqlite = open_store(f"sqlite:///{tmp_path}/other.sqlite")
    sqlite.migrate()
    yield [MemoryStore(), sqlite]
    sqlite.close()


def test_an_export_imports_into_another_kind_of_store(
    store: Store, other_stores: list[Store]
) -> None:
    populate(store, "travel")
    exported: list[ExportedWorkflow] = store.export_workflows(["travel"])
    before = _shape(store, "travel")
    for other in other_stores:
        other.import_workflows(exported)
        assert _shape(other, "travel") == before
        assert other.export_workflows(["travel"]) == exported  # same keys and types
    # And back: an export of the other store imports here.
    store.delete_workflows(["travel"])
    store.import_workflows(other_stores[0].export_workflows(["travel"]))
    assert _shape(store, "travel") == before
