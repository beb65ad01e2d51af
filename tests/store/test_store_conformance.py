"""Every verb of the ``Store`` protocol, checked the same way on every store.

The ``store`` fixture runs each test on memory, SQLite and Postgres. Times are plain
integers (the store never reads a clock), so nothing here sleeps.
"""

from __future__ import annotations

import collections
import threading
from collections.abc import Callable
from typing import Any, TypeVar

import attrs
import pytest

from transact._core.checkpoint import Checkpoint
from transact._store.errors import CheckpointConflict, WorkflowNotPending
from transact._store.memory import MemoryStore
from transact._store.protocol import Store
from transact._store.records import OutgoingMessage, StreamRead, WorkflowQuery, WorkflowRecord
from transact.errors import DBOSNonExistentWorkflowError, DBOSQueueDeduplicatedError

T = TypeVar("T")

PENDING = "PENDING"
ENQUEUED = "ENQUEUED"
DELAYED = "DELAYED"
SUCCESS = "SUCCESS"
ERROR = "ERROR"
CANCELLED = "CANCELLED"
DEAD = "MAX_RECOVERY_ATTEMPTS_EXCEEDED"


def wf(workflow_id: str, status: str = PENDING, **fields: Any) -> WorkflowRecord:
    """A workflow row with test defaults."""
    fields.setdefault("name", "fn")
    fields.setdefault("inputs", '{"args": [1]}')
    fields.setdefault("created_at", 1000)
    fields.setdefault("updated_at", fields["created_at"])
    return WorkflowRecord(workflow_id=workflow_id, status=status, **fields)


def cp(
    function_id: int, name: str = "step", output: str | None = None, **fields: Any
) -> Checkpoint:
    """A checkpoint whose output defaults to a value naming its position."""
    return Checkpoint(
        function_id=function_id,
        function_name=name,
        output=output if output is not None else f"out-{function_id}",
        **fields,
    )


def add(store: Store, *records: WorkflowRecord) -> None:
    for record in records:
        _, created = store.insert_workflow(record)
        assert created


def row(store: Store, workflow_id: str) -> WorkflowRecord:
    found = store.get_workflow(workflow_id)
    assert found is not None, workflow_id
    return found


def ids(records: list[WorkflowRecord]) -> list[str]:
    return [r.workflow_id for r in records]


# --- lifecycle -----------------------------------------------------------------------


def test_migrate_is_idempotent(store: Store) -> None:
    add(store, wf("w1"))
    store.migrate()
    assert row(store, "w1").workflow_id == "w1"


def test_reset_deletes_everything(store: Store) -> None:
    add(store, wf("w1"))
    store.record_checkpoint("w1", cp(1))
    store.set_event("w1", "k", "v", 1, None)
    store.write_stream("w1", "s", "a", 1, None)
    store.send_message("w1", None, "m", message_id="mid", now_ms=1)
    store.reset()
    assert store.get_workflow("w1") is None
    assert store.list_workflows(WorkflowQuery()) == []
    add(store, wf("w1"))
    assert store.load_checkpoints("w1") == []
    assert store.get_all_events("w1") == {}
    assert store.read_stream("w1", "s", 0).value is None
    assert store.consume_message("w1", None, cp(2)) is None
    # The message id was forgotten with its message.
    assert store.send_message("w1", None, "m", message_id="mid", now_ms=2)


# --- insert / get --------------------------------------------------------------------


FULL = WorkflowRecord(
    workflow_id="full",
    status=ENQUEUED,
    name="module.fn",
    inputs='{"args": [1, "x"], "kwargs": {}}',
    output=None,
    error=None,
    serialization="pickle",
    class_name="Cls",
    config_name="cfg",
    executor_id="exec-1",
    application_version="v1",
    application_id="app-1",
    authenticated_user="alice",
    assumed_role="admin",
    authenticated_roles='["admin", "user"]',
    created_at=1_700_000_000_123,
    updated_at=1_700_000_000_456,
    recovery_attempts=3,
    queue_name="q",
    queue_partition_key="part",
    deduplication_id="dd",
    priority=7,
    workflow_timeout_ms=60_000,
    workflow_deadline_epoch_ms=1_700_000_060_123,
    started_at_epoch_ms=1_700_000_000_200,
    completed_at=None,
    delay_until_epoch_ms=1_700_000_000_300,
    parent_workflow_id="parent",
    forked_from="origin",
    was_forked_from=True,
    otel_context='{"traceparent": "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"}',
)


def test_insert_round_trips_every_field(store: Store) -> None:
    stored, created = store.insert_workflow(FULL)
    assert created
    assert stored == FULL
    assert store.get_workflow("full") == FULL


def test_insert_round_trips_outcome_fields(store: Store) -> None:
    record = wf("done", SUCCESS, output='"ok"', error="boom", completed_at=1500)
    add(store, record)
    assert row(store, "done") == record


def test_insert_existing_id_attaches_without_changing_the_row(store: Store) -> None:
    first = wf("w1", name="first", inputs="a", created_at=1)
    add(store, first)
    stored, created = store.insert_workflow(wf("w1", ENQUEUED, name="second", inputs="b"))
    assert not created
    assert stored == first
    assert row(store, "w1") == first


def test_get_missing_workflow_is_none(store: Store) -> None:
    assert store.get_workflow("nope") is None


def test_get_workflow_load_flags_blank_fields(store: Store) -> None:
    record = wf("w1", ERROR, inputs="in", output="out", error="err")
    add(store, record)
    assert store.get_workflow("w1", load_input=False) == attrs.evolve(record, inputs=None)
    assert store.get_workflow("w1", load_output=False) == attrs.evolve(
        record, output=None, error=None
    )
    assert store.get_workflow("w1", load_input=False, load_output=False) == attrs.evolve(
        record, inputs=None, output=None, error=None
    )


# --- deduplication -------------------------------------------------------------------


def test_dedup_conflict_raises_and_writes_nothing(store: Store) -> None:
    add(store, wf("w1", ENQUEUED, queue_name="q", deduplication_id="d"))
    with pytest.raises(DBOSQueueDeduplicatedError) as info:
        store.insert_workflow(wf("w2", ENQUEUED, queue_name="q", deduplication_id="d"))
    assert info.value.workflow_id == "w2"
    assert info.value.queue_name == "q"
    assert info.value.deduplication_id == "d"
    assert store.get_workflow("w2") is None


def test_dedup_id_is_per_queue(store: Store) -> None:
    add(store, wf("w1", ENQUEUED, queue_name="q1", deduplication_id="d"))
    add(store, wf("w2", ENQUEUED, queue_name="q2", deduplication_id="d"))
    assert row(store, "w2").deduplication_id == "d"


def test_dedup_does_not_stop_attaching_to_the_holder(store: Store) -> None:
    holder = wf("w1", ENQUEUED, queue_name="q", deduplication_id="d")
    add(store, holder)
    assert store.insert_workflow(holder) == (holder, False)


@pytest.mark.parametrize(
    "release",
    [
        pytest.param(
            lambda s: s.finish_workflow("w1", status=SUCCESS, output="1", error=None, now_ms=5),
            id="finish",
        ),
        pytest.param(lambda s: s.cancel_workflows(["w1"], 5), id="cancel"),
        pytest.param(lambda s: s.dead_letter("w1", 5), id="dead_letter"),
        pytest.param(lambda s: s.resume_workflow("w1", "other", 5), id="resume"),
        pytest.param(lambda s: s.delete_workflows(["w1"]), id="delete"),
    ],
)
def test_dedup_id_is_released_when_cleared(store: Store, release: Callable[[Store], Any]) -> None:
    add(store, wf("w1", PENDING, queue_name="q", deduplication_id="d"))
    release(store)
    held = store.get_workflow("w1")
    assert held is None or held.deduplication_id is None
    stored, created = store.insert_workflow(
        wf("w2", ENQUEUED, queue_name="q", deduplication_id="d")
    )
    assert created
    assert stored.deduplication_id == "d"


# --- finish --------------------------------------------------------------------------


def test_finish_success_records_outcome(store: Store) -> None:
    add(store, wf("w1", queue_name="q", deduplication_id="d", created_at=10))
    assert store.finish_workflow("w1", status=SUCCESS, output='"r"', error=None, now_ms=99)
    got = row(store, "w1")
    assert (got.status, got.output, got.error) == (SUCCESS, '"r"', None)
    assert (got.completed_at, got.updated_at, got.created_at) == (99, 99, 10)
    assert got.deduplication_id is None
    assert got.queue_name == "q"


def test_finish_error_records_error(store: Store) -> None:
    add(store, wf("w1"))
    assert store.finish_workflow("w1", status=ERROR, output=None, error="boom", now_ms=7)
    got = row(store, "w1")
    assert (got.status, got.output, got.error, got.completed_at) == (ERROR, None, "boom", 7)


@pytest.mark.parametrize("status", [ENQUEUED, DELAYED, SUCCESS, ERROR, CANCELLED, DEAD])
def test_finish_only_from_pending(store: Store, status: str) -> None:
    before = wf("w1", status, output="old", completed_at=3)
    add(store, before)
    assert not store.finish_workflow("w1", status=SUCCESS, output="new", error=None, now_ms=9)
    assert row(store, "w1") == before


def test_finish_missing_workflow_is_false(store: Store) -> None:
    assert not store.finish_workflow("nope", status=SUCCESS, output=None, error=None, now_ms=1)
    assert store.get_workflow("nope") is None


def test_finish_twice_records_only_the_first_outcome(store: Store) -> None:
    add(store, wf("w1"))
    assert store.finish_workflow("w1", status=SUCCESS, output="1", error=None, now_ms=5)
    assert not store.finish_workflow("w1", status=ERROR, output=None, error="e", now_ms=6)
    got = row(store, "w1")
    assert (got.status, got.output, got.error, got.completed_at) == (SUCCESS, "1", None, 5)


# --- checkpoints ---------------------------------------------------------------------


def test_checkpoints_load_by_ascending_function_id(store: Store) -> None:
    add(store, wf("w1"))
    full = Checkpoint(
        function_id=2,
        function_name="child",
        output=None,
        error="err",
        child_workflow_id="kid",
        started_at_epoch_ms=100,
        completed_at_epoch_ms=200,
        args_digest="0123456789abcdef",
    )
    for checkpoint in (cp(3), full, cp(1), cp(10)):
        store.record_checkpoint("w1", checkpoint)
    assert store.load_checkpoints("w1") == [cp(1), full, cp(3), cp(10)]


def test_checkpoints_are_per_workflow(store: Store) -> None:
    add(store, wf("w1"), wf("w2"))
    store.record_checkpoint("w1", cp(1, output="a"))
    store.record_checkpoint("w2", cp(1, output="b"))
    assert store.load_checkpoints("w1") == [cp(1, output="a")]
    assert store.load_checkpoints("w2") == [cp(1, output="b")]
    assert store.load_checkpoints("nope") == []


def test_checkpoint_conflict_keeps_the_first(store: Store) -> None:
    add(store, wf("w1"))
    store.record_checkpoint("w1", cp(1, output="first"))
    with pytest.raises(CheckpointConflict) as info:
        store.record_checkpoint("w1", cp(1, output="second"))
    assert info.value.workflow_id == "w1"
    assert info.value.function_id == 1
    assert store.load_checkpoints("w1") == [cp(1, output="first")]


@pytest.mark.parametrize("status", [CANCELLED, ENQUEUED, SUCCESS, DEAD])
def test_checkpoint_needs_pending_workflow(store: Store, status: str) -> None:
    add(store, wf("w1", status))
    with pytest.raises(WorkflowNotPending) as info:
        store.record_checkpoint("w1", cp(1))
    assert (info.value.workflow_id, info.value.status) == ("w1", status)
    assert store.load_checkpoints("w1") == []


def test_checkpoint_after_cancel_is_refused(store: Store) -> None:
    add(store, wf("w1"))
    store.record_checkpoint("w1", cp(1))
    store.cancel_workflows(["w1"], 5)
    with pytest.raises(WorkflowNotPending):
        store.record_checkpoint("w1", cp(2))
    assert store.load_checkpoints("w1") == [cp(1)]


def test_checkpoint_of_missing_workflow_is_refused(store: Store) -> None:
    with pytest.raises(WorkflowNotPending) as info:
        store.record_checkpoint("nope", cp(1))
    assert (info.value.workflow_id, info.value.status) == ("nope", None)
    assert store.load_checkpoints("nope") == []


def test_concurrent_checkpoints_at_one_position_have_one_winner(store: Store) -> None:
    add(store, wf("w1"))
    positions = range(1, 11)

    def record_all(worker: int) -> list[int]:
        won = []
        for fid in positions:
            try:
                store.record_checkpoint("w1", cp(fid, output=f"w{worker}"))
                won.append(fid)
            except CheckpointConflict:
                pass
        return won

    results = run_threads(record_all, 4)
    assert sorted(fid for won in results for fid in won) == list(positions)
    assert [c.function_id for c in store.load_checkpoints("w1")] == list(positions)


def run_threads(target: Callable[[int], T], count: int) -> list[T]:
    """Run ``target(i)`` on ``count`` threads started together; re-raise any error."""
    barrier = threading.Barrier(count)
    results: list[T | None] = [None] * count
    errors: list[BaseException] = []

    def body(i: int) -> None:
        try:
            barrier.wait()
            results[i] = target(i)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=body, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        raise errors[0]
    return [r for r in results if r is not None]


# --- list_workflows ------------------------------------------------------------------


LISTED = [
    wf(
        "wf-a",
        SUCCESS,
        name="f1",
        created_at=100,
        completed_at=150,
        started_at_epoch_ms=110,
        application_version="v1",
        executor_id="e1",
        authenticated_user="alice",
        queue_name="q1",
        was_forked_from=True,
        output="out-a",
    ),
    wf(
        "wf-b",
        ERROR,
        name="f2",
        created_at=200,
        completed_at=250,
        application_version="v2",
        executor_id="e2",
        authenticated_user="bob",
        parent_workflow_id="wf-a",
        error="err-b",
    ),
    wf(
        "wf-c",
        PENDING,
        name="f1",
        created_at=300,
        started_at_epoch_ms=310,
        application_version="v1",
        executor_id="e1",
        queue_name="q1",
        parent_workflow_id="wf-a",
        forked_from="wf-a",
    ),
    wf("wf-d", ENQUEUED, name="f2", created_at=400, application_version="v2", queue_name="q2"),
    wf("wf-e", DELAYED, name="f1", created_at=500, authenticated_user="alice", queue_name="q2"),
    wf("wf-f", CANCELLED, name="f3", created_at=600, completed_at=650, parent_workflow_id="wf-c"),
    wf("other-g", PENDING, name="f3", created_at=700, executor_id="e3"),
]
ALL = ["wf-a", "wf-b", "wf-c", "wf-d", "wf-e", "wf-f", "other-g"]

LIST_CASES = {
    "no_filter": (WorkflowQuery(), ALL),
    "workflow_ids": (WorkflowQuery(workflow_ids=("wf-c", "wf-a", "missing")), ["wf-a", "wf-c"]),
    "statuses": (WorkflowQuery(statuses=(PENDING,)), ["wf-c", "other-g"]),
    "statuses_many": (WorkflowQuery(statuses=(SUCCESS, ERROR)), ["wf-a", "wf-b"]),
    "statuses_empty": (WorkflowQuery(statuses=()), []),
    "names": (WorkflowQuery(names=("f1",)), ["wf-a", "wf-c", "wf-e"]),
    "application_versions": (WorkflowQuery(application_versions=("v2",)), ["wf-b", "wf-d"]),
    "executor_ids": (WorkflowQuery(executor_ids=("e1", "e3")), ["wf-a", "wf-c", "other-g"]),
    "queue_names": (WorkflowQuery(queue_names=("q2",)), ["wf-d", "wf-e"]),
    "parent_workflow_ids": (WorkflowQuery(parent_workflow_ids=("wf-a",)), ["wf-b", "wf-c"]),
    "forked_from": (WorkflowQuery(forked_from=("wf-a",)), ["wf-c"]),
    "users": (WorkflowQuery(users=("alice",)), ["wf-a", "wf-e"]),
    "prefixes": (WorkflowQuery(workflow_id_prefixes=("wf-a", "other")), ["wf-a", "other-g"]),
    "prefix_all": (WorkflowQuery(workflow_id_prefixes=("wf-",)), ALL[:-1]),
    # A prefix is literal text, not a LIKE pattern.
    "prefix_literal": (WorkflowQuery(workflow_id_prefixes=("wf_", "%", "wf-_")), []),
    "created_after": (WorkflowQuery(created_after=300), ALL[2:]),
    "created_before": (WorkflowQuery(created_before=300), ALL[:3]),
    "created_between": (WorkflowQuery(created_after=200, created_before=400), ALL[1:4]),
    "completed_after": (WorkflowQuery(completed_after=250), ["wf-b", "wf-f"]),
    "completed_before": (WorkflowQuery(completed_before=150), ["wf-a"]),
    "dequeued_after": (WorkflowQuery(dequeued_after=310), ["wf-c"]),
    "dequeued_before": (WorkflowQuery(dequeued_before=110), ["wf-a"]),
    "queues_only": (WorkflowQuery(queues_only=True), ["wf-c", "wf-d", "wf-e"]),
    "queues_only_with_status": (
        WorkflowQuery(queues_only=True, statuses=(SUCCESS, ENQUEUED)),
        ["wf-a", "wf-d"],
    ),
    "was_forked_from": (WorkflowQuery(was_forked_from=True), ["wf-a"]),
    "not_was_forked_from": (WorkflowQuery(was_forked_from=False), ALL[1:]),
    "has_parent": (WorkflowQuery(has_parent=True), ["wf-b", "wf-c", "wf-f"]),
    "has_no_parent": (WorkflowQuery(has_parent=False), ["wf-a", "wf-d", "wf-e", "other-g"]),
    "combined": (WorkflowQuery(names=("f1",), statuses=(PENDING, DELAYED)), ["wf-c", "wf-e"]),
    "sort_desc": (WorkflowQuery(sort_desc=True), ALL[::-1]),
    "limit": (WorkflowQuery(limit=2), ALL[:2]),
    "limit_zero": (WorkflowQuery(limit=0), []),
    "offset": (WorkflowQuery(offset=5), ALL[5:]),
    "offset_limit": (WorkflowQuery(offset=2, limit=2), ALL[2:4]),
    "desc_limit": (WorkflowQuery(sort_desc=True, limit=2), ["other-g", "wf-f"]),
    "desc_offset_limit": (WorkflowQuery(sort_desc=True, offset=1, limit=2), ["wf-f", "wf-e"]),
    "filter_then_page": (WorkflowQuery(names=("f1",), offset=1, limit=1), ["wf-c"]),
}


@pytest.mark.parametrize(("query", "expected"), LIST_CASES.values(), ids=LIST_CASES.keys())
def test_list_workflows_filters(store: Store, query: WorkflowQuery, expected: list[str]) -> None:
    add(store, *reversed(LISTED))  # insertion order must not matter
    assert ids(store.list_workflows(query)) == expected


def test_list_workflows_returns_full_rows(store: Store) -> None:
    add(store, *LISTED)
    assert store.list_workflows(WorkflowQuery()) == LISTED


def test_list_workflows_load_flags(store: Store) -> None:
    add(store, *LISTED)
    no_input = store.list_workflows(WorkflowQuery(load_input=False))
    assert no_input == [attrs.evolve(r, inputs=None) for r in LISTED]
    no_output = store.list_workflows(WorkflowQuery(load_output=False))
    assert no_output == [attrs.evolve(r, output=None, error=None) for r in LISTED]


def test_list_workflows_breaks_created_at_ties_by_id(store: Store) -> None:
    add(store, wf("t3", created_at=5), wf("t1", created_at=5), wf("t2", created_at=5))
    add(store, wf("t0", created_at=6))
    assert ids(store.list_workflows(WorkflowQuery())) == ["t1", "t2", "t3", "t0"]
    assert ids(store.list_workflows(WorkflowQuery(sort_desc=True))) == ["t0", "t3", "t2", "t1"]
    assert ids(store.list_workflows(WorkflowQuery(offset=1, limit=2))) == ["t2", "t3"]


# --- pending / recovery / claim ------------------------------------------------------


def test_pending_workflow_ids(store: Store) -> None:
    add(
        store,
        wf("p1", executor_id="ex1", application_version="v1", created_at=300),
        wf("p2", executor_id="ex1", application_version="v2", created_at=100),
        wf("p3", executor_id="ex1", application_version="v1", created_at=200),
        wf("p4", executor_id="ex2", application_version="v1", created_at=50),
        wf("s1", SUCCESS, executor_id="ex1", application_version="v1", created_at=10),
        wf("q1", ENQUEUED, executor_id="ex1", application_version="v1", created_at=20),
    )
    assert store.pending_workflow_ids("ex1", None) == ["p2", "p3", "p1"]
    assert store.pending_workflow_ids("ex1", "v1") == ["p3", "p1"]
    assert store.pending_workflow_ids("ex2", None) == ["p4"]
    assert store.pending_workflow_ids("ex3", None) == []


def test_begin_recovery_counts_an_attempt(store: Store) -> None:
    before = wf("w1", executor_id="old", recovery_attempts=1, created_at=5)
    add(store, before)
    expected = attrs.evolve(before, recovery_attempts=2, executor_id="new", updated_at=77)
    assert store.begin_recovery("w1", "new", 77) == expected
    assert row(store, "w1") == expected
    assert store.begin_recovery("w1", "new", 78) is not None
    assert row(store, "w1").recovery_attempts == 3


@pytest.mark.parametrize("status", [ENQUEUED, DELAYED, SUCCESS, CANCELLED])
def test_begin_recovery_needs_pending(store: Store, status: str) -> None:
    before = wf("w1", status, recovery_attempts=1)
    add(store, before)
    assert store.begin_recovery("w1", "new", 77) is None
    assert row(store, "w1") == before
    assert store.begin_recovery("nope", "new", 77) is None


def test_claim_workflow_dequeues(store: Store) -> None:
    before = wf("w1", ENQUEUED, queue_name="q", workflow_timeout_ms=5000, created_at=1)
    add(store, before)
    claimed = store.claim_workflow("w1", "ex", "v9", 100)
    expected = attrs.evolve(
        before,
        status=PENDING,
        recovery_attempts=1,
        executor_id="ex",
        started_at_epoch_ms=100,
        updated_at=100,
        application_version="v9",
        workflow_deadline_epoch_ms=5100,
    )
    assert claimed == expected
    assert row(store, "w1") == expected


def test_claim_workflow_keeps_existing_version_and_deadline(store: Store) -> None:
    add(
        store,
        wf(
            "w1",
            ENQUEUED,
            application_version="v1",
            workflow_timeout_ms=5000,
            workflow_deadline_epoch_ms=42,
        ),
        wf("w2", ENQUEUED),
    )
    claimed = store.claim_workflow("w1", "ex", "v9", 100)
    assert claimed is not None
    assert (claimed.application_version, claimed.workflow_deadline_epoch_ms) == ("v1", 42)
    no_timeout = store.claim_workflow("w2", "ex", None, 100)
    assert no_timeout is not None
    assert no_timeout.workflow_deadline_epoch_ms is None
    assert no_timeout.application_version is None


@pytest.mark.parametrize("status", [PENDING, DELAYED, SUCCESS, CANCELLED])
def test_claim_workflow_needs_enqueued(store: Store, status: str) -> None:
    before = wf("w1", status)
    add(store, before)
    assert store.claim_workflow("w1", "ex", "v", 100) is None
    assert row(store, "w1") == before
    assert store.claim_workflow("nope", "ex", "v", 100) is None


def test_concurrent_claims_have_one_winner(store: Store) -> None:
    add(store, wf("w1", ENQUEUED))
    claims = run_threads(lambda i: store.claim_workflow("w1", f"ex{i}", None, 100), 4)
    winners = [c for c in claims if c is not None]
    assert len(winners) == 1
    assert row(store, "w1").executor_id == winners[0].executor_id
    assert row(store, "w1").recovery_attempts == 1


# --- dead letter / cancel / resume ---------------------------------------------------


def test_dead_letter(store: Store) -> None:
    add(
        store,
        wf("w1", queue_name="q", deduplication_id="d", started_at_epoch_ms=5, executor_id="e"),
    )
    assert store.dead_letter("w1", 50)
    got = row(store, "w1")
    assert got.status == DEAD
    assert (got.queue_name, got.deduplication_id, got.started_at_epoch_ms) == (None, None, None)
    assert (got.completed_at, got.updated_at, got.executor_id) == (50, 50, "e")


@pytest.mark.parametrize("status", [ENQUEUED, SUCCESS, CANCELLED, DEAD])
def test_dead_letter_needs_pending(store: Store, status: str) -> None:
    before = wf("w1", status, queue_name="q")
    add(store, before)
    assert not store.dead_letter("w1", 50)
    assert row(store, "w1") == before
    assert not store.dead_letter("nope", 50)


def test_cancel_workflows_cancels_active_and_skips_finished(store: Store) -> None:
    active = {
        "p": wf("p", PENDING, queue_name="q", deduplication_id="d1", started_at_epoch_ms=3),
        "e": wf("e", ENQUEUED, queue_name="q", deduplication_id="d2"),
        "d": wf("d", DELAYED, queue_name="q"),
    }
    finished = {
        s: wf(s, s, completed_at=9, queue_name="q") for s in (SUCCESS, ERROR, CANCELLED, DEAD)
    }
    add(store, *active.values(), *finished.values())
    cancelled = store.cancel_workflows(["p", "e", "d", *finished, "missing"], 60)
    assert sorted(cancelled) == ["d", "e", "p"]
    for workflow_id, before in active.items():
        assert row(store, workflow_id) == attrs.evolve(
            before,
            status=CANCELLED,
            queue_name=None,
            deduplication_id=None,
            started_at_epoch_ms=None,
            completed_at=60,
            updated_at=60,
        )
    for workflow_id, before in finished.items():
        assert row(store, workflow_id) == before


def test_cancel_twice_reports_once(store: Store) -> None:
    add(store, wf("w1"))
    assert store.cancel_workflows(["w1"], 5) == ["w1"]
    assert store.cancel_workflows(["w1"], 6) == []
    assert row(store, "w1").completed_at == 5


@pytest.mark.parametrize("status", [CANCELLED, DEAD, PENDING, ENQUEUED, DELAYED])
def test_resume_workflow_requeues(store: Store, status: str) -> None:
    before = wf(
        "w1",
        status,
        queue_name="old",
        recovery_attempts=4,
        workflow_timeout_ms=1000,
        workflow_deadline_epoch_ms=2000,
        deduplication_id="d",
        started_at_epoch_ms=30,
        completed_at=40,
        executor_id="ex",
    )
    add(store, before)
    expected = attrs.evolve(
        before,
        status=ENQUEUED,
        queue_name="internal",
        recovery_attempts=0,
        workflow_deadline_epoch_ms=None,
        deduplication_id=None,
        started_at_epoch_ms=None,
        completed_at=None,
        updated_at=90,
    )
    assert store.resume_workflow("w1", "internal", 90) == expected
    assert row(store, "w1") == expected


@pytest.mark.parametrize("status", [SUCCESS, ERROR])
def test_resume_finished_workflow_is_unchanged(store: Store, status: str) -> None:
    before = wf("w1", status, output="o", completed_at=40, recovery_attempts=2)
    add(store, before)
    assert store.resume_workflow("w1", "internal", 90) == before
    assert row(store, "w1") == before


def test_resume_missing_workflow_is_none(store: Store) -> None:
    assert store.resume_workflow("nope", "internal", 90) is None
    assert store.get_workflow("nope") is None


def test_resumed_workflow_can_be_claimed_and_checkpointed_again(store: Store) -> None:
    add(store, wf("w1"))
    store.record_checkpoint("w1", cp(1))
    store.cancel_workflows(["w1"], 5)
    store.resume_workflow("w1", "internal", 6)
    assert store.claim_workflow("w1", "ex", None, 7) is not None
    store.record_checkpoint("w1", cp(2))
    assert store.load_checkpoints("w1") == [cp(1), cp(2)]


# --- delete / descendants ------------------------------------------------------------


def populate(store: Store, workflow_id: str) -> None:
    """Give a workflow one of everything that can be attached to it."""
    store.record_checkpoint(workflow_id, cp(1))
    store.send_message(workflow_id, "t", "msg", message_id=f"mid-{workflow_id}", now_ms=1)
    store.send_message(workflow_id, None, "msg0", message_id=None, now_ms=2)
    store.set_event(workflow_id, "k", "v", 2, None)
    store.write_stream(workflow_id, "s", "x", 3, None)


def test_delete_workflows_cascades(store: Store) -> None:
    add(store, wf("gone"), wf("kept"))
    populate(store, "gone")
    populate(store, "kept")
    store.delete_workflows(["gone", "missing"])
    assert store.get_workflow("gone") is None
    assert store.load_checkpoints("gone") == []
    assert store.get_all_events("gone") == {}
    assert store.read_stream("gone", "s", 0) == StreamRead(None, None)
    # Recreate the id: nothing of the old workflow may come back with it.
    add(store, wf("gone"))
    assert store.load_checkpoints("gone") == []
    assert store.get_event("gone", "k") is None
    assert store.read_stream("gone", "s", 0) == StreamRead(None, PENDING)
    assert store.consume_message("gone", "t", cp(5)) is None
    assert store.consume_message("gone", None, cp(5)) is None
    assert store.send_message("gone", "t", "again", message_id="mid-gone", now_ms=3)
    # The other workflow keeps everything.
    assert store.load_checkpoints("kept") == [cp(1)]
    assert store.get_all_events("kept") == {"k": "v"}
    assert store.read_stream("kept", "s", 0).value == "x"
    assert store.consume_message("kept", "t", cp(5)) == "msg"


def test_delete_nothing_is_harmless(store: Store) -> None:
    add(store, wf("w1"))
    store.delete_workflows([])
    store.delete_workflows(["missing"])
    assert ids(store.list_workflows(WorkflowQuery())) == ["w1"]


def assert_parents_first(store: Store, found: list[str]) -> None:
    for position, workflow_id in enumerate(found):
        parent = row(store, workflow_id).parent_workflow_id
        if parent in found:
            assert found.index(parent) < position, (parent, workflow_id, found)


def test_descendants_walks_the_tree(store: Store) -> None:
    add(
        store,
        wf("root", created_at=1),
        wf("c1", parent_workflow_id="root", created_at=2),
        wf("c2", parent_workflow_id="root", created_at=3),
        wf("g1", parent_workflow_id="c1", created_at=4),
        wf("g2", parent_workflow_id="c2", created_at=5),
        wf("gg1", parent_workflow_id="g1", created_at=6),
        wf("other", created_at=7),
        wf("other-kid", parent_workflow_id="other", created_at=8),
    )
    found = store.descendants(["root"])
    assert sorted(found) == ["c1", "c2", "g1", "g2", "gg1"]
    assert len(found) == len(set(found))
    assert_parents_first(store, found)
    assert store.descendants(["c1"]) == ["g1", "gg1"]
    assert store.descendants(["gg1"]) == []
    assert store.descendants(["missing"]) == []
    assert store.descendants([]) == []
    both = store.descendants(["root", "c1"])
    assert sorted(both) == ["c2", "g1", "g2", "gg1"]
    assert_parents_first(store, both)
    assert sorted(store.descendants(["c2", "other"])) == ["g2", "other-kid"]


# --- fork ----------------------------------------------------------------------------


def forked(new_id: str, original: str) -> WorkflowRecord:
    return wf(new_id, ENQUEUED, queue_name="internal", forked_from=original, created_at=5000)


def test_fork_copies_history_below_start_step(store: Store) -> None:
    original = wf("orig", created_at=10)
    add(store, original)
    for fid in (1, 2, 3, 4):
        store.record_checkpoint("orig", cp(fid, args_digest=f"digest-{fid}"))
    store.set_event("orig", "k1", "v1", 1, None)
    store.set_event("orig", "k2", "x", 2, None)
    store.set_event("orig", "k1", "v2", 3, None)
    store.set_event("orig", "k3", "late", 4, None)
    assert store.write_stream("orig", "s", "a", 1, None) == 0
    assert store.write_stream("orig", "s", "b", 2, None) == 1
    assert store.write_stream("orig", "s", "c", 3, None) == 2
    assert store.write_stream("orig", "t", "z", 4, None) == 0
    store.send_message("orig", None, "for-orig", message_id=None, now_ms=1)

    new = forked("fork", "orig")
    store.fork_workflow("orig", new, 3)

    assert row(store, "fork") == new
    assert row(store, "orig") == attrs.evolve(original, was_forked_from=True)
    assert store.load_checkpoints("fork") == [
        cp(1, args_digest="digest-1"),
        cp(2, args_digest="digest-2"),
    ]
    assert store.get_all_events("fork") == {"k1": "v1", "k2": "x"}
    assert store.get_event("fork", "k3") is None
    assert [store.read_stream("fork", "s", i).value for i in range(3)] == ["a", "b", None]
    assert store.read_stream("fork", "t", 0).value is None
    assert store.read_stream("fork", "s", 0).workflow_status == ENQUEUED
    # Messages stay with the original.
    assert store.claim_workflow("fork", "ex", None, 6000) is not None
    assert store.consume_message("fork", None, cp(3)) is None
    assert store.consume_message("orig", None, cp(5)) == "for-orig"
    # The original keeps all of its history.
    assert [c.function_id for c in store.load_checkpoints("orig")] == [1, 2, 3, 4, 5]
    assert store.get_all_events("orig") == {"k1": "v2", "k2": "x", "k3": "late"}
    assert store.read_stream("orig", "s", 2).value == "c"


def test_fork_rebuilds_latest_events_from_history(store: Store) -> None:
    add(store, wf("orig"))
    store.set_event("orig", "k", "at-1", 1, None)
    store.set_event("orig", "k", "at-2", 2, None)
    store.set_event("orig", "k", "at-2-again", 2, None)  # overwrites the history entry
    store.set_event("orig", "k", "at-5", 5, None)
    store.fork_workflow("orig", forked("f3", "orig"), 3)
    store.fork_workflow("orig", forked("f2", "orig"), 2)
    store.fork_workflow("orig", forked("f9", "orig"), 9)
    assert store.get_event("f3", "k") == "at-2-again"
    assert store.get_event("f2", "k") == "at-1"
    assert store.get_event("f9", "k") == "at-5"
    assert store.get_event("orig", "k") == "at-5"


def test_fork_of_a_fork_copies_the_copied_history(store: Store) -> None:
    add(store, wf("orig"))
    store.record_checkpoint("orig", cp(1))
    store.record_checkpoint("orig", cp(2))
    store.set_event("orig", "k", "v", 1, None)
    store.fork_workflow("orig", forked("f1", "orig"), 3)
    store.fork_workflow("f1", forked("f2", "f1"), 2)
    assert store.load_checkpoints("f2") == [cp(1)]
    assert store.get_all_events("f2") == {"k": "v"}
    assert row(store, "f1").was_forked_from
    assert row(store, "f2").forked_from == "f1"


def test_fork_from_step_one_copies_nothing(store: Store) -> None:
    add(store, wf("orig"))
    store.record_checkpoint("orig", cp(1))
    store.set_event("orig", "k", "v", 1, None)
    store.write_stream("orig", "s", "a", 1, None)
    store.fork_workflow("orig", forked("fork", "orig"), 1)
    assert store.load_checkpoints("fork") == []
    assert store.get_all_events("fork") == {}
    assert store.read_stream("fork", "s", 0).value is None


def test_fork_missing_original_raises_and_writes_nothing(store: Store) -> None:
    with pytest.raises(DBOSNonExistentWorkflowError):
        store.fork_workflow("nope", forked("fork", "nope"), 1)
    assert store.get_workflow("fork") is None


def test_forked_stream_continues_after_copied_offsets(store: Store) -> None:
    add(store, wf("orig"))
    store.write_stream("orig", "s", "a", 1, None)
    store.write_stream("orig", "s", "b", 2, None)
    store.fork_workflow("orig", forked("fork", "orig"), 2)
    assert store.write_stream("fork", "s", "b2", 2, None) == 1
    assert store.read_stream("fork", "s", 1).value == "b2"


# --- messages ------------------------------------------------------------------------


def test_send_then_consume(store: Store) -> None:
    add(store, wf("dest"))
    assert store.send_message("dest", "t", "hello", message_id=None, now_ms=1)
    assert store.consume_message("dest", "t", cp(1)) == "hello"


def test_send_is_idempotent_on_message_id(store: Store) -> None:
    add(store, wf("dest"))
    assert store.send_message("dest", "t", "m", message_id="id-1", now_ms=1)
    assert not store.send_message("dest", "t", "m", message_id="id-1", now_ms=2)
    assert store.send_message("dest", "t", "m2", message_id="id-2", now_ms=3)
    assert store.consume_message("dest", "t", cp(1)) == "m"
    assert store.consume_message("dest", "t", cp(2)) == "m2"
    assert store.consume_message("dest", "t", cp(3)) is None


def test_send_without_message_id_delivers_every_copy(store: Store) -> None:
    add(store, wf("dest"))
    assert store.send_message("dest", None, "m", message_id=None, now_ms=1)
    assert store.send_message("dest", None, "m", message_id=None, now_ms=2)
    assert store.consume_message("dest", None, cp(1)) == "m"
    assert store.consume_message("dest", None, cp(2)) == "m"


def test_send_to_missing_destination_raises_and_writes_nothing(store: Store) -> None:
    add(store, wf("sender"))
    with pytest.raises(DBOSNonExistentWorkflowError):
        store.send_message(
            "nope", None, "m", message_id="mid", now_ms=1, checkpoint=("sender", cp(1))
        )
    assert store.load_checkpoints("sender") == []
    # The id was not taken by the failed send.
    add(store, wf("nope"))
    assert store.send_message("nope", None, "m", message_id="mid", now_ms=2)


def test_send_records_the_sender_checkpoint(store: Store) -> None:
    add(store, wf("sender"), wf("dest"))
    assert store.send_message(
        "dest", "t", "m", message_id="mid", now_ms=1, checkpoint=("sender", cp(1, "DBOS.send"))
    )
    assert store.load_checkpoints("sender") == [cp(1, "DBOS.send")]
    assert store.load_checkpoints("dest") == []
    assert store.consume_message("dest", "t", cp(1)) == "m"


def test_send_with_conflicting_checkpoint_sends_nothing(store: Store) -> None:
    add(store, wf("sender"), wf("dest"))
    store.record_checkpoint("sender", cp(1, output="first"))
    with pytest.raises(CheckpointConflict):
        store.send_message(
            "dest", "t", "m", message_id="mid", now_ms=1, checkpoint=("sender", cp(1))
        )
    assert store.load_checkpoints("sender") == [cp(1, output="first")]
    assert store.consume_message("dest", "t", cp(1)) is None
    assert store.send_message("dest", "t", "m", message_id="mid", now_ms=2)


def test_send_from_cancelled_sender_sends_nothing(store: Store) -> None:
    add(store, wf("sender", CANCELLED), wf("dest"))
    with pytest.raises(WorkflowNotPending):
        store.send_message(
            "dest", "t", "m", message_id=None, now_ms=1, checkpoint=("sender", cp(1))
        )
    assert store.load_checkpoints("sender") == []
    assert store.consume_message("dest", "t", cp(1)) is None


def test_send_messages_inserts_all_in_order(store: Store) -> None:
    add(store, wf("a"), wf("b"))
    sent = [
        OutgoingMessage("a", "t", "a1"),
        OutgoingMessage("b", None, "b1"),
        OutgoingMessage("a", "t", "a2", "mid-a2"),
        OutgoingMessage("a", "t", "a3"),
    ]
    assert store.send_messages(sent, now_ms=1) == [True, True, True, True]
    assert [store.consume_message("a", "t", cp(i)) for i in (1, 2, 3, 4)] == [
        "a1",
        "a2",
        "a3",
        None,
    ]
    assert store.consume_message("b", None, cp(1)) == "b1"


def test_send_messages_skips_an_existing_message_id(store: Store) -> None:
    add(store, wf("dest"))
    assert store.send_message("dest", "t", "old", message_id="mid", now_ms=1)
    sent = [
        OutgoingMessage("dest", "t", "new", "mid"),
        OutgoingMessage("dest", "t", "m2", "mid-2"),
        OutgoingMessage("dest", "t", "again", "mid-2"),
    ]
    assert store.send_messages(sent, now_ms=2) == [False, True, False]
    assert store.consume_message("dest", "t", cp(1)) == "old"
    assert store.consume_message("dest", "t", cp(2)) == "m2"
    assert store.consume_message("dest", "t", cp(3)) is None


def test_send_messages_to_missing_destinations_writes_nothing(store: Store) -> None:
    add(store, wf("sender"), wf("dest"))
    sent = [
        OutgoingMessage("dest", "t", "m", "mid"),
        OutgoingMessage("zed", "t", "m"),
        OutgoingMessage("nope", None, "m"),
        OutgoingMessage("zed", None, "m"),
    ]
    with pytest.raises(DBOSNonExistentWorkflowError) as info:
        store.send_messages(sent, now_ms=1, checkpoint=("sender", cp(1)))
    assert info.value.workflow_id == "nope, zed"
    assert store.load_checkpoints("sender") == []
    assert not store.has_message("dest", "t")
    # The id was not taken by the failed send.
    assert store.send_message("dest", "t", "m", message_id="mid", now_ms=2)


def test_send_messages_records_the_sender_checkpoint(store: Store) -> None:
    add(store, wf("sender"), wf("dest"))
    sent = [OutgoingMessage("dest", "t", "m")]
    checkpoint = ("sender", cp(1, "DBOS.send_bulk"))
    assert store.send_messages(sent, now_ms=1, checkpoint=checkpoint) == [True]
    assert store.load_checkpoints("sender") == [cp(1, "DBOS.send_bulk")]
    assert store.consume_message("dest", "t", cp(1)) == "m"


def test_send_messages_of_none_records_only_the_checkpoint(store: Store) -> None:
    add(store, wf("sender"))
    assert store.send_messages([], now_ms=1, checkpoint=("sender", cp(1))) == []
    assert store.load_checkpoints("sender") == [cp(1)]
    assert store.send_messages([], now_ms=2) == []


def test_send_messages_from_cancelled_sender_sends_nothing(store: Store) -> None:
    add(store, wf("sender", CANCELLED), wf("dest"))
    with pytest.raises(WorkflowNotPending):
        store.send_messages(
            [OutgoingMessage("dest", "t", "m")], now_ms=1, checkpoint=("sender", cp(1))
        )
    assert store.load_checkpoints("sender") == []
    assert not store.has_message("dest", "t")


def test_send_messages_with_conflicting_checkpoint_sends_nothing(store: Store) -> None:
    add(store, wf("sender"), wf("dest"))
    store.record_checkpoint("sender", cp(1, output="first"))
    with pytest.raises(CheckpointConflict):
        store.send_messages(
            [OutgoingMessage("dest", "t", "m")], now_ms=1, checkpoint=("sender", cp(1))
        )
    assert store.load_checkpoints("sender") == [cp(1, output="first")]
    assert not store.has_message("dest", "t")


def test_send_to_finished_workflow_is_accepted(store: Store) -> None:
    add(store, wf("dest", SUCCESS))
    assert store.send_message("dest", None, "late", message_id=None, now_ms=1)


def test_consume_is_fifo_per_topic(store: Store) -> None:
    add(store, wf("w1"))
    store.send_message("w1", "t", "t1", message_id=None, now_ms=1)
    store.send_message("w1", None, "n1", message_id=None, now_ms=2)
    store.send_message("w1", "u", "u1", message_id=None, now_ms=3)
    store.send_message("w1", "t", "t2", message_id=None, now_ms=4)
    store.send_message("w1", None, "n2", message_id=None, now_ms=5)
    store.send_message("w1", "t", "t3", message_id=None, now_ms=6)
    got = [
        store.consume_message("w1", None, cp(1)),
        store.consume_message("w1", "t", cp(2)),
        store.consume_message("w1", "t", cp(3)),
        store.consume_message("w1", None, cp(4)),
        store.consume_message("w1", "t", cp(5)),
        store.consume_message("w1", "u", cp(6)),
        store.consume_message("w1", "t", cp(7)),
        store.consume_message("w1", None, cp(8)),
        store.consume_message("w1", "u", cp(9)),
    ]
    assert got == ["n1", "t1", "t2", "n2", "t3", "u1", None, None, None]


def test_consume_is_fifo_with_equal_timestamps(store: Store) -> None:
    add(store, wf("w1"))
    for message in ("a", "b", "c"):
        store.send_message("w1", "t", message, message_id=None, now_ms=7)
    got = [store.consume_message("w1", "t", cp(fid)) for fid in (1, 2, 3)]
    assert got == ["a", "b", "c"]


def test_consume_is_per_destination(store: Store) -> None:
    add(store, wf("w1"), wf("w2"))
    store.send_message("w1", "t", "for-1", message_id=None, now_ms=1)
    assert store.consume_message("w2", "t", cp(1)) is None
    assert store.load_checkpoints("w2") == []
    assert store.consume_message("w1", "t", cp(1)) == "for-1"


def test_consume_records_the_message_as_checkpoint_output(store: Store) -> None:
    add(store, wf("w1"))
    store.send_message("w1", "t", "payload", message_id=None, now_ms=1)
    given = Checkpoint(function_id=4, function_name="DBOS.recv", started_at_epoch_ms=3)
    assert store.consume_message("w1", "t", given) == "payload"
    assert store.load_checkpoints("w1") == [attrs.evolve(given, output="payload")]


def test_consume_nothing_writes_nothing(store: Store) -> None:
    add(store, wf("w1"))
    store.send_message("w1", "other", "m", message_id=None, now_ms=1)
    assert store.consume_message("w1", "t", cp(1)) is None
    assert store.consume_message("w1", None, cp(1)) is None
    assert store.load_checkpoints("w1") == []
    store.record_checkpoint("w1", cp(1))  # the position is still free


def test_consume_with_conflicting_checkpoint_keeps_the_message(store: Store) -> None:
    add(store, wf("w1"))
    store.record_checkpoint("w1", cp(1, output="first"))
    store.send_message("w1", "t", "m", message_id=None, now_ms=1)
    with pytest.raises(CheckpointConflict):
        store.consume_message("w1", "t", cp(1))
    assert store.load_checkpoints("w1") == [cp(1, output="first")]
    assert store.consume_message("w1", "t", cp(2)) == "m"


def test_consume_in_cancelled_workflow_keeps_the_message(store: Store) -> None:
    add(store, wf("w1"))
    store.send_message("w1", "t", "m", message_id=None, now_ms=1)
    store.cancel_workflows(["w1"], 2)
    with pytest.raises(WorkflowNotPending):
        store.consume_message("w1", "t", cp(1))
    assert store.load_checkpoints("w1") == []
    store.resume_workflow("w1", "internal", 3)
    store.claim_workflow("w1", "ex", None, 4)
    assert store.consume_message("w1", "t", cp(1)) == "m"


def test_concurrent_consumers_take_each_message_once(store: Store) -> None:
    add(store, wf("w1"))
    messages = [f"m{i}" for i in range(12)]
    for i, message in enumerate(messages):
        store.send_message("w1", "t", message, message_id=None, now_ms=i)

    def consume(worker: int) -> list[str]:
        taken = []
        for n in range(len(messages)):
            # Distinct positions per worker: only the message itself is contended.
            got = store.consume_message("w1", "t", cp(1000 * (worker + 1) + n))
            if got is not None:
                taken.append(got)
        return taken

    taken = [m for batch in run_threads(consume, 3) for m in batch]
    assert sorted(taken) == sorted(messages)


# --- events --------------------------------------------------------------------------


def test_set_event_latest_wins(store: Store) -> None:
    add(store, wf("w1"), wf("w2"))
    store.set_event("w1", "k", "v1", 1, None)
    store.set_event("w1", "k", "v2", 2, None)
    store.set_event("w1", "other", "o", 3, None)
    store.set_event("w2", "k", "w2-value", 1, None)
    assert store.get_event("w1", "k") == "v2"
    assert store.get_all_events("w1") == {"k": "v2", "other": "o"}
    assert store.get_all_events("w2") == {"k": "w2-value"}


def test_get_event_never_set_is_none(store: Store) -> None:
    add(store, wf("w1"))
    assert store.get_event("w1", "k") is None
    assert store.get_event("nope", "k") is None
    assert store.get_all_events("w1") == {}
    assert store.get_all_events("nope") == {}


def test_set_event_on_missing_workflow_raises(store: Store) -> None:
    with pytest.raises(DBOSNonExistentWorkflowError):
        store.set_event("nope", "k", "v", 1, None)
    assert store.get_event("nope", "k") is None


def test_set_event_records_checkpoint(store: Store) -> None:
    add(store, wf("w1"))
    store.set_event("w1", "k", "v", 1, cp(1, "DBOS.setEvent", output=None))
    assert store.load_checkpoints("w1") == [cp(1, "DBOS.setEvent", output=None)]
    assert store.get_event("w1", "k") == "v"


def test_set_event_with_conflicting_checkpoint_sets_nothing(store: Store) -> None:
    add(store, wf("w1"))
    store.record_checkpoint("w1", cp(1, output="first"))
    with pytest.raises(CheckpointConflict):
        store.set_event("w1", "k", "v", 1, cp(1))
    assert store.get_event("w1", "k") is None
    assert store.load_checkpoints("w1") == [cp(1, output="first")]
    # Nor did it write history a fork could pick up.
    store.fork_workflow("w1", forked("fork", "w1"), 10)
    assert store.get_all_events("fork") == {}


def test_set_event_in_cancelled_workflow_with_checkpoint_sets_nothing(store: Store) -> None:
    add(store, wf("w1", CANCELLED))
    with pytest.raises(WorkflowNotPending):
        store.set_event("w1", "k", "v", 1, cp(1))
    assert store.get_event("w1", "k") is None


# --- streams -------------------------------------------------------------------------


def test_write_stream_offsets_count_per_key(store: Store) -> None:
    add(store, wf("w1"), wf("w2"))
    assert [store.write_stream("w1", "s", v, i, None) for i, v in enumerate("abc", 1)] == [0, 1, 2]
    assert store.write_stream("w1", "other", "x", 4, None) == 0
    assert store.write_stream("w2", "s", "y", 1, None) == 0
    assert [store.read_stream("w1", "s", i).value for i in range(4)] == ["a", "b", "c", None]
    assert store.read_stream("w1", "other", 0).value == "x"
    assert store.read_stream("w2", "s", 0).value == "y"


def test_read_stream_reports_status(store: Store) -> None:
    add(store, wf("w1"))
    store.write_stream("w1", "s", "a", 1, None)
    assert store.read_stream("w1", "s", 0) == StreamRead("a", PENDING)
    assert store.read_stream("w1", "s", 1) == StreamRead(None, PENDING)
    store.finish_workflow("w1", status=SUCCESS, output=None, error=None, now_ms=5)
    assert store.read_stream("w1", "s", 0) == StreamRead("a", SUCCESS)
    assert store.read_stream("w1", "missing-key", 0) == StreamRead(None, SUCCESS)
    assert store.read_stream("nope", "s", 0) == StreamRead(None, None)


def test_read_stream_returns_a_run_of_values_up_to_the_limit(store: Store) -> None:
    add(store, wf("w1"))
    for i, v in enumerate("abcde", 1):
        store.write_stream("w1", "s", v, i, None)
    store.write_stream("w1", "t", "other key", 6, None)
    assert store.read_stream("w1", "s", 1, 3) == StreamRead("b", PENDING, ("c", "d"))
    assert store.read_stream("w1", "s", 3, 100) == StreamRead("d", PENDING, ("e",))
    assert store.read_stream("w1", "s", 5, 100) == StreamRead(None, PENDING)
    assert store.read_stream("nope", "s", 0, 10) == StreamRead(None, None)


def test_write_stream_on_missing_workflow_raises(store: Store) -> None:
    with pytest.raises(DBOSNonExistentWorkflowError):
        store.write_stream("nope", "s", "a", 1, None)
    assert store.read_stream("nope", "s", 0) == StreamRead(None, None)


def test_write_stream_records_checkpoint(store: Store) -> None:
    add(store, wf("w1"))
    assert store.write_stream("w1", "s", "a", 1, cp(1, "DBOS.writeStream", output=None)) == 0
    assert store.load_checkpoints("w1") == [cp(1, "DBOS.writeStream", output=None)]


def test_write_stream_with_conflicting_checkpoint_writes_nothing(store: Store) -> None:
    add(store, wf("w1"))
    store.record_checkpoint("w1", cp(1, output="first"))
    with pytest.raises(CheckpointConflict):
        store.write_stream("w1", "s", "a", 1, cp(1))
    assert store.read_stream("w1", "s", 0).value is None
    assert store.write_stream("w1", "s", "b", 2, None) == 0


def test_write_stream_in_cancelled_workflow_with_checkpoint_writes_nothing(
    store: Store,
) -> None:
    add(store, wf("w1", CANCELLED))
    with pytest.raises(WorkflowNotPending):
        store.write_stream("w1", "s", "a", 1, cp(1))
    assert store.read_stream("w1", "s", 0).value is None
    assert store.load_checkpoints("w1") == []


def test_write_stream_after_cancel_at_a_recorded_function_id_writes_nothing(
    store: Store,
) -> None:
    """A checkpoint already at that function id does not let the value in once the
    workflow is no longer PENDING."""
    add(store, wf("w1"))
    store.record_checkpoint("w1", cp(1, "DBOS.writeStream", output=None))
    store.cancel_workflows(["w1"], 5)
    with pytest.raises(WorkflowNotPending):
        store.write_stream("w1", "s", "a", 1, cp(1, "DBOS.writeStream", output=None))
    assert store.read_stream("w1", "s", 0).value is None
    assert store.load_checkpoints("w1") == [cp(1, "DBOS.writeStream", output=None)]


def test_write_stream_with_checkpoint_on_missing_workflow_raises(store: Store) -> None:
    with pytest.raises(DBOSNonExistentWorkflowError):
        store.write_stream("nope", "s", "a", 1, cp(1))
    assert store.read_stream("nope", "s", 0) == StreamRead(None, None)


def test_concurrent_checkpointed_stream_writes_get_distinct_offsets(store: Store) -> None:
    """Writers racing for one offset: the loser runs again, checkpoint included, and
    each value keeps its own checkpoint."""
    add(store, wf("w1"))
    offsets = run_threads(
        lambda i: [
            store.write_stream("w1", "s", f"{i}-{n}", 10 * i + n, cp(10 * i + n)) for n in range(5)
        ],
        4,
    )
    assert sorted(o for batch in offsets for o in batch) == list(range(20))
    assert len(store.load_checkpoints("w1")) == 20


def test_concurrent_stream_writes_get_distinct_offsets(store: Store) -> None:
    add(store, wf("w1"))
    offsets = run_threads(
        lambda i: [store.write_stream("w1", "s", f"{i}-{n}", 1, None) for n in range(5)], 4
    )
    assert sorted(o for batch in offsets for o in batch) == list(range(20))


# --- memory store specifics ----------------------------------------------------------


def test_memory_named_store_is_shared_per_name() -> None:
    first = MemoryStore.named("conformance-shared")
    first.reset()
    first.insert_workflow(wf("w1"))
    again = MemoryStore.named("conformance-shared")
    assert again is first
    assert again.get_workflow("w1") is not None
    assert MemoryStore.named("conformance-other").get_workflow("w1") is None
    assert MemoryStore().get_workflow("w1") is None
    first.reset()


def test_memory_store_does_not_push_notifications() -> None:
    assert MemoryStore().subscribe(lambda key: None) is False


def test_memory_store_satisfies_the_protocol() -> None:
    store: Store = MemoryStore()  # checked by mypy
    store.migrate()
    store.close()


# --- recovery in bulk ----------------------------------------------------------------


def test_begin_recovery_many_claims_pending_rows_in_the_given_order(store: Store) -> None:
    rows = [wf(f"w{i}", executor_id="old", recovery_attempts=1, created_at=i) for i in range(4)]
    add(store, *rows, wf("done", SUCCESS), wf("queued", ENQUEUED), wf("gone", CANCELLED))
    asked = ["w2", "done", "nope", "w0", "queued", "w3", "gone", "w2", "w1"]
    claimed = store.begin_recovery_many(asked, "new", 77)
    expected = [
        attrs.evolve(rows[i], recovery_attempts=2, executor_id="new", updated_at=77)
        for i in (2, 0, 3, 1)
    ]
    assert claimed == expected  # a repeated id is claimed once
    for record in expected:
        assert row(store, record.workflow_id) == record
    assert row(store, "done") == wf("done", SUCCESS)
    assert row(store, "queued") == wf("queued", ENQUEUED)
    assert row(store, "gone") == wf("gone", CANCELLED)
    assert store.begin_recovery_many([], "new", 78) == []


def test_begin_recovery_many_matches_begin_recovery_beyond_one_statement(store: Store) -> None:
    # More ids than one SQL statement binds (backend.IDS_PER_STATEMENT).
    many = [f"w{i:04}" for i in range(1203)]
    add(store, *(wf(i) for i in many[::2]))
    claimed = store.begin_recovery_many(many, "ex", 5)
    assert ids(claimed) == many[::2]
    assert {r.recovery_attempts for r in claimed} == {1}
    assert store.begin_recovery(many[0], "ex", 6) is not None
    assert row(store, many[0]).recovery_attempts == 2


def test_load_checkpoints_many_keys_every_id(store: Store) -> None:
    add(store, wf("a"), wf("b"), wf("c"))
    for workflow_id, positions in (("a", (3, 1, 2)), ("c", (2,))):
        for function_id in positions:
            store.record_checkpoint(
                workflow_id, cp(function_id, output=f"{workflow_id}{function_id}")
            )
    logs = store.load_checkpoints_many(["c", "a", "b", "missing"])
    assert logs == {
        "a": store.load_checkpoints("a"),
        "b": [],
        "c": store.load_checkpoints("c"),
        "missing": [],
    }
    assert [c.function_id for c in logs["a"]] == [1, 2, 3]
    assert store.load_checkpoints_many([]) == {}


def test_load_checkpoints_many_beyond_one_statement(store: Store) -> None:
    many = [f"w{i:04}" for i in range(1003)]
    add(store, *(wf(i) for i in many))
    for workflow_id in many[::100]:
        store.record_checkpoint(workflow_id, cp(1))
    logs = store.load_checkpoints_many(many)
    assert list(logs) == many
    assert {i for i, log in logs.items() if log} == set(many[::100])


@pytest.mark.parametrize(("query", "expected"), LIST_CASES.values(), ids=LIST_CASES.keys())
def test_count_workflows_counts_what_the_filters_list_by_status(
    store: Store, query: WorkflowQuery, expected: list[str]
) -> None:
    add(store, *LISTED)
    unpaged = attrs.evolve(query, limit=None, offset=None)
    listed = store.list_workflows(unpaged)
    assert store.count_workflows(query) == collections.Counter(r.status for r in listed)
    assert sum(store.count_workflows(query).values()) == len(listed)


# --- queue and schedule definitions ----------------------------------------------------


def test_queue_rows_insert_replace_update_delete(store: Store) -> None:
    from transact._store.records import QueueRecord

    first = QueueRecord(
        name="q",
        concurrency=5,
        rate_limit_max=3,
        rate_limit_period_sec=1.5,
        partition_concurrency=2,
        created_at=10,
        updated_at=10,
    )
    assert store.put_queue(first, replace=False) == first
    kept = store.put_queue(attrs.evolve(first, concurrency=9, updated_at=20), replace=False)
    assert kept == first
    replaced = store.put_queue(
        attrs.evolve(first, concurrency=9, created_at=20, updated_at=20), replace=True
    )
    assert replaced == attrs.evolve(first, concurrency=9, updated_at=20)  # created_at kept
    assert store.get_queue("q") == replaced
    updated = store.update_queue("q", {"worker_concurrency": 4, "partition_queue": True}, 30)
    assert updated == attrs.evolve(
        replaced, worker_concurrency=4, partition_queue=True, updated_at=30
    )
    assert store.update_queue("missing", {"concurrency": 1}, 30) is None
    with pytest.raises(ValueError):
        store.update_queue("q", {"name": "other"}, 30)
    store.put_queue(QueueRecord(name="a", created_at=1, updated_at=1), replace=False)
    assert [q.name for q in store.list_queues()] == ["a", "q"]
    assert store.delete_queue("q")
    assert not store.delete_queue("q")
    assert store.get_queue("q") is None
    store.reset()
    assert store.list_queues() == []


def test_schedule_rows(store: Store) -> None:
    from transact._store.records import ScheduleRecord

    one = ScheduleRecord(
        schedule_id="id-1",
        schedule_name="nightly",
        workflow_name="fn",
        schedule="0 0 * * *",
        context="ctx",
        cron_timezone="Europe/Paris",
        automatic_backfill=True,
    )
    assert store.create_schedule(one)
    assert not store.create_schedule(attrs.evolve(one, schedule_id="id-2"))
    assert store.get_schedule("nightly") == one
    assert store.set_schedule_status("nightly", "PAUSED")
    assert not store.set_schedule_status("missing", "PAUSED")
    store.schedule_fired("nightly", "2026-01-02T00:00:00.000000+00:00")
    store.schedule_fired("nightly", "2026-01-01T00:00:00.000000+00:00")  # not backwards
    # An upsert keeps the id, status and last firing; a new name is inserted.
    changed = attrs.evolve(one, schedule_id="id-3", schedule="* * * * *", context="new")
    other = ScheduleRecord(
        schedule_id="id-4",
        schedule_name="hourly",
        workflow_name="g",
        schedule="0 * * * *",
        context="c",
    )
    store.apply_schedules([changed, other])
    got = store.get_schedule("nightly")
    assert got == attrs.evolve(
        changed,
        schedule_id="id-1",
        status="PAUSED",
        last_fired_at="2026-01-02T00:00:00.000000+00:00",
    )
    assert [s.schedule_name for s in store.list_schedules()] == ["hourly", "nightly"]
    assert [s.schedule_name for s in store.list_schedules(statuses=["ACTIVE"])] == ["hourly"]
    assert [s.schedule_name for s in store.list_schedules(workflow_names=["fn"])] == ["nightly"]
    assert [s.schedule_name for s in store.list_schedules(name_prefixes=["ho", "x"])] == ["hourly"]
    assert store.delete_schedule("hourly")
    assert not store.delete_schedule("hourly")
    store.reset()
    assert store.list_schedules() == []


def test_schedule_name_is_stored_and_filtered(store: Store) -> None:
    add(store, wf("a", schedule_name="s1"), wf("b", schedule_name="s2"), wf("c"))
    assert row(store, "a").schedule_name == "s1"
    assert ids(store.list_workflows(WorkflowQuery(schedule_names=("s1", "x")))) == ["a"]


def test_update_delayed_changes_only_delayed_rows(store: Store) -> None:
    add(
        store,
        wf("d", DELAYED, queue_name="q", delay_until_epoch_ms=5000),
        wf("e", ENQUEUED, queue_name="q"),
    )
    assert store.update_delayed("d", delay_until_epoch_ms=9000, inputs="new", now_ms=2000)
    got = row(store, "d")
    assert (got.delay_until_epoch_ms, got.inputs, got.updated_at) == (9000, "new", 2000)
    assert store.update_delayed("d", delay_until_epoch_ms=100, inputs=None, now_ms=2001)
    assert row(store, "d").inputs == "new"
    assert not store.update_delayed("e", delay_until_epoch_ms=1, inputs=None, now_ms=2002)
    assert not store.update_delayed("x", delay_until_epoch_ms=1, inputs=None, now_ms=2002)
    assert row(store, "e").delay_until_epoch_ms is None


def test_bounce_debounced_and_release_gives_the_key_back(store: Store) -> None:
    from transact._core.queue_policy import QueueLimits

    add(
        store,
        wf(
            "deb",
            DELAYED,
            queue_name="q",
            deduplication_id="fn-k",
            is_debounced=True,
            delay_until_epoch_ms=3000,
            debounce_deadline_epoch_ms=5000,
        ),
        wf("plain", DELAYED, queue_name="q", deduplication_id="fn-p", delay_until_epoch_ms=3000),
    )
    bounce = store.bounce_debounced
    assert bounce("fn", "q", "fn-k", delay_until_epoch_ms=4000, inputs="i2", now_ms=2000) == "deb"
    assert (row(store, "deb").delay_until_epoch_ms, row(store, "deb").inputs) == (4000, "i2")
    # Never past the deadline.
    assert bounce("fn", "q", "fn-k", delay_until_epoch_ms=9000, inputs="i3", now_ms=2100) == "deb"
    assert row(store, "deb").delay_until_epoch_ms == 5000
    # Another name, queue or a row that is not debounced: nothing.
    assert bounce("other", "q", "fn-k", delay_until_epoch_ms=1, inputs="x", now_ms=2200) is None
    assert bounce("fn", "q2", "fn-k", delay_until_epoch_ms=1, inputs="x", now_ms=2200) is None
    assert bounce("fn", "q", "fn-p", delay_until_epoch_ms=1, inputs="x", now_ms=2200) is None
    # Released: the debounced row gives its key back, the plain one keeps it.
    claimed = store.claim_queued(
        "q",
        executor_id="e",
        application_version=None,
        limits=QueueLimits(),
        local_running=0,
        partition_key=None,
        max_claims=None,
        now_ms=6000,
    )
    assert sorted(ids(claimed)) == ["deb", "plain"]
    assert row(store, "deb").deduplication_id is None
    assert row(store, "plain").deduplication_id == "fn-p"
    assert bounce("fn", "q", "fn-k", delay_until_epoch_ms=1, inputs="x", now_ms=6100) is None
