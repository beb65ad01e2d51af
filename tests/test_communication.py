"""Messages, events and streams through the public API, on every store.

Each test runs on memory, SQLite and Postgres (the ``system_database_url`` fixture).
A "restart" destroys the runtime and launches a new one on the same URL: the running
workflows are interrupted and recovered from their logs, as after a crash.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from typing_extensions import assert_type

from tests.waiting import wait_until
from transact import DBOS, DBOSException, DBOSNonExistentWorkflowError, SetWorkflowID, fx
from transact._facade.launched import runtime
from transact._store.factory import open_store
from transact.errors import (
    DBOSAwaitedWorkflowCancelledError,
    DBOSStreamTimeoutError,
    SerializationError,
)

NAME = "test-comm"


def launch(url: str) -> None:
    DBOS.destroy(destroy_registry=False)  # a test that failed half-way may have left one
    DBOS(config={"name": NAME, "system_database_url": url})
    DBOS.launch()


def restart(url: str) -> None:
    """Simulate a crash and a new process: stop everything, launch again (recovers)."""
    DBOS.destroy(destroy_registry=False)
    launch(url)


@pytest.fixture
def url(system_database_url: str) -> Iterator[str]:
    """A launched DBOS on a fresh system database of each store kind."""
    launch(system_database_url)
    yield system_database_url
    DBOS.destroy(destroy_registry=False)


def steps(workflow_id: str) -> list[tuple[int, str]]:
    return [(s["function_id"], s["function_name"]) for s in DBOS.list_workflow_steps(workflow_id)]


def has_step(workflow_id: str, function_id: int, name: str) -> Callable[[], bool]:
    return lambda: (function_id, name) in steps(workflow_id)


# --- workflows (module level: the registry is global) -------------------------------


@DBOS.workflow(name="comm_recv_plan")
def recv_plan(plan: list[str | None], timeout: float) -> list[Any]:
    return [DBOS.recv(topic, timeout_seconds=timeout) for topic in plan]


@DBOS.step(name="comm_noop")
def noop(value: int) -> int:
    return value


@DBOS.workflow(name="comm_recv_between_steps")
def recv_between_steps(timeout: float) -> Any:
    noop(1)
    message = DBOS.recv("t", timeout_seconds=timeout)
    noop(2)
    return message


@DBOS.workflow(name="comm_sleep_then_recv")
def sleep_then_recv(pause: float) -> Any:
    DBOS.sleep(pause)
    message = DBOS.recv("t", timeout_seconds=10)
    noop(1)
    return message


@DBOS.workflow(name="comm_recv_after_go")
def recv_after_go(count: int) -> list[Any]:
    DBOS.recv("go", timeout_seconds=30)
    return [DBOS.recv("t", timeout_seconds=0) for _ in range(count)]


@DBOS.workflow(name="comm_send_then_sleep")
def send_then_sleep(destination: str, message: Any, pause: float) -> None:
    DBOS.send(destination, message, "t")
    DBOS.sleep(pause)


UNSERIALIZABLE: dict[str, Callable[[], Any]] = {
    "lambda": lambda: lambda: 1,
    "lock": threading.Lock,
}


@DBOS.workflow(name="comm_send_bad")
def send_bad(destination: str, kind: str) -> str:
    """Send a message made here (an unserializable one cannot be a workflow argument)."""
    message = UNSERIALIZABLE[kind]() if kind in UNSERIALIZABLE else kind
    try:
        DBOS.send(destination, message, "t")
    except (SerializationError, DBOSNonExistentWorkflowError) as exc:
        return type(exc).__name__
    return "sent"


@DBOS.workflow(name="comm_recv_then_sleep")
def recv_then_sleep(timeout: float, pause: float) -> list[Any]:
    first = DBOS.recv("t", timeout_seconds=timeout)
    DBOS.sleep(pause)
    second = DBOS.recv("t", timeout_seconds=0.1)
    return [first, second]


@DBOS.workflow(name="comm_recv_negative")
def recv_negative() -> str:
    with contextlib.suppress(ValueError):
        DBOS.recv("t", timeout_seconds=-1)
    noop(7)
    return "ok"


@DBOS.step(name="comm_step_recv")
def step_recv() -> Any:
    return DBOS.recv("t", timeout_seconds=0)


@DBOS.workflow(name="comm_recv_in_step")
def recv_in_step() -> Any:
    return step_recv()


@DBOS.workflow(name="comm_set_events")
def set_events(values: list[int], pause: float) -> None:
    if pause:
        DBOS.sleep(pause)
    for value in values:
        DBOS.set_event("k", value)
    DBOS.set_event("other", "x")


@DBOS.step(name="comm_step_set_event")
def step_set_event(value: str) -> None:
    DBOS.set_event("from-step", value)


@DBOS.workflow(name="comm_event_in_step")
def event_in_step() -> None:
    step_set_event("v")


@DBOS.workflow(name="comm_get_event_in_workflow")
def get_event_in_workflow(target: str, timeout: float) -> Any:
    return DBOS.get_event(target, "k", timeout_seconds=timeout)


@DBOS.workflow(name="comm_stream_writer")
def stream_writer(key: str, values: list[Any], pause: float, close: bool) -> int:
    for value in values:
        DBOS.write_stream(key, value)
        if pause:
            DBOS.sleep(pause)
    if close:
        DBOS.close_stream(key)
    return len(values)


@DBOS.workflow(name="comm_stream_gated_writer")
def stream_gated_writer(key: str) -> None:
    DBOS.write_stream(key, "a")
    DBOS.write_stream(key, "b")
    DBOS.recv("go", timeout_seconds=60)
    DBOS.write_stream(key, "c")
    DBOS.close_stream(key)


@DBOS.workflow(name="comm_write_marker")
def write_marker(key: str) -> str:
    try:
        DBOS.write_stream(key, "__DBOS_STREAM_CLOSED__")
    except ValueError as exc:
        assert "close marker" in str(exc)
        return "rejected"
    return "written"


@DBOS.workflow(name="comm_stream_reader")
def stream_reader(target: str, key: str, offset: int) -> list[Any]:
    return list(DBOS.read_stream(target, key, offset=offset))


@DBOS.workflow(name="comm_stream_reader_timeout")
def stream_reader_timeout(target: str, key: str, pause: float) -> list[Any]:
    got: list[Any] = []
    try:
        for value in DBOS.read_stream(target, key, timeout_seconds=0.3):
            got.append(value)
    except DBOSStreamTimeoutError:
        got.append("timeout")
    DBOS.sleep(pause)
    return got


@DBOS.step(name="comm_step_write_stream")
def step_write_stream(key: str) -> None:
    DBOS.write_stream(key, "from-step")
    DBOS.close_stream(key)


@DBOS.workflow(name="comm_stream_in_step")
def stream_in_step(key: str) -> None:
    step_write_stream(key)


@DBOS.workflow(name="comm_fx_receiver")
def fx_receiver() -> fx.Program[list[Any]]:
    message = yield from fx.recv("t", timeout_seconds=10)
    assert_type(message, Any)
    yield from fx.set_event("got", message)
    yield from fx.write_stream("s", message)
    yield from fx.write_stream("s", "second")
    yield from fx.close_stream("s")
    late = yield from fx.recv("t", timeout_seconds=0.05)
    return [message, late]


@DBOS.workflow(name="comm_fx_sender")
def fx_sender(target: str) -> fx.Program[list[Any]]:
    yield from fx.send(target, "hello", "t")
    event = yield from fx.get_event(target, "got", timeout_seconds=10)
    values = yield from fx.read_stream(target, "s")
    assert_type(values, list[Any])
    first = yield from fx.read_stream_value(target, "s", 0)
    end = yield from fx.read_stream_value(target, "s", 2)
    events = yield from fx.get_all_events(target)
    assert_type(events, dict[str, Any])
    return [event, values, first, end is fx.STREAM_END, events]


# --- messages -----------------------------------------------------------------------


def test_messages_arrive_in_order_per_topic(url: str) -> None:
    with SetWorkflowID("receiver"):
        handle = DBOS.start_workflow(recv_plan, ["a", None, "b", "a", "a", None], 10.0)
    for message, topic in [("a1", "a"), ("b1", "b"), ("n1", None), ("a2", "a")]:
        DBOS.send("receiver", message, topic)
    for message, topic in [("a3", "a"), ("n2", None)]:
        DBOS.send("receiver", message, topic)
    assert handle.get_result() == ["a1", "n1", "b1", "a2", "a3", "n2"]


def test_each_message_is_consumed_once(url: str) -> None:
    with SetWorkflowID("receiver"):
        handle = DBOS.start_workflow(recv_plan, ["t", "t"], 0.3)
    DBOS.send("receiver", "only", "t")
    assert handle.get_result() == ["only", None]
    recorded = [
        s for s in DBOS.list_workflow_steps("receiver") if s["function_name"] == "DBOS.recv"
    ]
    assert [s["output"] for s in recorded] == ["only", None]
    with SetWorkflowID("other"):
        assert recv_plan(["t"], 0.0) == [None]  # nothing left for anyone


def test_recv_times_out_with_none(url: str) -> None:
    started = time.monotonic()
    assert recv_plan(["t"], 0.3) == [None]
    assert time.monotonic() - started >= 0.3


def test_recv_takes_two_function_ids(url: str) -> None:
    with SetWorkflowID("waits"):
        handle = DBOS.start_workflow(recv_between_steps, 10.0)
    wait_until(has_step("waits", 3, "DBOS.sleep"))  # it waits: the deadline is recorded
    DBOS.send("waits", "m", "t")
    assert handle.get_result() == "m"
    assert steps("waits") == [
        (1, "comm_noop"),
        (2, "DBOS.recv"),
        (3, "DBOS.sleep"),
        (4, "comm_noop"),
    ]


def test_recv_with_a_waiting_message_records_no_deadline(url: str) -> None:
    # As in DBOS, the deadline is recorded only when recv has to wait; both ids are taken.
    with SetWorkflowID("immediate"):
        handle = DBOS.start_workflow(sleep_then_recv, 0.3)
    DBOS.send("immediate", "m", "t")  # long before the workflow reaches recv
    assert handle.get_result() == "m"
    assert steps("immediate") == [(1, "DBOS.sleep"), (2, "DBOS.recv"), (4, "comm_noop")]


def test_a_waiting_recv_checks_by_reading_and_consumes_once(url: str) -> None:
    # The empty checks (the first one and the polls) are reads: no write lock is taken,
    # nothing is written, until the message is there.
    calls: Counter[str] = Counter()
    store = runtime().store
    for name in ("has_message", "consume_message"):
        setattr(store, name, counted(calls, name, getattr(store, name)))
    with SetWorkflowID("waits"):
        handle = DBOS.start_workflow(recv_between_steps, 10.0)
    wait_until(has_step("waits", 3, "DBOS.sleep"))
    assert calls["consume_message"] == 0
    assert calls["has_message"] >= 1
    DBOS.send("waits", "m", "t")
    assert handle.get_result() == "m"
    assert calls["consume_message"] == 1


def counted(calls: Counter[str], name: str, method: Callable[..., Any]) -> Callable[..., Any]:
    def call(*args: Any, **kwargs: Any) -> Any:
        calls[name] += 1
        return method(*args, **kwargs)

    return call


def test_recv_only_in_workflow_code(url: str) -> None:
    with pytest.raises(DBOSException, match=r"recv\(\) must be called from within a workflow"):
        DBOS.recv("t", timeout_seconds=0)
    with pytest.raises(DBOSException, match=r"recv\(\) must be called from within a workflow"):
        recv_in_step()


def test_negative_timeout_is_rejected_before_anything_is_recorded(url: str) -> None:
    with SetWorkflowID("negative"):
        assert recv_negative() == "ok"
    assert steps("negative") == [(1, "comm_noop")]
    with pytest.raises(ValueError, match="timeout_seconds"):
        DBOS.get_event("negative", "k", timeout_seconds=-0.5)
    with pytest.raises(ValueError, match="timeout_seconds"):
        DBOS.read_stream("negative", "k", timeout_seconds=-1)


def test_send_with_idempotency_key_delivers_once(url: str) -> None:
    with SetWorkflowID("receiver"):
        handle = DBOS.start_workflow(recv_plan, ["t", "t"], 0.5)
    DBOS.send("receiver", "once", "t", idempotency_key="k1")
    DBOS.send("receiver", "once", "t", idempotency_key="k1")
    assert handle.get_result() == ["once", None]


def test_send_to_missing_workflow(url: str) -> None:
    with pytest.raises(DBOSNonExistentWorkflowError):
        DBOS.send("nobody", "m")
    with SetWorkflowID("sender"):
        assert send_bad("nobody", "m") == "DBOSNonExistentWorkflowError"
    assert steps("sender") == []


@pytest.mark.parametrize("kind", sorted(UNSERIALIZABLE))
def test_unserializable_message_writes_nothing(url: str, kind: str) -> None:
    bad = UNSERIALIZABLE[kind]()
    with SetWorkflowID("receiver"):
        handle = DBOS.start_workflow(recv_plan, ["t"], 0.3)
    with pytest.raises(SerializationError):
        DBOS.send("receiver", bad, "t")
    with SetWorkflowID("sender"):
        assert send_bad("receiver", kind) == "SerializationError"
    assert handle.get_result() == [None]
    assert steps("sender") == []


def test_bad_arguments(url: str) -> None:
    with pytest.raises(ValueError):
        DBOS.send("", "m")
    with pytest.raises(ValueError):
        DBOS.send("x", "m", idempotency_key="")
    with pytest.raises(ValueError):
        DBOS.get_event("x", "")
    with pytest.raises(ValueError):
        DBOS.read_stream("x", "")
    with pytest.raises(ValueError):
        DBOS.read_stream("x", "k", offset=-1)


def test_send_in_workflow_happens_once_across_a_restart(url: str) -> None:
    with SetWorkflowID("receiver"):
        DBOS.start_workflow(recv_after_go, 2)
    with SetWorkflowID("sender"):
        DBOS.start_workflow(send_then_sleep, "receiver", "m", 0.8)
    wait_until(has_step("sender", 2, "DBOS.sleep"))
    restart(url)  # both are recovered; the sender replays its send
    DBOS.retrieve_workflow("sender").get_result(polling_interval_sec=0.05)
    assert steps("sender") == [(1, "DBOS.send"), (2, "DBOS.sleep")]
    DBOS.send("receiver", "now", "go")
    result = DBOS.retrieve_workflow("receiver").get_result(polling_interval_sec=0.05)
    assert result == ["m", None]


def test_many_senders_one_receiver(url: str) -> None:
    senders, per_sender = 6, 10
    with SetWorkflowID("receiver"):
        handle = DBOS.start_workflow(recv_plan, ["t"] * (senders * per_sender), 30.0)

    def send_all(sender: int) -> None:
        for seq in range(per_sender):
            DBOS.send("receiver", (sender, seq), "t")

    threads = [threading.Thread(target=send_all, args=(i,)) for i in range(senders)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    received = handle.get_result(polling_interval_sec=0.05)
    assert sorted(received) == [(s, q) for s in range(senders) for q in range(per_sender)]
    for sender in range(senders):
        assert [q for s, q in received if s == sender] == list(range(per_sender))


def test_cancel_interrupts_a_waiting_recv(url: str) -> None:
    with SetWorkflowID("waiting"):
        handle = DBOS.start_workflow(recv_plan, ["t"], 60.0)
    wait_until(has_step("waiting", 2, "DBOS.sleep"))
    started = time.monotonic()
    DBOS.cancel_workflow("waiting")
    with pytest.raises(DBOSAwaitedWorkflowCancelledError):
        handle.get_result()
    assert time.monotonic() - started < 5


def test_recv_waits_only_the_remaining_time_after_a_restart(url: str) -> None:
    started = time.monotonic()
    with SetWorkflowID("patient"):
        DBOS.start_workflow(recv_plan, ["t"], 2.0)
    wait_until(has_step("patient", 2, "DBOS.sleep"))
    time.sleep(0.8)
    restart(url)
    assert DBOS.retrieve_workflow("patient").get_result(polling_interval_sec=0.05) == [None]
    elapsed = time.monotonic() - started
    assert 1.9 <= elapsed < 2.7, elapsed  # a fresh 2 s timeout would end after 2.8 s
    assert steps("patient") == [(1, "DBOS.recv"), (2, "DBOS.sleep")]


def test_timed_out_recv_replays_as_none_after_a_restart(url: str) -> None:
    with SetWorkflowID("replayer"):
        DBOS.start_workflow(recv_then_sleep, 0.2, 1.0)
    wait_until(has_step("replayer", 3, "DBOS.sleep"))  # recv timed out, now sleeping
    restart(url)
    DBOS.send("replayer", "late", "t")  # the replayed recv must not take it
    result = DBOS.retrieve_workflow("replayer").get_result(polling_interval_sec=0.05)
    assert result == [None, "late"]


def test_message_sent_while_down_is_received_after_restart(url: str) -> None:
    with SetWorkflowID("down"):
        DBOS.start_workflow(recv_plan, ["t", "t"], 30.0)
    wait_until(has_step("down", 2, "DBOS.sleep"))
    DBOS.destroy(destroy_registry=False)
    store = open_store(url)  # another program writes while no runtime runs
    try:
        store.send_message("down", "t", _serialize("one"), message_id=None, now_ms=_now_ms())
        store.send_message("down", "t", _serialize("two"), message_id=None, now_ms=_now_ms() + 1)
    finally:
        store.close()
    launch(url)
    assert DBOS.retrieve_workflow("down").get_result(polling_interval_sec=0.05) == ["one", "two"]


def _serialize(value: Any) -> str:
    from transact import DefaultSerializer

    return DefaultSerializer().serialize(value)


def _now_ms() -> int:
    return int(time.time() * 1000)


def test_fx_surface(url: str) -> None:
    with SetWorkflowID("fx-receiver"):
        receiver = DBOS.start_workflow(fx_receiver)
    with SetWorkflowID("fx-sender"):
        sender = DBOS.start_workflow(fx_sender, "fx-receiver")
    assert receiver.get_result() == ["hello", None]
    event, values, first, ended, events = sender.get_result()
    assert (event, values, first, ended) == ("hello", ["hello", "second"], "hello", True)
    assert events == {"got": "hello"}
    names = [name for _, name in steps("fx-sender")]
    assert names[0] == "DBOS.send"
    assert names[1] == "DBOS.getEvent"
    assert names[-1] == "DBOS.get_events"


def test_fx_validates_before_issuing(url: str) -> None:
    program = fx.recv("t", timeout_seconds=-1)
    with pytest.raises(ValueError):
        next(program)
    with pytest.raises(ValueError):
        next(fx.set_event("", 1))


# --- events -------------------------------------------------------------------------


def test_events_latest_value_wins(url: str) -> None:
    with SetWorkflowID("setter"):
        set_events([1, 2, 3], 0.0)
    assert DBOS.get_event("setter", "k", timeout_seconds=0) == 3
    assert DBOS.get_all_events("setter") == {"k": 3, "other": "x"}
    assert [name for _, name in steps("setter")] == ["DBOS.setEvent"] * 4


def test_get_event_waits_for_the_value(url: str) -> None:
    with SetWorkflowID("late-setter"):
        DBOS.start_workflow(set_events, [5], 0.3)
    started = time.monotonic()
    assert DBOS.get_event("late-setter", "k", timeout_seconds=10) == 5
    assert time.monotonic() - started < 5


def test_get_event_times_out_with_none(url: str) -> None:
    started = time.monotonic()
    assert DBOS.get_event("nobody", "k", timeout_seconds=0.3) is None
    assert time.monotonic() - started >= 0.3


def test_get_event_in_a_workflow_is_recorded(url: str) -> None:
    with SetWorkflowID("setter"):
        DBOS.start_workflow(set_events, [9], 0.5)
    with SetWorkflowID("getter"):
        assert get_event_in_workflow("setter", 10.0) == 9
    assert steps("getter") == [(1, "DBOS.getEvent"), (2, "DBOS.sleep")]
    with SetWorkflowID("getter-timeout"):
        assert get_event_in_workflow("nobody", 0.1) is None
    assert steps("getter-timeout") == [(1, "DBOS.getEvent"), (2, "DBOS.sleep")]


def test_set_event_in_a_step_is_not_checkpointed(url: str) -> None:
    with SetWorkflowID("stepper"):
        event_in_step()
    assert steps("stepper") == [(1, "comm_step_set_event")]
    assert DBOS.get_event("stepper", "from-step", timeout_seconds=0) == "v"


def test_set_event_errors(url: str) -> None:
    with pytest.raises(DBOSException, match=r"set_event\(\) must be called from within a workflow"):
        DBOS.set_event("k", 1)
    with pytest.raises(ValueError):
        DBOS.set_event("", 1)
    assert DBOS.get_all_events("nobody") == {}


# --- streams ------------------------------------------------------------------------


def test_stream_values_in_order_until_closed(url: str) -> None:
    with SetWorkflowID("writer"):
        DBOS.start_workflow(stream_writer, "s", [1, "two", None, {"n": 4}], 0.0, True)
    assert list(DBOS.read_stream("writer", "s")) == [1, "two", None, {"n": 4}]
    assert list(DBOS.read_stream("writer", "s", offset=2)) == [None, {"n": 4}]
    assert list(DBOS.read_stream("writer", "s", offset=10)) == []
    assert [name for _, name in steps("writer")] == ["DBOS.writeStream"] * 4 + ["DBOS.closeStream"]


def test_stream_ends_when_its_workflow_finishes_unclosed(url: str) -> None:
    with SetWorkflowID("writer"):
        stream_writer("s", [1, 2], 0.0, False)
    assert list(DBOS.read_stream("writer", "s")) == [1, 2]


def test_many_readers_of_one_stream(url: str) -> None:
    values = list(range(15))
    with SetWorkflowID("writer"):
        DBOS.start_workflow(stream_writer, "s", values, 0.02, True)
    results: list[list[Any]] = []
    lock = threading.Lock()

    def read(offset: int) -> None:
        got = list(DBOS.read_stream("writer", "s", offset=offset))
        with lock:
            results.append([offset, *got])

    threads = [threading.Thread(target=read, args=(i % 3,)) for i in range(6)]
    for thread in threads:
        thread.start()
    with SetWorkflowID("reader"):
        recorded = DBOS.start_workflow(stream_reader, "writer", "s", 5)
    for thread in threads:
        thread.join(timeout=30)
    for offset, *got in results:
        assert got == values[offset:]
    assert len(results) == 6
    assert recorded.get_result() == values[5:]
    names = [name for _, name in steps("reader")]
    assert names == ["DBOS.readStream"] * (len(values) - 5 + 1)  # one per value, plus the end


def test_read_stream_errors(url: str) -> None:
    with pytest.raises(DBOSNonExistentWorkflowError):
        list(DBOS.read_stream("nobody", "s"))
    with SetWorkflowID("quiet"):
        DBOS.start_workflow(recv_plan, ["t"], 5.0)
    with pytest.raises(DBOSStreamTimeoutError):
        next(DBOS.read_stream("quiet", "s", timeout_seconds=0.2))
    DBOS.send("quiet", "done", "t")
    with pytest.raises(DBOSException, match=r"write_stream\(\) must be called from within"):
        DBOS.write_stream("s", 1)
    with pytest.raises(DBOSException, match=r"close_stream\(\) must be called from within"):
        DBOS.close_stream("s")


def test_stream_written_in_a_step(url: str) -> None:
    with SetWorkflowID("stepper"):
        stream_in_step("s")
    assert steps("stepper") == [(1, "comm_step_write_stream")]
    assert list(DBOS.read_stream("stepper", "s")) == ["from-step"]


def test_recorded_stream_reads_replay_the_same_sequence(url: str) -> None:
    with SetWorkflowID("gated"):
        DBOS.start_workflow(stream_gated_writer, "s")
    with SetWorkflowID("reader"):
        DBOS.start_workflow(stream_reader_timeout, "gated", "s", 1.0)
    wait_until(has_step("reader", 4, "DBOS.sleep"))  # a, b, the timeout, then the sleep
    restart(url)
    DBOS.send("gated", "go", "go")  # the writer, recovered too, now writes c and closes
    assert DBOS.retrieve_workflow("reader").get_result(polling_interval_sec=0.05) == [
        "a",
        "b",
        "timeout",
    ]
    DBOS.retrieve_workflow("gated").get_result(polling_interval_sec=0.05)
    assert list(DBOS.read_stream("gated", "s")) == ["a", "b", "c"]


def test_close_marker_cannot_be_written_as_a_value(system_database_url: str) -> None:
    from transact import PortableJSONSerializer

    DBOS(
        config={
            "name": NAME,
            "system_database_url": system_database_url,
            "serializer": PortableJSONSerializer(),
        }
    )
    DBOS.launch()
    try:
        with SetWorkflowID("json-writer"):
            assert write_marker("s") == "rejected"
        assert list(DBOS.read_stream("json-writer", "s")) == []
        with SetWorkflowID("json-writer-2"):
            stream_writer("s", ["ok", "__DBOS_STREAM_CLOSED__x"], 0.0, True)
        assert list(DBOS.read_stream("json-writer-2", "s")) == ["ok", "__DBOS_STREAM_CLOSED__x"]
    finally:
        DBOS.destroy(destroy_registry=False)
