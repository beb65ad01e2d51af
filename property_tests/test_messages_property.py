"""Property: any interleaving of sends, receives and restarts delivers each message
exactly once, in order per topic.

A receiver workflow performs the receives of the generated sequence in lockstep with the
test: before each receive it waits for a ``go`` message, then takes one message of its
topic without waiting (``timeout_seconds=0``) and publishes what it got as an event. So
every receive happens at its place in the sequence, and a plain queue per topic (the
model) says what it must return: the oldest message not yet received, or None. Sends come
from outside any workflow (some with an idempotency key, some repeated), or from a sender
workflow. A restart destroys the runtime and launches it again; the receiver is recovered
from its log and must neither lose nor repeat a message.
"""

from __future__ import annotations

import time
import uuid
from collections import deque
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from tests.strategies import MessageOp as Op
from tests.strategies import Topic, message_ops
from transact import DBOS, SetWorkflowID

RECEIVER = "receiver"
GO = "__go"
IDS_PER_RECEIVE = 5  # recv go (2 ids), recv topic (2 ids), set_event (1 id)

ops = message_ops


@DBOS.workflow(name="prop_msg_receiver")
def receiver(plan: list[Topic]) -> list[Any]:
    got: list[Any] = []
    for i, topic in enumerate(plan):
        DBOS.recv(GO, timeout_seconds=60)
        message = DBOS.recv(topic, timeout_seconds=0)
        DBOS.set_event(f"r{i}", [message])  # wrapped: get_event's None means "not yet"
        got.append(message)
    return got


@DBOS.workflow(name="prop_msg_sender")
def sender(destination: str, message: int, topic: Topic) -> None:
    DBOS.send(destination, message, topic)


def launch(url: str) -> None:
    DBOS.destroy()
    DBOS(config={"name": "prop-messages", "system_database_url": url})
    DBOS.launch()


def wait_until_waiting(receives_done: int) -> None:
    """Wait until the receiver waits for its next ``go`` (its deadline is recorded), so a
    restart interrupts a wait rather than a write."""
    position = IDS_PER_RECEIVE * receives_done + 2
    deadline = time.monotonic() + 10
    while not any(
        s["function_id"] == position and s["function_name"] == "DBOS.sleep"
        for s in DBOS.list_workflow_steps(RECEIVER)
    ):
        assert time.monotonic() < deadline, "the receiver never started waiting"
        time.sleep(0.002)


@settings(max_examples=30, deadline=None)
@given(st.lists(ops, max_size=25))
def test_each_message_is_delivered_once_in_order_per_topic(program: list[Op]) -> None:
    url = f"memory://prop-messages-{uuid.uuid4().hex}"
    launch(url)
    try:
        plan: list[Topic] = [op[1] for op in program if op[0] == "recv"]
        with SetWorkflowID(RECEIVER):
            handle = DBOS.start_workflow(receiver, plan)
        model: dict[Topic, deque[int]] = {None: deque(), "a": deque(), "b": deque()}
        expected: list[Any] = []
        last_keyed: tuple[int, Topic] | None = None
        for n, op in enumerate(program):
            if op[0] == "send":
                _, topic, how = op
                if how == "workflow":
                    sender(RECEIVER, n, topic)
                elif how == "keyed":
                    DBOS.send(RECEIVER, n, topic, idempotency_key=f"k{n}")
                    last_keyed = (n, topic)
                else:
                    DBOS.send(RECEIVER, n, topic)
                model[topic].append(n)
            elif op[0] == "repeat":
                if last_keyed is not None:  # the same key again: must not deliver twice
                    message, topic = last_keyed
                    DBOS.send(RECEIVER, message, topic, idempotency_key=f"k{message}")
            elif op[0] == "recv":
                i = len(expected)
                want = model[op[1]].popleft() if model[op[1]] else None
                expected.append(want)
                DBOS.send(RECEIVER, i, GO)
                assert DBOS.get_event(RECEIVER, f"r{i}", timeout_seconds=10) == [want]
            else:
                if len(expected) < len(plan):
                    wait_until_waiting(len(expected))
                launch(url)  # the receiver is recovered from its log
        assert handle.get_workflow_id() == RECEIVER
        result = DBOS.retrieve_workflow(RECEIVER).get_result(polling_interval_sec=0.01)
        assert result == expected
    finally:
        DBOS.destroy()
