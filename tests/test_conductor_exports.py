"""DBOS Conductor's footprint requests (``get_workflow_notifications``,
``get_workflow_streams``, ``export_workflow``, ``import_workflow``) through the stand-in
Conductor of ``test_conductor``, on every store."""

from __future__ import annotations

from typing import Any

from tests.test_conductor import StandInConductor, conductor_step
from tests.test_conductor import conductor as conductor  # the fixture, reused
from transact import DBOS, SetWorkflowID
from transact._facade.conductor.exports import decode_export


@DBOS.workflow()
def export_child(x: int) -> int:
    DBOS.set_event("child", x)
    return x * 2


@DBOS.workflow()
def export_parent(x: int) -> int:
    DBOS.set_event("progress", 1)
    DBOS.set_event("progress", 2)
    DBOS.write_stream("out", "a")
    DBOS.write_stream("out", {"n": 1})
    DBOS.close_stream("out")
    doubled = DBOS.start_workflow(export_child, x).get_result()
    return conductor_step(doubled)


@DBOS.workflow()
def export_receiver() -> str:
    return str(DBOS.recv("go", timeout_seconds=30))


def test_notifications_in_send_order_consumed_or_not(conductor: StandInConductor) -> None:
    handle = DBOS.start_workflow(export_receiver)
    DBOS.send(handle.workflow_id, "extra", "other")
    DBOS.send(handle.workflow_id, "hello", "go")
    assert handle.get_result() == "hello"
    reply = conductor.ask("get_workflow_notifications", workflow_id=handle.workflow_id)
    assert reply["error_message"] is None
    listed = reply["notifications"]
    assert [(n["topic"], n["message"], n["consumed"]) for n in listed] == [
        ("other", "extra", False),
        ("go", "hello", True),
    ]
    assert all(isinstance(n["created_at_epoch_ms"], int) for n in listed)
    none = conductor.ask("get_workflow_notifications", workflow_id="nope")
    assert none["notifications"] == []


def test_streams_by_key_then_offset_with_the_close_flagged(conductor: StandInConductor) -> None:
    with SetWorkflowID("exp-streams"):
        export_parent(1)
    reply = conductor.ask("get_workflow_streams", workflow_id="exp-streams")
    assert reply["error_message"] is None
    assert reply["streams"] == [
        {"key": "out", "offset": 0, "value": "a", "closed": False},
        {"key": "out", "offset": 1, "value": "{'n': 1}", "closed": False},
        {"key": "out", "offset": 2, "value": None, "closed": True},
    ]


def _seen(workflow_id: str) -> tuple[Any, ...]:
    """What the public API reads back of a finished workflow."""
    status = DBOS.get_workflow_status(workflow_id)
    assert status is not None
    return (
        (status.status, status.output, status.name, status.parent_workflow_id),
        DBOS.list_workflow_steps(workflow_id),
        DBOS.get_all_events(workflow_id),
        list(DBOS.read_stream(workflow_id, "out")),
    )


def test_export_delete_import_and_fork(conductor: StandInConductor) -> None:
    with SetWorkflowID("exp-parent"):
        assert export_parent(3) == 7
    [child_id] = [w.workflow_id for w in DBOS.list_workflows() if w.workflow_id != "exp-parent"]
    before = {w: _seen(w) for w in ("exp-parent", child_id)}

    alone = conductor.ask("export_workflow", workflow_id="exp-parent", export_children=False)
    assert [
        e["workflow_status"]["workflow_uuid"] for e in decode_export(alone["serialized_workflow"])
    ] == ["exp-parent"]
    reply = conductor.ask("export_workflow", workflow_id="exp-parent", export_children=True)
    assert reply["error_message"] is None
    exported = decode_export(reply["serialized_workflow"])
    assert [e["workflow_status"]["workflow_uuid"] for e in exported] == ["exp-parent", child_id]
    assert all("notifications" not in e for e in exported)

    DBOS.delete_workflow("exp-parent", delete_children=True)
    assert DBOS.get_workflow_status(child_id) is None
    imported = conductor.ask("import_workflow", serialized_workflow=reply["serialized_workflow"])
    assert (imported["success"], imported["error_message"]) == (True, None)
    assert {w: _seen(w) for w in ("exp-parent", child_id)} == before

    fork = DBOS.fork_workflow("exp-parent", 1)
    assert fork.get_result() == 7


def test_an_import_over_an_existing_workflow_writes_nothing(conductor: StandInConductor) -> None:
    with SetWorkflowID("exp-clash"):
        export_parent(2)
    reply = conductor.ask("export_workflow", workflow_id="exp-clash", export_children=True)
    [child_id] = [
        e["workflow_status"]["workflow_uuid"] for e in decode_export(reply["serialized_workflow"])
    ][1:]
    DBOS.delete_workflow(child_id)  # the parent stays: the import must refuse it all
    refused = conductor.ask("import_workflow", serialized_workflow=reply["serialized_workflow"])
    assert refused["error_message"] is not None and "exp-clash" in refused["error_message"]
    assert DBOS.get_workflow_status(child_id) is None
    missing = conductor.ask("export_workflow", workflow_id="nope", export_children=False)
    assert missing["error_message"] is not None and "nope" in missing["error_message"]
    garbled = conductor.ask("import_workflow", serialized_workflow="not base64!")
    assert garbled["error_message"] is not None
