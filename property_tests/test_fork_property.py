"""Property: forking a deterministic workflow at any position gives the original's result,
and exactly the operations from ``start_step`` on run again.

Programs are generated lists of operations (steps, failing steps, sleeps, child
workflows, events, stream writes, reads of the workflow's own events and stream). Each
program runs once; then it is forked at every position from 1 to its last function id
+ 1. Steps count their runs in ``runs``, outside the library. The reads make the
property check the copied state as well: a read that runs again in the fork sees the
events and stream entries the fork started with, so a wrong copy changes the result.
"""

from __future__ import annotations

import os
import pathlib
import uuid
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings

from tests._pg import drop_database, recreate_database, require_postgres
from tests.strategies import Op, fork_programs
from transact import DBOS, SetWorkflowID
from transact._facade.launched import runtime

runs: Counter[tuple[str, int]] = Counter()

# Function ids each operation takes (DBOS numbering): a direct child call takes two,
# its start at N and its result at N + 1.
IDS = {
    "step": 1,
    "fail": 1,
    "sleep": 1,
    "child": 2,
    "event": 1,
    "stream": 1,
    "peek_events": 1,
    "peek_stream": 1,
}
# Operations that run user code (and so count runs) when they execute.
COUNTED = {"step", "fail", "child", "peek_stream"}


@DBOS.step(name="forkprop.double")
def double(tag: str, index: int, value: int) -> int:
    runs[(tag, index)] += 1
    return value * 2


@DBOS.step(name="forkprop.refuse")
def refuse(tag: str, index: int, value: int) -> int:
    runs[(tag, index)] += 1
    raise ValueError(value)


@DBOS.step(name="forkprop.stream_length")
def stream_length(tag: str, index: int) -> int:
    runs[(tag, index)] += 1
    workflow_id = DBOS.workflow_id
    assert workflow_id is not None
    store = runtime().store
    length = 0
    while store.read_stream(workflow_id, "s", length).value is not None:
        length += 1
    return length


@DBOS.workflow(name="forkprop_child")
def child(tag: str, index: int, value: int) -> int:
    return double(tag, index, value) + 1


@DBOS.workflow(name="forkprop_program")
def program(tag: str, ops: list[Op]) -> list[Any]:
    results: list[Any] = []
    for index, (kind, value) in enumerate(ops):
        if kind == "step":
            results.append(double(tag, index, value))
        elif kind == "fail":
            try:
                refuse(tag, index, value)
            except ValueError as exc:
                results.append(-int(exc.args[0]))
        elif kind == "sleep":
            DBOS.sleep(0.0001)
            results.append(None)
        elif kind == "child":
            results.append(child(tag, index, value))
        elif kind == "event":
            DBOS.set_event(f"k{value % 2}", value)
            results.append(None)
        elif kind == "stream":
            DBOS.write_stream("s", value)
            results.append(None)
        elif kind == "peek_events":
            workflow_id = DBOS.workflow_id
            assert workflow_id is not None
            results.append(DBOS.get_all_events(workflow_id))
        elif kind == "peek_stream":
            results.append(stream_length(tag, index))
    return results


programs = fork_programs(IDS)
# A program where a wrong copy of the latest events or of the stream shows.
OVERWRITES: list[Op] = [
    ("event", 1),
    ("stream", 1),
    ("peek_events", 0),
    ("peek_stream", 0),
    ("event", 3),
    ("stream", 2),
    ("peek_events", 0),
]


def first_ids(ops: list[Op]) -> list[int]:
    """The first function id of each operation."""
    ids, next_id = [], 1
    for kind, _ in ops:
        ids.append(next_id)
        next_id += IDS[kind]
    return ids


@pytest.fixture(params=["memory", "sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def launched_url(request: pytest.FixtureRequest, tmp_path: pathlib.Path) -> Iterator[str]:
    """DBOS launched on a fresh database of each store kind (as ``system_database_url``
    in ``tests/conftest.py``, which property tests cannot reach)."""
    kind: str = request.param
    database = f"transact_fork_prop_{os.getpid()}"
    if kind == "memory":
        url = f"memory://prop-fork-{uuid.uuid4().hex}"
    elif kind == "sqlite":
        url = f"sqlite:///{tmp_path}/prop-fork.sqlite"
    else:
        require_postgres()
        url = recreate_database(database)
    DBOS.destroy(destroy_registry=False)
    DBOS(config={"name": "prop-fork", "system_database_url": url})
    DBOS.launch()
    try:
        yield url
    finally:
        DBOS.destroy(destroy_registry=False)
        if kind == "postgres":
            drop_database(database)


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(ops=programs)
@example(ops=OVERWRITES)
def test_a_fork_reruns_exactly_the_steps_from_start_step(launched_url: str, ops: list[Op]) -> None:
    # Examples share one database, so every example works under its own tag.
    tag = f"fork-{uuid.uuid4().hex}"
    with SetWorkflowID(tag):
        expected = program(tag, ops)
    starts = first_ids(ops)
    log = DBOS.list_workflow_steps(tag)
    last = log[-1]["function_id"]
    assert last == starts[-1] + IDS[ops[-1][0]] - 1  # the numbering the test assumes
    original_events = DBOS.get_all_events(tag)
    original_stream = list(DBOS.read_stream(tag, "s", timeout_seconds=5))

    for start_step in range(1, last + 2):
        runs.clear()
        fork = DBOS.fork_workflow(tag, start_step)
        assert fork.get_result(polling_interval_sec=0.01) == expected, start_step
        again = Counter(
            {
                (tag, index): 1
                for index, (kind, _) in enumerate(ops)
                # A child runs again only if its start does; from its result on, the
                # fork attaches to the original's finished child.
                if kind in COUNTED and starts[index] >= start_step
            }
        )
        assert runs == again, (start_step, ops)
        assert [
            (s["function_id"], s["function_name"])
            for s in DBOS.list_workflow_steps(fork.workflow_id)
        ] == [(s["function_id"], s["function_name"]) for s in log]
        assert DBOS.get_all_events(fork.workflow_id) == original_events
        assert list(DBOS.read_stream(fork.workflow_id, "s", timeout_seconds=5)) == (original_stream)
