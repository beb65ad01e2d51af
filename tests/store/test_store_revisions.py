"""Store verbs of DBOS's later management surface, the same on every store: workflow
attributes (and their filter), the application name filter, fork with replacement
children, rewind, and application versions."""

from __future__ import annotations

import json

import pytest

from tests.store.test_store_conformance import (
    CANCELLED,
    ENQUEUED,
    PENDING,
    SUCCESS,
    add,
    cp,
    forked,
    ids,
    row,
    wf,
)
from transact._core.queue_policy import QueueLimits
from transact._store.protocol import Store
from transact._store.records import WorkflowQuery
from transact.errors import DBOSException, DBOSNonExistentWorkflowError


def _attrs(value: object) -> str:
    return json.dumps(value)


def test_attributes_are_stored_replaced_merged_and_cleared(store: Store) -> None:
    add(store, wf("w", attributes=_attrs({"a": 1})))
    assert json.loads(row(store, "w").attributes or "") == {"a": 1}
    assert store.update_workflow_attributes("w", _attrs({"b": "x"}), merge=True, now_ms=7)
    assert json.loads(row(store, "w").attributes or "") == {"a": 1, "b": "x"}
    assert row(store, "w").updated_at == 7
    assert store.update_workflow_attributes("w", _attrs({"c": 2}), merge=False, now_ms=8)
    assert json.loads(row(store, "w").attributes or "") == {"c": 2}
    assert store.update_workflow_attributes("w", None, merge=False, now_ms=9)
    assert row(store, "w").attributes is None
    # Merging into no attributes sets them.
    assert store.update_workflow_attributes("w", _attrs({"d": 3}), merge=True, now_ms=9)
    assert json.loads(row(store, "w").attributes or "") == {"d": 3}
    assert not store.update_workflow_attributes("missing", None, merge=False, now_ms=9)


def test_attribute_filter_matches_every_key_with_an_equal_value(store: Store) -> None:
    add(
        store,
        wf("a", attributes=_attrs({"tenant": "t1", "tier": 1, "vip": True}), created_at=1),
        wf("b", attributes=_attrs({"tenant": "t1", "tier": 2}), created_at=2),
        wf("c", attributes=_attrs({"tenant": "t2", "tier": 1, "vip": 1}), created_at=3),
        wf("d", created_at=4),
    )

    def matching(filter_: object) -> list[str]:
        return ids(store.list_workflows(WorkflowQuery(attributes=json.dumps(filter_))))

    assert matching({"tenant": "t1"}) == ["a", "b"]
    assert matching({"tenant": "t1", "tier": 1}) == ["a"]
    assert matching({"tier": 1}) == ["a", "c"]
    assert matching({"vip": True}) == ["a"]  # JSON true is not 1
    assert matching({"vip": 1}) == ["c"]
    assert matching({"tenant": "none"}) == []
    assert store.count_workflows(WorkflowQuery(attributes=json.dumps({"tier": 1}))) == {PENDING: 2}


def test_application_name_filter(store: Store) -> None:
    add(
        store,
        wf("a", application_name="shop", created_at=1),
        wf("b", application_name="billing", created_at=2),
        wf("c", created_at=3),
    )
    assert ids(store.list_workflows(WorkflowQuery(application_names=("shop",)))) == ["a"]
    query = WorkflowQuery(application_names=("shop", "billing"))
    assert ids(store.list_workflows(query)) == ["a", "b"]


def test_fork_replaces_children_in_copied_checkpoints(store: Store) -> None:
    add(store, wf("orig"))
    store.record_checkpoint("orig", cp(1, "child", child_workflow_id="kid-1"))
    store.record_checkpoint("orig", cp(2, "child", child_workflow_id="kid-2"))
    store.record_checkpoint("orig", cp(3))
    store.fork_workflow("orig", forked("f", "orig"), 3, {"kid-1": "new-kid"})
    children = [c.child_workflow_id for c in store.load_checkpoints("f")]
    assert children == ["new-kid", "kid-2"]
    assert [c.child_workflow_id for c in store.load_checkpoints("orig")][:2] == [
        "kid-1",
        "kid-2",
    ]


def test_fork_past_the_end_copies_everything(store: Store) -> None:
    add(store, wf("orig"))
    store.record_checkpoint("orig", cp(1))
    store.fork_workflow("orig", forked("f", "orig"), 10)
    assert store.load_checkpoints("f") == [cp(1)]


def test_rewind_forgets_history_from_the_step_and_requeues(store: Store) -> None:
    add(store, wf("w"))
    for fid in (1, 2, 3):
        store.record_checkpoint("w", cp(fid))
    store.set_event("w", "k", "at-1", 1, None)
    store.set_event("w", "k", "at-3", 3, None)
    store.write_stream("w", "s", "a", 1, None)
    store.write_stream("w", "s", "b", 3, None)
    assert store.finish_workflow("w", status=SUCCESS, output="done", error=None, now_ms=50)

    rewound = store.rewind_workflow("w", 2, "q", 60)

    assert rewound == row(store, "w")
    assert (rewound.status, rewound.queue_name, rewound.output, rewound.completed_at) == (
        ENQUEUED,
        "q",
        None,
        None,
    )
    assert rewound.recovery_attempts == 0 and rewound.updated_at == 60
    assert store.load_checkpoints("w") == [cp(1)]
    assert store.get_all_events("w") == {"k": "at-1"}
    assert [store.read_stream("w", "s", i).value for i in (0, 1)] == ["a", None]


def test_rewind_refuses_active_and_missing_workflows(store: Store) -> None:
    add(store, wf("p"), wf("e", ENQUEUED, queue_name="q"))
    with pytest.raises(DBOSException, match=r"Cannot rewind p \(PENDING\)"):
        store.rewind_workflow("p", 1, "q", 5)
    with pytest.raises(DBOSException, match=r"Cannot rewind e \(ENQUEUED\)"):
        store.rewind_workflow("e", 1, "q", 5)
    with pytest.raises(DBOSNonExistentWorkflowError):
        store.rewind_workflow("missing", 1, "q", 5)
    store.cancel_workflows(["p"], 6)
    assert row(store, "p").status == CANCELLED
    assert store.rewind_workflow("p", 1, "q", 7).status == ENQUEUED


def test_claims_leave_unversioned_rows_to_the_latest_version(store: Store) -> None:
    add(
        store,
        wf("none", ENQUEUED, queue_name="q", created_at=1),
        wf("mine", ENQUEUED, queue_name="q", application_version="v1", created_at=2),
        wf("other", ENQUEUED, queue_name="q", application_version="v2", created_at=3),
    )
    limits = QueueLimits()

    def claim(take_unversioned: bool) -> list[str]:
        return ids(
            store.claim_queued(
                "q",
                executor_id="e",
                application_version="v1",
                limits=limits,
                local_running=0,
                partition_key=None,
                max_claims=None,
                now_ms=10,
                take_unversioned=take_unversioned,
            )
        )

    assert claim(False) == ["mine"]
    assert claim(True) == ["none"]
    claimed = row(store, "none")
    assert (claimed.status, claimed.application_version) == (PENDING, "v1")
    assert row(store, "other").status == ENQUEUED


def test_application_versions(store: Store) -> None:
    assert store.list_application_versions(None) == []
    store.register_application_version("v1", None, 100)
    store.register_application_version("v2", None, 200)
    store.register_application_version("v1", None, 300)  # already there: unchanged
    # A new version is the latest, even registered at an earlier clock.
    store.register_application_version("mine", "shop", 150)
    names = [v.version_name for v in store.list_application_versions(None)]
    assert names == ["v2", "v1"]
    listed = store.list_application_versions("shop")
    assert [v.version_name for v in listed] == ["mine", "v2", "v1"]
    assert [v.version_timestamp for v in listed] == [201, 200, 100]
    assert listed[0].application_name == "shop" and listed[0].created_at == 150

    store.set_latest_application_version("v1", None, 250)
    top = store.list_application_versions(None)[0]
    assert (top.version_name, top.version_timestamp, top.created_at) == ("v1", 250, 100)
    # Promoting at an earlier clock still wins: above every other timestamp.
    store.set_latest_application_version("v2", None, 10)
    top = store.list_application_versions(None)[0]
    assert (top.version_name, top.version_timestamp) == ("v2", 251)
    # A version not yet recorded is registered and promoted.
    store.set_latest_application_version("v3", None, 5)
    assert store.list_application_versions(None)[0].version_name == "v3"
    store.reset()
    assert store.list_application_versions(None) == []
