"""Streams: the cost of ``DBOS.write_stream`` in workflow code, and read throughput.

- write: a workflow writes K small values (each an append and its checkpoint, one
  transaction), then closes the stream; its direct call's time over K. (The workflow's own
  start and finish, and the close, are spread over the K writes: under 1% at K = 500.)
- read: once the writer has finished, ``DBOS.read_stream`` outside any workflow reads
  the K values and the end; values per second. Its floor is the serial commit rate, for
  scale only: a read commits nothing.
"""

from __future__ import annotations

import time
import uuid

from benchmarks.app import stream_writer_workflow
from benchmarks.common import Context, Database, Row, launched, missing_api, ratio_row, timed
from benchmarks.common import unavailable as unavailable_row
from transact import DBOS, SetWorkflowID

FAMILY = "streams"
API = ("write_stream", "close_stream", "read_stream")


def run(ctx: Context, db: Database) -> list[Row]:
    absent = missing_api(*API)
    if absent:
        why = f"not available yet (DBOS.{', DBOS.'.join(absent)})"
        return [
            unavailable_row(FAMILY, "stream write, in workflow code", db, why),
            unavailable_row(FAMILY, "stream read throughput", db, why),
        ]
    sizes = ctx.sizes
    count = sizes.stream_values
    floors: list[float] = []
    writes: list[float] = []
    reads: list[float] = []
    with launched(db.url):
        stream_writer_workflow(3)  # warm up
        for _ in range(sizes.reps):
            floors.append(db.floor.commit_ms(sizes.floor_commits))
            workflow_id = f"bench-{uuid.uuid4().hex[:12]}"
            with SetWorkflowID(workflow_id):
                writes.append(timed(lambda: stream_writer_workflow(count)) * 1000 / count)
            start = time.perf_counter()
            values = list(DBOS.read_stream(workflow_id, "values"))
            seconds = time.perf_counter() - start
            if values != list(range(count)):
                raise RuntimeError(f"read back {len(values)} values, expected {count}")
            reads.append(count / seconds)
    return [
        ratio_row(
            FAMILY, "stream write, in workflow code", db, writes, "ms", floors,
            note=f"{count} values per workflow",
        ),
        ratio_row(
            FAMILY, "stream read throughput, finished stream", db, reads, "/s", floors,
            note="values per second, outside any workflow",
        ),
    ]  # fmt: skip
