"""DBOS's later management surface through the public API, on every store: bulk cancel,
resume and delete, children, resume and fork onto a queue, replacement children,
rewind, workflow attributes, paged step listings, patching, application versions,
``send_to_forks`` and ``read_stream_offset``."""

from __future__ import annotations

import asyncio
import threading
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest

from tests.waiting import status_of, wait_until
from transact import (
    DBOS,
    DBOSAwaitedWorkflowCancelledError,
    DBOSConfig,
    DBOSException,
    DBOSNonExistentWorkflowError,
    Queue,
    SendMessage,
    SetWorkflowAttributes,
    SetWorkflowID,
)
from transact._core.checkpoint import Checkpoint
from transact._facade.launched import runtime
from transact._store.records import WorkflowRecord
from transact.errors import DBOSStreamNondeterminismError, DBOSStreamTimeoutError

NAME = "test-mgmt-more"
calls: Counter[str] = Counter()
gate = threading.Event()

more_queue = Queue("mm_queue")


@DBOS.step(name="mm.mark")
def mark(label: str) -> str:
    calls[label] += 1
    return label


@DBOS.step(name="mm.wait")
def wait_gate() -> None:
    gate.wait(10)


@DBOS.workflow(name="mm_three")
def three(tag: str) -> list[str]:
    return [mark(f"{tag}1"), mark(f"{tag}2"), mark(f"{tag}3")]


@DBOS.workflow(name="mm_blocked")
def blocked(tag: str) -> str:
    mark(tag)
    wait_gate()
    return tag


@DBOS.workflow(name="mm_parent")
def parent() -> str:
    DBOS.start_workflow(blocked, "child")
    wait_gate()
    return "parent"


@DBOS.workflow(name="mm_caller")
def caller() -> str:
    return "|".join(three("c"))  # a child at function id 1


@DBOS.workflow(name="mm_listener")
def listener() -> Any:
    return DBOS.recv("t", timeout_seconds=30)


@DBOS.workflow(name="mm_listener2")
def listener2() -> Any:
    return [DBOS.recv("t", timeout_seconds=30), DBOS.recv("u", timeout_seconds=30)]


@DBOS.workflow(name="mm_sender")
def sender(destination: str) -> None:
    DBOS.send(destination, "from-workflow", "u", send_to_forks=True)


@DBOS.workflow(name="mm_streamer")
def streamer() -> None:
    DBOS.write_stream("s", "a")
    DBOS.write_stream("s", "b")
    DBOS.close_stream("s")


@DBOS.workflow(name="mm_patched")
def patched() -> str:
    if DBOS.patch("v2"):
        return mark("new")
    return mark("old")


@DBOS.workflow(name="mm_patched_async")
async def patched_async() -> str:
    if await DBOS.patch_async("v2"):
        return "new"
    return "old"


@DBOS.workflow(name="mm_deprecated")
def deprecated() -> str:
    DBOS.deprecate_patch("v2")
    return mark("new")


@DBOS.workflow(name="mm_tagged_parent")
def tagged_parent() -> str:
    with SetWorkflowAttributes({"role": "child"}):
        handle = DBOS.start_workflow(three, "k")
    three("plain")  # no attributes: the parent's are not inherited
    return handle.workflow_id


@DBOS.workflow(name="mm_attributes")
def tagging(target: str) -> None:
    DBOS.update_workflow_attributes(target, {"seen": True}, merge=True)


def launch(url: str, **config: Any) -> None:
    DBOS.destroy(destroy_registry=False)
    settings: DBOSConfig = {"name": NAME, "system_database_url": url}
    settings.update(config)  # type: ignore[typeddict-item]
    DBOS(config=settings)
    DBOS.launch()


@pytest.fixture
def url(system_database_url: str) -> Iterator[str]:
    calls.clear()
    gate.clear()
    launch(system_database_url)
    yield system_database_url
    gate.set()
    DBOS.destroy(destroy_registry=False)


# --- bulk operations and children --------------------------------------------------------


def test_bulk_cancel_resume_and_delete(url: str) -> None:
    handles = [DBOS.start_workflow(blocked, f"b{i}") for i in range(2)]
    ids = [h.workflow_id for h in handles]
    wait_until(lambda: calls["b0"] == 1 and calls["b1"] == 1)
    DBOS.cancel_workflows([*ids, "unknown"])
    assert [status_of(i) for i in ids] == ["CANCELLED", "CANCELLED"]
    with pytest.raises(DBOSNonExistentWorkflowError, match="nope1, nope2"):
        DBOS.resume_workflows([ids[0], "nope1", "nope2"])
    assert status_of(ids[0]) == "CANCELLED"  # nothing resumed
    gate.set()
    resumed = DBOS.resume_workflows(ids)
    assert [h.get_result() for h in resumed] == ["b0", "b1"]
    DBOS.delete_workflows([*ids, "unknown"])
    assert [status_of(i) for i in ids] == [None, None]


def test_cancel_children(url: str) -> None:
    top = DBOS.start_workflow(parent)
    wait_until(lambda: calls["child"] == 1)
    child = DBOS.list_workflows(parent_workflow_id=top.workflow_id)[0].workflow_id
    DBOS.cancel_workflow(top.workflow_id)
    assert status_of(child) == "PENDING"  # children are left alone by default
    DBOS.cancel_workflow(top.workflow_id, cancel_children=True)
    assert status_of(child) == "CANCELLED"


def test_resume_and_fork_onto_a_queue(url: str) -> None:
    done = DBOS.start_workflow(three, "q")
    done.get_result()
    fork = DBOS.fork_workflow(done.workflow_id, 2, queue_name="mm_queue")
    assert fork.get_result() == ["q1", "q2", "q3"]
    status = fork.get_status()
    assert status.queue_name is None or status.queue_name == "mm_queue"
    assert calls == Counter({"q1": 1, "q2": 2, "q3": 2})

    gate.clear()
    stuck = DBOS.start_workflow(blocked, "r")
    wait_until(lambda: calls["r"] == 1)
    DBOS.cancel_workflow(stuck.workflow_id)
    gate.set()
    with pytest.raises(DBOSAwaitedWorkflowCancelledError):
        stuck.get_result()  # the cancelled run has stopped
    resumed = DBOS.resume_workflow(stuck.workflow_id, queue_name="mm_queue")
    assert resumed.get_result() == "r"


def test_fork_with_replacement_children(url: str) -> None:
    original = DBOS.start_workflow(caller)
    assert original.get_result() == "c1|c2|c3"
    other = DBOS.start_workflow(three, "x")
    other.get_result()
    calls.clear()
    # Fork after the child's start (1), before its awaited result (2): the copied start
    # names ``other``, whose result the fork then awaits.
    swap = {f"{original.workflow_id}-1": other.workflow_id}
    fork = DBOS.fork_workflow(original.workflow_id, 2, replacement_children=swap)
    assert fork.get_result() == "x1|x2|x3"
    assert calls == Counter()


def test_rewind_runs_a_finished_workflow_again_from_a_step(url: str) -> None:
    handle = DBOS.start_workflow(three, "w")
    handle.get_result()
    calls.clear()
    again = DBOS.rewind_workflow(handle.workflow_id, 2)
    assert again.get_result() == ["w1", "w2", "w3"]
    assert calls == Counter({"w2": 1, "w3": 1})
    assert [s["function_id"] for s in DBOS.list_workflow_steps(handle.workflow_id)] == [1, 2, 3]
    with pytest.raises(ValueError, match="start_step must be >= 1"):
        DBOS.rewind_workflow(handle.workflow_id, 0)
    with pytest.raises(DBOSNonExistentWorkflowError):
        DBOS.rewind_workflow("missing", 1)
    # A child keeps its id: the rewound parent attaches to it and uses its outcome.
    parent = DBOS.start_workflow(caller)
    assert parent.get_result() == "c1|c2|c3"
    assert DBOS.rewind_workflow(parent.workflow_id, 1).get_result() == "c1|c2|c3"
    assert calls["c1"] == 1
    gate.clear()
    running = DBOS.start_workflow(blocked, "active")
    wait_until(lambda: calls["active"] == 1)
    with pytest.raises(DBOSException, match="only a workflow in a terminal state"):
        DBOS.rewind_workflow(running.workflow_id, 1)
    gate.set()
    running.get_result()


# --- attributes ---------------------------------------------------------------------------


def test_attributes_set_updated_and_filtered(url: str) -> None:
    with SetWorkflowAttributes({"tenant": "acme", "tier": 1}):
        first = DBOS.start_workflow(three, "a1")
        second = DBOS.start_workflow(three, "a2")  # the next workflow only
    first.get_result()
    second.get_result()
    assert first.get_status().attributes == {"tenant": "acme", "tier": 1}
    assert second.get_status().attributes is None
    found = DBOS.list_workflows(attributes={"tenant": "acme"})
    assert [s.workflow_id for s in found] == [first.workflow_id]
    assert DBOS.list_workflows(attributes={"tier": 2}) == []

    DBOS.update_workflow_attributes(second.workflow_id, {"tier": 2})
    DBOS.update_workflow_attributes(second.workflow_id, {"gold": True}, merge=True)
    assert second.get_status().attributes == {"tier": 2, "gold": True}
    assert [s.workflow_id for s in DBOS.list_workflows(attributes={"tier": 2})] == [
        second.workflow_id
    ]
    # From workflow code: recorded once (a re-execution does not repeat it).
    with SetWorkflowID("tagger"):
        DBOS.start_workflow(tagging, first.workflow_id).get_result()
    assert first.get_status().attributes == {"tenant": "acme", "tier": 1, "seen": True}
    assert [s["function_name"] for s in DBOS.list_workflow_steps("tagger")] == [
        "DBOS.updateWorkflowAttributes"
    ]
    DBOS.update_workflow_attributes(second.workflow_id, None)
    assert second.get_status().attributes is None

    # Children get the attributes set around their start, never their parent's.
    with SetWorkflowAttributes({"role": "parent"}):
        top = DBOS.start_workflow(tagged_parent)
    child_id = top.get_result()
    children = {
        s.workflow_id: s.attributes for s in DBOS.list_workflows(parent_workflow_id=top.workflow_id)
    }
    assert children.pop(child_id) == {"role": "child"}
    assert list(children.values()) == [None]
    # Enqueued workflows take them too.
    with SetWorkflowAttributes({"queued": 1}):
        queued = more_queue.enqueue(three, "e")
    queued.get_result()
    assert queued.get_status().attributes == {"queued": 1}

    with pytest.raises(DBOSException, match="Attributes must be a dict"):
        SetWorkflowAttributes(["not", "a", "dict"])  # type: ignore[arg-type]
    with pytest.raises(DBOSException, match="JSON-serializable"):
        DBOS.update_workflow_attributes(first.workflow_id, {"x": object()})
    with pytest.raises(DBOSException, match="Cannot merge None"):
        DBOS.update_workflow_attributes(first.workflow_id, None, merge=True)


def test_list_workflow_steps_pages(url: str) -> None:
    handle = DBOS.start_workflow(three, "p")
    handle.get_result()
    wid = handle.workflow_id
    assert [s["function_id"] for s in DBOS.list_workflow_steps(wid, limit=2)] == [1, 2]
    assert [s["function_id"] for s in DBOS.list_workflow_steps(wid, offset=1)] == [2, 3]
    paged = DBOS.list_workflow_steps(wid, limit=1, offset=2, load_output=False)
    assert [(s["function_id"], s["output"]) for s in paged] == [(3, None)]
    listed = asyncio.run(DBOS.list_workflow_steps_async(wid, limit=1, offset=1))
    assert [(s["function_id"], s["output"]) for s in listed] == [(2, "p2")]
    with pytest.raises(ValueError, match="limit"):
        DBOS.list_workflow_steps(wid, limit=-1)


# --- application versions -------------------------------------------------------------------


def test_application_versions(url: str) -> None:
    mine = DBOS.application_version
    versions = DBOS.list_application_versions()
    assert [v["version_name"] for v in versions] == [mine]
    assert DBOS.get_latest_application_version()["version_name"] == mine
    DBOS.set_latest_application_version("v-next")
    assert [v["version_name"] for v in DBOS.list_application_versions()] == ["v-next", mine]
    latest = asyncio.run(DBOS.get_latest_application_version_async())
    assert latest["version_name"] == "v-next" and latest["application_name"] is None
    asyncio.run(DBOS.set_latest_application_version_async(mine))
    assert DBOS.get_latest_application_version()["version_name"] == mine


def test_unversioned_work_goes_to_the_latest_version(url: str) -> None:
    done = DBOS.start_workflow(three, "v")
    done.get_result()
    DBOS.set_latest_application_version("another-version")
    fork = DBOS.fork_workflow(done.workflow_id, 1)  # no version: the latest's executors
    assert status_of(fork.workflow_id) == "ENQUEUED"
    stamped = DBOS.fork_workflow(done.workflow_id, 1, DBOS.application_version)
    assert stamped.get_result() == ["v1", "v2", "v3"]  # stamped with ours: runs here
    DBOS.set_latest_application_version(DBOS.application_version)
    assert fork.get_result() == ["v1", "v2", "v3"]  # now ours is the latest


# --- patching -------------------------------------------------------------------------------


def test_patch_needs_enable_patching(url: str) -> None:
    with pytest.raises(DBOSException, match="enable_patching must be True"):
        DBOS.start_workflow(patched).get_result()


def test_patch_takes_the_new_path_only_for_new_executions(url: str) -> None:
    launch(url, enable_patching=True)
    assert DBOS.application_version == "PATCHING_ENABLED"
    new = DBOS.start_workflow(patched)
    assert new.get_result() == "new"
    assert [s["function_name"] for s in DBOS.list_workflow_steps(new.workflow_id)] == [
        "DBOS.patch-v2",
        "mm.mark",
    ]
    # An execution recorded before the patch: a step at position 1, then a crash.
    rt = runtime()
    rt.store.insert_workflow(
        WorkflowRecord(
            workflow_id="old-run",
            status="PENDING",
            name="mm_patched",
            inputs=rt.serializer.serialize({"args": (), "kwargs": {}}),
            executor_id="gone",
        )
    )
    rt.store.record_checkpoint(
        "old-run", Checkpoint(1, "mm.mark", output=rt.serializer.serialize("old"))
    )
    calls.clear()
    DBOS.cancel_workflow("old-run")
    assert DBOS.resume_workflow("old-run").get_result() == "old"
    assert calls == Counter()  # replayed the old branch's recorded step
    # deprecate_patch: True, taking no position where there is no marker...
    with SetWorkflowID("deprecated-1"):
        assert DBOS.start_workflow(deprecated).get_result() == "new"
    assert [s["function_name"] for s in DBOS.list_workflow_steps("deprecated-1")] == ["mm.mark"]
    # ...and stepping over the marker of an execution recorded with the patch.
    calls.clear()
    DBOS.cancel_workflow(new.workflow_id)
    rt.store.insert_workflow(
        WorkflowRecord(
            workflow_id="patched-run",
            status="PENDING",
            name="mm_deprecated",
            inputs=rt.serializer.serialize({"args": (), "kwargs": {}}),
        )
    )
    rt.store.record_checkpoint("patched-run", Checkpoint(1, "DBOS.patch-v2"))
    rt.store.record_checkpoint(
        "patched-run", Checkpoint(2, "mm.mark", output=rt.serializer.serialize("new"))
    )
    DBOS.cancel_workflow("patched-run")
    assert DBOS.resume_workflow("patched-run").get_result() == "new"
    assert calls == Counter()
    with pytest.raises(DBOSException, match="must be called from a workflow"):
        DBOS.patch("v2")

    async def start_and_wait() -> tuple[str, str]:
        # The workflow is a task on this loop (as in DBOS): await it before the loop ends.
        handle = await DBOS.start_workflow_async(patched_async)
        return handle.workflow_id, await handle.get_result()

    workflow_id, result = asyncio.run(start_and_wait())
    assert result == "new"
    assert DBOS.list_workflow_steps(workflow_id)[0]["function_name"] == "DBOS.patch-v2"


# --- messages and streams -------------------------------------------------------------------


def test_send_to_forks(url: str) -> None:
    original = DBOS.start_workflow(listener)
    wait_until(lambda: len(DBOS.list_workflow_steps(original.workflow_id)) >= 1)
    fork = DBOS.fork_workflow(original.workflow_id, 1)
    fork_of_fork = DBOS.fork_workflow(fork.workflow_id, 1)
    wait_until(lambda: len(DBOS.list_workflow_steps(fork_of_fork.workflow_id)) >= 1)
    DBOS.send(original.workflow_id, "hello", "t", send_to_forks=True)
    results = [h.get_result() for h in (original, fork, fork_of_fork)]
    assert results == ["hello", "hello", "hello"]


def test_send_bulk_and_workflow_sends_to_forks(url: str) -> None:
    original = DBOS.start_workflow(listener2)
    wait_until(lambda: len(DBOS.list_workflow_steps(original.workflow_id)) >= 1)
    fork = DBOS.fork_workflow(original.workflow_id, 1)
    wait_until(lambda: len(DBOS.list_workflow_steps(fork.workflow_id)) >= 1)
    message = SendMessage(original.workflow_id, "bulk", "t", idempotency_key="k1")
    DBOS.send_bulk([message], send_to_forks=True)
    DBOS.send_bulk([message], send_to_forks=True)  # the same key: delivered once each
    DBOS.start_workflow(sender, original.workflow_id).get_result()
    assert original.get_result() == ["bulk", "from-workflow"]
    assert fork.get_result() == ["bulk", "from-workflow"]
    for workflow_id in (original.workflow_id, fork.workflow_id):  # no second copy left
        assert not runtime().store.has_message(workflow_id, "t")


def test_read_stream_offset(url: str) -> None:
    writer = DBOS.start_workflow(streamer)
    writer.get_result()
    wid = writer.workflow_id
    assert DBOS.read_stream_offset(wid, "s", 1) == "b"
    assert asyncio.run(DBOS.read_stream_offset_async(wid, "s", 0)) == "a"
    with pytest.raises(DBOSStreamTimeoutError):
        DBOS.read_stream_offset(wid, "s", 2)  # the stream ended before offset 2
    with pytest.raises(DBOSNonExistentWorkflowError):
        DBOS.read_stream_offset("missing", "s", 0)


def test_stream_errors_read_as_dbos_writes_them(url: str) -> None:
    assert str(DBOSStreamTimeoutError("w", "k", 1.5)) == (
        "DBOS Error 16: No value arrived on stream k of workflow w within 1.5 seconds"
    )
    assert str(DBOSStreamTimeoutError("w", "k")) == (
        "DBOS Error 16: No value arrived on stream k of workflow w"
    )
    assert str(DBOSStreamNondeterminismError("w", "k")).startswith(
        "DBOS Error 17: Cannot deterministically read stream k in workflow w: another stream"
    )


def test_async_twins(url: str) -> None:
    async def operate() -> None:
        handle = await DBOS.start_workflow_async(three, "y")
        assert await handle.get_result() == ["y1", "y2", "y3"]
        wid = handle.workflow_id
        await DBOS.update_workflow_attributes_async(wid, {"a": 1})
        rewound = await DBOS.rewind_workflow_async(wid, 3)
        assert await rewound.get_result() == ["y1", "y2", "y3"]
        fork = await DBOS.fork_workflow_async(wid, 2, queue_name="mm_queue")
        assert await fork.get_result() == ["y1", "y2", "y3"]
        await DBOS.cancel_workflows_async([wid], cancel_children=True)  # finished: no-op
        resumed = await DBOS.resume_workflows_async([wid])
        assert [h.workflow_id for h in resumed] == [wid]
        await DBOS.delete_workflows_async([fork.workflow_id])
        assert [v["version_name"] for v in await DBOS.list_application_versions_async()] == [
            DBOS.application_version
        ]

    asyncio.run(operate())
    # Schedules other test modules declared at import may fire meanwhile: leave them out.
    listed = DBOS.list_workflows()
    statuses = {s.workflow_id: s for s in listed if not s.workflow_id.startswith("sched-")}
    assert len(statuses) == 1
    (status,) = statuses.values()
    assert (status.status, status.attributes) == ("SUCCESS", {"a": 1})
    assert calls["y3"] == 3 and calls["y2"] == 2 and calls["y1"] == 1
