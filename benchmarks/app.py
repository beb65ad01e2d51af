"""The workflows the benchmarks run, registered in every benchmark process (main and peers).

Latency workflows stamp ``time.monotonic()`` into the values they pass and return the
latencies they saw as their result, so a peer process hands its samples back through
the workflow's own outcome. (Reading the clock in workflow code is not replay-safe;
these workflows are never replayed.) CLOCK_MONOTONIC is one clock for every process of
the host, so stamps compare across processes.
"""

from __future__ import annotations

import time

from transact import DBOS

SETTLE_S = 0.002
"""Pause before stamping a value that a partner waits for, so the partner is already
blocked in its wait (and not in the read just before it) when the value is written:
latencies then include the wake-up, as they would for a waiter that really waits."""

WAIT_S = 30.0


@DBOS.step(name="bench_step")
def trivial_step() -> None:
    """A step that does nothing: its cost is the library's and the checkpoint's."""
    return None


@DBOS.step(name="bench_add_one")
def add_one(value: int) -> int:
    return value + 1


@DBOS.workflow(name="bench_empty")
def empty_workflow() -> None:
    return None


@DBOS.workflow(name="bench_steps")
def steps_workflow(count: int) -> None:
    for _ in range(count):
        trivial_step()


@DBOS.workflow(name="bench_one_step")
def one_step_workflow() -> None:
    trivial_step()


@DBOS.workflow(name="bench_recover")
def recover_workflow(value: int) -> int:
    """Two steps; the recovery benchmark records the first one before the "crash"."""
    return add_one(add_one(value))


def _recv(topic: str) -> float:
    value = DBOS.recv(topic, timeout_seconds=WAIT_S)
    if not isinstance(value, float):
        raise RuntimeError(f"no {topic!r} message within {WAIT_S} s (got {value!r})")
    return value


@DBOS.workflow(name="bench_echo")
def echo_workflow(partner_id: str, count: int) -> list[float]:
    """Answer ``count`` pings from ``partner_id`` with pongs; return the ping latencies."""
    latencies = []
    for _ in range(count):
        sent = _recv("ping")
        latencies.append(time.monotonic() - sent)
        time.sleep(SETTLE_S)
        DBOS.send(partner_id, time.monotonic(), "pong")
    return latencies


@DBOS.workflow(name="bench_ping")
def ping_workflow(echo_id: str, count: int) -> list[float]:
    """Send ``count`` pings to ``echo_id``, each after the pong of the previous one;
    return the pong latencies."""
    latencies = []
    for _ in range(count):
        time.sleep(SETTLE_S)
        DBOS.send(echo_id, time.monotonic(), "ping")
        sent = _recv("pong")
        latencies.append(time.monotonic() - sent)
    return latencies


@DBOS.workflow(name="bench_event_setter")
def event_setter_workflow(count: int) -> int:
    """For each "go" message, set event ``k<i>`` to the time just before setting it."""
    for i in range(count):
        _recv("go")
        time.sleep(SETTLE_S)
        DBOS.set_event(f"k{i}", time.monotonic())
    return count


@DBOS.workflow(name="bench_stream_writer")
def stream_writer_workflow(count: int) -> int:
    for i in range(count):
        DBOS.write_stream("values", i)
    DBOS.close_stream("values")
    return count
