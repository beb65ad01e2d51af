"""OpenTelemetry spans (``enable_otlp``) with the SDK's in-memory exporter, on every
store: a span per workflow, step and transaction with DBOS's attributes, the caller's
trace continued across threads, queues and re-execution, ``PropagateOtelContext``,
``DBOS.span`` and ``DBOS.tracer``."""

from __future__ import annotations

import asyncio
import json
import pathlib
import threading
from collections.abc import Iterator
from typing import Any, cast

import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.trace import StatusCode
from sqlalchemy import text
from sqlalchemy.exc import OperationalError

from tests.tracing_exporter import CALLER, EXPORTER, finished, one, spans
from tests.waiting import status_of, wait_until
from transact import DBOS, DBOSConfig, PropagateOtelContext, Queue, SetWorkflowID
from transact._facade.launched import runtime

gates: dict[str, threading.Event] = {}
attempts: dict[str, int] = {}
traced_queue = Queue("traced-queue")


@DBOS.step()
def traced_step(x: int) -> int:
    span = DBOS.span
    span.set_attribute("seen", x)
    return x + 1


@DBOS.step(retries_allowed=True, max_attempts=3, interval_seconds=0)
def flaky_step(tag: str) -> str:
    attempts[tag] = attempts.get(tag, 0) + 1
    if attempts[tag] < 3:
        raise RuntimeError(f"attempt {attempts[tag]}")
    return tag


@DBOS.step()
def failing_step() -> None:
    raise ValueError("the step failed")


@DBOS.workflow()
def traced(x: int) -> int:
    return traced_step(x) + traced_step(x)


@DBOS.workflow()
def traced_parent(x: int) -> int:
    return traced(x) + DBOS.start_workflow(traced, x).get_result()


@DBOS.workflow()
def traced_retries() -> str:
    return flaky_step("r")


@DBOS.workflow()
def traced_failure() -> None:
    failing_step()


@DBOS.workflow()
def traced_blocked(tag: str) -> int:
    DBOS.sleep(0.001)
    while not gates[tag].wait(0.01):
        pass
    return traced_step(1)


@DBOS.step()
async def async_traced_step(x: int) -> int:
    await asyncio.sleep(0)
    return x * 3


@DBOS.workflow()
async def async_traced(x: int) -> int:
    return await async_traced_step(x)


@DBOS.workflow()
def user_spans() -> str:
    span = DBOS.tracer.start_span({"name": "user-span", "custom": "yes"})
    DBOS.tracer.end_span(span)
    return str(DBOS.span.get_span_context().span_id)


@DBOS.transaction()
def traced_insert(n: int) -> int:
    DBOS.sql_session.execute(text("INSERT INTO traced (n) VALUES (:n)"), {"n": n})
    return n


@DBOS.workflow()
def traced_transaction(n: int) -> int:
    return traced_insert(n)


class _SerializationFailure(Exception):
    sqlstate = "40001"


conflicts: list[int] = []


@DBOS.transaction()
def conflicting_insert(n: int) -> int:
    if not conflicts:
        conflicts.append(n)  # the first attempt loses a serialization conflict
        raise OperationalError("INSERT", {}, _SerializationFailure("could not serialize"))
    DBOS.sql_session.execute(text("INSERT INTO traced (n) VALUES (:n)"), {"n": n})
    return n


@DBOS.workflow()
def retried_transaction(n: int) -> int:
    return conflicting_insert(n)


def attributes(span: ReadableSpan) -> dict[str, Any]:
    return dict(span.attributes or {})


def launch(url: str, **config: Any) -> None:
    EXPORTER.clear()
    settings: dict[str, Any] = {
        "name": "traced-app",
        "system_database_url": url,
        "enable_otlp": True,
        "executor_id": "traced-executor",
        "application_version": "v-traced",
        **config,
    }
    DBOS(config=cast(DBOSConfig, settings))
    DBOS.launch()


@pytest.fixture
def traced_dbos(system_database_url: str) -> Iterator[str]:
    launch(system_database_url, otlp_attributes={"deployment": "test"})
    try:
        yield system_database_url
    finally:
        for gate in gates.values():
            gate.set()
        DBOS.destroy()


def test_a_span_per_workflow_and_step_with_dbos_attributes(traced_dbos: str) -> None:
    with SetWorkflowID("traced-1"):
        assert traced(1) == 4
    workflow = one(traced.__qualname__)
    assert attributes(workflow) == {
        "operationUUID": "traced-1",
        "operationType": "workflow",
        "operationName": traced.__qualname__,
        "applicationID": "traced-app",
        "applicationVersion": "v-traced",
        "executorID": "traced-executor",
        "deployment": "test",
    }
    assert workflow.status.status_code == StatusCode.OK
    steps = finished(traced_step.__qualname__, 2)
    assert len(steps) == 2
    for step in steps:
        assert step.parent is not None and step.parent.span_id == workflow.context.span_id
        assert step.context.trace_id == workflow.context.trace_id
        assert attributes(step)["operationType"] == "step"
        assert attributes(step)["operationUUID"] == "traced-1"
        assert attributes(step)["seen"] == 1  # DBOS.span is the step's span


def test_children_continue_their_parents_trace(traced_dbos: str) -> None:
    assert traced_parent(2) == 12
    parent = one(traced_parent.__qualname__)
    children = finished(traced.__qualname__, 2)
    assert len(children) == 2
    for child in children:
        assert child.context.trace_id == parent.context.trace_id
        assert child.parent is not None


def test_retries_add_events_and_failures_set_error(traced_dbos: str) -> None:
    attempts.clear()
    assert traced_retries() == "r"
    flaky = one(flaky_step.__qualname__)
    assert [e.name for e in flaky.events] == ["Step attempt 0 failed", "Step attempt 1 failed"]
    assert flaky.status.status_code == StatusCode.OK
    with pytest.raises(ValueError):
        traced_failure()
    failed = one(failing_step.__qualname__)
    assert failed.status.status_code == StatusCode.ERROR
    assert failed.status.description == "the step failed"
    workflow = one(traced_failure.__qualname__)
    assert workflow.status.status_code == StatusCode.ERROR


def test_the_callers_trace_continues_into_started_and_enqueued_workflows(
    traced_dbos: str,
) -> None:
    with CALLER.start_as_current_span("caller") as caller:
        started = DBOS.start_workflow(traced, 3)
        queued = traced_queue.enqueue(traced, 4)
    assert started.get_result() == 8 and queued.get_result() == 10
    runs = finished(traced.__qualname__, 2)
    assert len(runs) == 2
    for run in runs:
        assert run.context.trace_id == caller.get_span_context().trace_id
        assert run.parent is not None and run.parent.span_id == caller.get_span_context().span_id
    queued_run = next(r for r in runs if attributes(r)["operationUUID"] == queued.workflow_id)
    assert attributes(queued_run)["queueName"] == "traced-queue"


def test_a_resumed_workflow_continues_the_stored_trace(traced_dbos: str) -> None:
    gates["resume"] = threading.Event()
    with CALLER.start_as_current_span("caller") as caller:
        handle = DBOS.start_workflow(traced_blocked, "resume")
    wait_until(lambda: len(DBOS.list_workflow_steps(handle.workflow_id)) == 1)
    stored = runtime().store.get_workflow(handle.workflow_id)
    assert stored is not None and stored.otel_context is not None
    assert format(caller.get_span_context().trace_id, "032x") in stored.otel_context
    DBOS.cancel_workflow(handle.workflow_id)
    gates["resume"].set()
    wait_until(lambda: len(spans().get(traced_blocked.__qualname__, [])) == 1)
    DBOS.resume_workflow(handle.workflow_id)  # re-executed from its row, outside the span
    wait_until(lambda: status_of(handle.workflow_id) == "SUCCESS")
    for run in finished(traced_blocked.__qualname__, 2):
        assert run.context.trace_id == caller.get_span_context().trace_id


def test_propagate_otel_context_stores_a_given_context(traced_dbos: str) -> None:
    with CALLER.start_as_current_span("elsewhere") as elsewhere:
        context = trace.set_span_in_context(elsewhere)
    with CALLER.start_as_current_span("unrelated"), PropagateOtelContext(context):
        handle = traced_queue.enqueue(traced, 5)
    assert handle.get_result() == 12
    run = one(traced.__qualname__)
    assert run.context.trace_id == elsewhere.get_span_context().trace_id


def test_async_workflows_and_steps_are_traced(traced_dbos: str) -> None:
    assert asyncio.run(async_traced(2)) == 6
    workflow = one(async_traced.__qualname__)
    step = one(async_traced_step.__qualname__)
    assert step.parent is not None and step.parent.span_id == workflow.context.span_id


def test_dbos_tracer_starts_user_spans_under_the_current_one(traced_dbos: str) -> None:
    workflow_span_id = user_spans()
    user = one("user-span")
    workflow = one(user_spans.__qualname__)
    assert str(workflow.context.span_id) == workflow_span_id
    assert user.parent is not None and user.parent.span_id == workflow.context.span_id
    assert attributes(user)["custom"] == "yes"
    assert attributes(user)["applicationID"] == "traced-app"


def test_semconv_attribute_names(system_database_url: str) -> None:
    launch(system_database_url, otel_attribute_format="semconv")
    try:
        with SetWorkflowID("semconv-1"):
            traced(1)
    finally:
        DBOS.destroy()
    workflow = attributes(one(traced.__qualname__))
    assert workflow["dbos.operation.workflow_id"] == "semconv-1"
    assert workflow["dbos.operation.type"] == "workflow"
    assert workflow["dbos.application.id"] == "traced-app"
    assert workflow["dbos.application.version"] == "v-traced"
    assert workflow["dbos.executor.id"] == "traced-executor"
    assert "operationUUID" not in workflow


def test_transactions_have_spans(system_database_url: str, tmp_path: pathlib.Path) -> None:
    app_url = (
        system_database_url
        if system_database_url.startswith("postgres")
        else f"sqlite:///{tmp_path}/app.sqlite"
    )
    launch(system_database_url, application_database_url=app_url)
    try:
        app = runtime().app_db
        assert app is not None
        with app.engine.begin() as conn:
            conn.execute(text("DROP TABLE IF EXISTS traced"))
            conn.execute(text("CREATE TABLE traced (n INTEGER)"))
        assert traced_transaction(7) == 7
        conflicts.clear()
        assert retried_transaction(8) == 8
    finally:
        DBOS.destroy()
    retried = one(conflicting_insert.__qualname__)
    assert [e.name for e in retried.events] == ["Transaction Failure"]
    workflow = one(traced_transaction.__qualname__)
    transaction = one(traced_insert.__qualname__)
    assert attributes(transaction)["operationType"] == "transaction"
    assert transaction.parent is not None
    assert transaction.parent.span_id == workflow.context.span_id


def test_tracing_off_makes_no_spans_but_stores_a_propagated_context(
    system_database_url: str,
) -> None:
    EXPORTER.clear()
    DBOS(config={"name": "untraced-app", "system_database_url": system_database_url})
    DBOS.launch()
    try:
        with CALLER.start_as_current_span("caller") as caller:
            traced(1)
            with PropagateOtelContext():
                handle = traced_queue.enqueue(traced, 1)
        handle.get_result()
        stored = runtime().store.get_workflow(handle.workflow_id)
    finally:
        DBOS.destroy()
    assert [s.name for s in EXPORTER.get_finished_spans()] == ["caller"]
    assert stored is not None and stored.otel_context is not None
    carrier = json.loads(stored.otel_context)
    assert format(caller.get_span_context().trace_id, "032x") in carrier["traceparent"]


def test_a_recovered_workflow_continues_the_callers_trace(durable_database_url: str) -> None:
    gates["recover"] = threading.Event()
    launch(durable_database_url)
    try:
        with CALLER.start_as_current_span("caller") as caller:
            handle = DBOS.start_workflow(traced_blocked, "recover")
        wait_until(lambda: len(DBOS.list_workflow_steps(handle.workflow_id)) == 1)
    finally:
        DBOS.destroy()  # the workflow stays PENDING: the next launch recovers it
    launch(durable_database_url)
    try:
        gates["recover"].set()
        wait_until(lambda: status_of(handle.workflow_id) == "SUCCESS")
        recovered = [
            s
            for s in finished(traced_blocked.__qualname__, 1)
            if s.status.status_code == StatusCode.OK
        ]
    finally:
        DBOS.destroy()
    assert len(recovered) == 1
    assert recovered[0].context.trace_id == caller.get_span_context().trace_id
    assert recovered[0].parent is not None
    assert recovered[0].parent.span_id == caller.get_span_context().span_id
