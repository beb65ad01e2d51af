"""Per-workflow serialization (``serialization_type``, ``PortableWorkflowError``,
``send``/``set_event(serialization_type=)``) and ``validate_args`` on every store."""

from __future__ import annotations

import datetime
import json
import pickle
import sys
import uuid
from collections.abc import Iterator
from typing import Any

import attrs
import pytest

from tests.waiting import wait_until
from transact import (
    DBOS,
    DBOSPortableJSONSerializer,
    PortableJSONSerializer,
    PortableWorkflowError,
    Queue,
    SetWorkflowID,
    WorkflowSerializationFormat,
    fx,
    make_pydantic_args_validator,
    pydantic_args_validator,
)
from transact._runtime.queue_runner import QUEUES
from transact._serialization import DefaultSerializer, serializer_named

PORTABLE = WorkflowSerializationFormat.PORTABLE
NATIVE = WorkflowSerializationFormat.NATIVE


class CodedError(Exception):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.code = 42
        self.details = {"why": "coded"}


@DBOS.workflow(serialization_type=PORTABLE)
def portable_echo(n: int, when: datetime.datetime, *, tags: tuple[str, ...] = ()) -> Any:
    return {"n": n, "when": when, "tags": tags, "when_type": type(when).__name__}


@DBOS.workflow(serialization_type=PORTABLE)
def portable_failure() -> None:
    raise CodedError("portable boom")


@DBOS.workflow(serialization_type=NATIVE, auto_upgrade=False)
def native_echo(value: Any) -> Any:
    return value


@DBOS.workflow(serialization_type=PORTABLE)
def portable_events() -> None:
    DBOS.set_event("default", (1, 2))  # the workflow's format: portable JSON
    DBOS.set_event("native", (1, 2), serialization_type=NATIVE)


@DBOS.workflow()
def fx_sender(destination: str) -> fx.Program[None]:
    yield from fx.send(destination, (3, 4), "t", serialization_type=PORTABLE)
    yield from fx.set_event("fx", (3, 4), serialization_type=PORTABLE)


@DBOS.workflow()
def receiver() -> list[Any]:
    return [DBOS.recv("t", timeout_seconds=10) for _ in range(2)]


@DBOS.workflow(validate_args=pydantic_args_validator)
def validated_sum(n: int, factor: float = 1.0) -> float:
    return n * factor


@pytest.fixture
def dbos(system_database_url: str) -> Iterator[None]:
    DBOS.destroy()
    DBOS(config={"name": "portable-tests", "system_database_url": system_database_url})
    DBOS.launch()
    yield
    DBOS.destroy()


@pytest.fixture
def queue() -> Iterator[Queue]:
    q = Queue(f"pq-{uuid.uuid4().hex[:8]}", polling_interval_sec=0.01)
    yield q
    QUEUES.remove(q.name)


def runtime() -> Any:
    from transact._facade.launched import runtime as rt

    return rt()


def test_a_portable_workflow_stores_json_inputs_and_outcome(dbos: None) -> None:
    moment = datetime.datetime(2026, 1, 2, 3, 4, 5, tzinfo=datetime.timezone.utc)
    with SetWorkflowID("p-1"):
        portable_echo(1, moment, tags=("a",))
    row = runtime().store.get_workflow("p-1")
    assert row.serialization == "portable_json"
    assert json.loads(row.inputs) == {
        "positionalArgs": [1, "2026-01-02T03:04:05.000Z"],
        "namedArgs": {"tags": ["a"]},
    }
    assert json.loads(row.output)["when"] == "2026-01-02T03:04:05.000Z"
    assert DBOS.retrieve_workflow("p-1").get_result()["tags"] == ["a"]  # JSON: a list


def test_a_row_stored_as_portable_runs_portable_whatever_the_decorator_says(dbos: None) -> None:
    """As a workflow enqueued from another language: the row's format wins on recovery."""
    rt = runtime()
    record = rt.new_record(rt.spec("native_echo", "foreign"), "foreign", ((1, 2),), {})
    foreign = attrs.evolve(
        record,
        inputs=json.dumps({"positionalArgs": [[1, 2]]}),
        serialization="portable_json",
    )
    rt.store.insert_workflow(foreign)
    rt.recover_pending()
    assert DBOS.retrieve_workflow("foreign").get_result(polling_interval_sec=0.01) == [1, 2]
    row = rt.store.get_workflow("foreign")
    assert (row.serialization, json.loads(row.output)) == ("portable_json", [1, 2])
    status = DBOS.get_workflow_status("foreign")
    assert status is not None and status.input == {"args": ([1, 2],), "kwargs": {}}


def test_a_portable_error_reads_back_as_portable_workflow_error(dbos: None) -> None:
    with SetWorkflowID("p-err"), pytest.raises(CodedError):
        portable_failure()
    row = runtime().store.get_workflow("p-err")
    assert json.loads(row.error) == {
        "name": "CodedError",
        "message": "portable boom",
        "code": 42,
        "data": {"why": "coded"},
    }
    with pytest.raises(PortableWorkflowError) as caught:
        DBOS.retrieve_workflow("p-err").get_result()
    error = caught.value
    assert (str(error), error.name, error.code, error.data) == (
        "portable boom",
        "CodedError",
        42,
        {"why": "coded"},
    )
    assert pickle.loads(pickle.dumps(error)) == error


def test_a_dispatched_portable_workflow_gets_its_dates_back(dbos: None, queue: Queue) -> None:
    moment = datetime.datetime(2026, 5, 6, 7, 8, 9, tzinfo=datetime.timezone.utc)
    handle = queue.enqueue(portable_echo, 3, moment)
    result = handle.get_result(polling_interval_sec=0.01)
    assert (result["n"], result["when_type"]) == (3, "datetime")
    assert result["when"] == "2026-05-06T07:08:09.000Z"  # the output is portable JSON


def test_a_native_workflow_pickles_even_under_a_json_serializer(
    system_database_url: str,
) -> None:
    DBOS.destroy()
    DBOS(
        config={
            "name": "portable-tests",
            "system_database_url": system_database_url,
            "serializer": PortableJSONSerializer(),
        }
    )
    DBOS.launch()
    try:
        with SetWorkflowID("n-1"):
            assert native_echo((1, 2)) == (1, 2)
        row = runtime().store.get_workflow("n-1")
        assert row.serialization == "py_pickle"
        assert DBOS.retrieve_workflow("n-1").get_result() == (1, 2)  # a tuple: pickled
    finally:
        DBOS.destroy()


def test_send_and_set_event_take_a_serialization_type(dbos: None) -> None:
    handle = DBOS.start_workflow(receiver)
    DBOS.send(handle.workflow_id, (1, 2), "t", serialization_type=PORTABLE)
    DBOS.send(handle.workflow_id, (1, 2), "t", serialization_type=NATIVE)
    assert handle.get_result() == [[1, 2], (1, 2)]  # JSON has no tuples; pickle does

    handle = DBOS.start_workflow(receiver)
    with SetWorkflowID("fx-sender"):
        fx_sender(handle.workflow_id)
    DBOS.send(handle.workflow_id, (3, 4), "t")
    assert handle.get_result() == [[3, 4], (3, 4)]
    assert DBOS.get_event("fx-sender", "fx") == [3, 4]

    with SetWorkflowID("p-events"):
        portable_events()
    store = runtime().store
    assert json.loads(store.get_event("p-events", "default")) == [1, 2]
    assert DBOS.get_event("p-events", "default") == [1, 2]
    assert DBOS.get_event("p-events", "native") == (1, 2)
    with pytest.raises(ValueError, match="serialization_type"):
        DBOS.send(handle.workflow_id, 1, serialization_type="yaml")  # type: ignore[arg-type]


def test_validate_args_coerces_a_dequeued_workflow(dbos: None, queue: Queue) -> None:
    loose: Any = validated_sum  # called with strings on purpose
    assert queue.enqueue(loose, "4", factor="0.5").get_result() == 2.0
    refused = queue.enqueue(loose, "four")
    with pytest.raises(ValueError) as caught:
        refused.get_result(polling_interval_sec=0.01)
    assert str(caught.value).startswith(
        "Argument validation failed for workflow:\nArgument 'n' (position 0): "
    )
    wait_until(lambda: refused.get_status().status == "ERROR")
    assert loose("3", factor=2) == "33"  # a direct call is not validated


def test_the_pydantic_validator_reports_every_problem() -> None:
    def func(self: object, a: int, b: datetime.date, c: str = "x") -> None: ...

    validate = make_pydantic_args_validator(func)
    assert validate(("1",), {"b": "2026-01-02"}) == ((1,), {"b": datetime.date(2026, 1, 2)})
    with pytest.raises(ValueError) as caught:
        validate((), {"b": "not a date", "c": 3})
    lines = str(caught.value).split("\n")
    assert lines[0] == "Argument validation failed for workflow:"
    assert lines[1].startswith("Argument 'b': ")
    assert lines[2].startswith("Argument 'c': ")
    assert lines[3] == "Missing required argument: 'a'"


def test_without_pydantic_the_validator_says_how_to_install_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(sys.modules, "pydantic", None)
    with pytest.raises(ImportError, match=r"^pydantic is required for pydantic_args_validator"):
        make_pydantic_args_validator(lambda x: x)


def test_formats_and_names() -> None:
    # DBOS declares DEFAULT = None; with the str mixin its value is the string "None".
    assert WorkflowSerializationFormat("None") is WorkflowSerializationFormat.DEFAULT
    assert DBOSPortableJSONSerializer is PortableJSONSerializer
    assert DBOSPortableJSONSerializer().name() == "portable_json"
    assert isinstance(serializer_named("py_pickle", PortableJSONSerializer()), DefaultSerializer)
    with pytest.raises(TypeError, match=r"^Serialization yaml is not available$"):
        serializer_named("yaml", DefaultSerializer())
    with pytest.raises(TypeError, match=r"^Object of type object is not portable JSON"):
        PortableJSONSerializer().serialize(object())
    with pytest.raises(TypeError, match=r"^Attempt to do portable JSON serialization of a map"):
        PortableJSONSerializer().serialize({1: 2})
