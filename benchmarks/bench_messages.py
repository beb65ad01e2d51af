"""Messages and events: send→recv and set_event→get_event latency, in one process and
across two.

- send→recv: two workflows play ping-pong (``benchmarks.app``). Each message carries the
  monotonic time taken just before ``DBOS.send``; the latency is the time at which the
  partner's ``DBOS.recv`` returns it, minus that. So it covers the sender's transaction
  (message + checkpoint), the wake-up and the receiver's transaction (consume +
  checkpoint): at least two commits.
- set_event→get_event: a workflow sets event ``k<i>`` (to the time just before
  ``DBOS.set_event``) when told to by a message; the caller, outside any workflow, waits
  in ``DBOS.get_event`` for it. At least one commit and one read.

Across two processes the partner runs in ``benchmarks.peer``. On Postgres other processes
are woken by LISTEN/NOTIFY; on SQLite by the change log's watcher, which polls
``PRAGMA data_version`` every 5 ms.

Each run's figure is the median latency of its messages; the note gives the 90th
percentile over every message of every run.
"""

from __future__ import annotations

import statistics
import time
import uuid
from collections.abc import Callable

from benchmarks.app import WAIT_S, echo_workflow, event_setter_workflow, ping_workflow
from benchmarks.common import (
    Context,
    Database,
    Row,
    launched,
    missing_api,
    ratio_row,
    unavailable,
)
from benchmarks.peer import peer
from transact import DBOS, SetWorkflowID

FAMILY = "messages"
TARGET_MS = 1.0
MESSAGE_API = ("send", "recv")
EVENT_API = ("send", "recv", "set_event", "get_event")


def run(ctx: Context, db: Database) -> list[Row]:
    rows: list[Row] = []
    names = {
        "send→recv, one process": MESSAGE_API,
        "set_event→get_event, one process": EVENT_API,
        "send→recv, two processes": MESSAGE_API,
        "set_event→get_event, two processes": EVENT_API,
    }
    for name, api in names.items():
        absent = missing_api(*api)
        if absent:
            rows.append(
                unavailable(FAMILY, name, db, f"not available yet (DBOS.{', DBOS.'.join(absent)})")
            )
    if len(rows) == len(names):
        return rows
    sizes = ctx.sizes
    remote_reps = min(sizes.reps, 3)
    with launched(db.url):
        if not missing_api(*MESSAGE_API):
            rows.append(_row(ctx, db, "send→recv, one process", _ping_pong_local, sizes.reps))
            rows.append(
                _row(ctx, db, "send→recv, two processes", _ping_pong_remote, remote_reps, False)
            )
        if not missing_api(*EVENT_API):
            rows.append(
                _row(ctx, db, "set_event→get_event, one process", _events_local, sizes.reps)
            )
            rows.append(
                _row(
                    ctx,
                    db,
                    "set_event→get_event, two processes",
                    _events_remote,
                    remote_reps,
                    False,
                )
            )
    return rows


Sampler = Callable[[Context, Database, int, Callable[[], None]], list[list[float]]]
"""Runs ``reps`` repetitions, calling the hook before each (it measures the floor);
returns each repetition's latencies in seconds."""


def _row(
    ctx: Context, db: Database, name: str, sampler: Sampler, reps: int, local: bool = True
) -> Row:
    floors: list[float] = []
    runs = sampler(
        ctx, db, reps, lambda: floors.append(db.floor.commit_ms(ctx.sizes.floor_commits))
    )
    medians = [statistics.median(run) * 1000 for run in runs]
    every = sorted(x * 1000 for run in runs for x in run)
    note = f"{len(every)} messages; p90 {every[int(0.9 * (len(every) - 1))]:.2f} ms"
    max_ms = TARGET_MS if local else None
    return ratio_row(FAMILY, name, db, medians, "ms", floors, max_ms=max_ms, note=note)


def _ids() -> str:
    return f"bench-{uuid.uuid4().hex[:12]}"


def _ping_pong_local(
    ctx: Context, _db: Database, reps: int, before: Callable[[], None]
) -> list[list[float]]:
    count = ctx.sizes.messages
    runs = []
    for _ in range(reps):
        before()
        prefix = _ids()
        echo_id, ping_id = f"{prefix}-echo", f"{prefix}-ping"
        with SetWorkflowID(echo_id):
            echo = DBOS.start_workflow(echo_workflow, ping_id, count)
        with SetWorkflowID(ping_id):
            ping = DBOS.start_workflow(ping_workflow, echo_id, count)
        runs.append(echo.get_result() + ping.get_result())
    return runs


def _ping_pong_remote(
    ctx: Context, db: Database, reps: int, before: Callable[[], None]
) -> list[list[float]]:
    count = ctx.sizes.messages_remote
    prefix = _ids()
    runs = []
    with peer("echo", db.url, prefix, count, reps) as other:
        for rep in range(reps):
            other.expect(f"ready {rep}")
            before()
            echo_id, ping_id = f"{prefix}-echo-{rep}", f"{prefix}-ping-{rep}"
            with SetWorkflowID(ping_id):
                ping = DBOS.start_workflow(ping_workflow, echo_id, count)
            pongs = ping.get_result()
            pings: list[float] = DBOS.retrieve_workflow(echo_id).get_result(
                polling_interval_sec=0.05
            )
            runs.append(pings + pongs)
        other.expect("done")
    return runs


def _read_events(setter_id: str, count: int) -> list[float]:
    latencies = []
    for i in range(count):
        DBOS.send(setter_id, time.monotonic(), "go")
        value = DBOS.get_event(setter_id, f"k{i}", timeout_seconds=WAIT_S)
        if not isinstance(value, float):
            raise RuntimeError(f"event k{i} of {setter_id} not set within {WAIT_S} s")
        latencies.append(time.monotonic() - value)
    return latencies


def _events_local(
    ctx: Context, _db: Database, reps: int, before: Callable[[], None]
) -> list[list[float]]:
    count = ctx.sizes.messages
    runs = []
    for _ in range(reps):
        before()
        setter_id = f"{_ids()}-setter"
        with SetWorkflowID(setter_id):
            setter = DBOS.start_workflow(event_setter_workflow, count)
        runs.append(_read_events(setter_id, count))
        setter.get_result()
    return runs


def _events_remote(
    ctx: Context, db: Database, reps: int, before: Callable[[], None]
) -> list[list[float]]:
    count = ctx.sizes.messages_remote
    prefix = _ids()
    runs = []
    with peer("events", db.url, prefix, count, reps) as other:
        for rep in range(reps):
            other.expect(f"ready {rep}")
            before()
            runs.append(_read_events(f"{prefix}-setter-{rep}", count))
        other.expect("done")
    return runs
