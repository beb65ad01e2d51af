"""Recovery: launch on a database holding many PENDING workflows and finish them all.

Set-up (not timed) reproduces what a crash leaves: through the store API (as
``tests/test_workflows.py::test_recovery_resumes_pending_workflow_from_its_log`` does),
M rows of ``recover_workflow`` (two steps) are inserted PENDING for this executor, each
with its first step already checkpointed. Then DBOS is destroyed and a new instance is
timed from ``DBOS.launch()`` until every result is in (``DBOS.get_result`` on each id):
per workflow, the recovery claim, one log read, the replay of step 1, step 2's checkpoint
and the outcome. Workflows per second.
"""

from __future__ import annotations

import time
import uuid

from benchmarks.app import recover_workflow
from benchmarks.common import Context, Database, Row, config, launched, ratio_row
from transact import DBOS
from transact._core.checkpoint import Checkpoint
from transact._facade.launched import runtime
from transact._runtime.registry import spec_of

FAMILY = "recovery"
TARGET_RATE = 2000.0


def run(ctx: Context, db: Database) -> list[Row]:
    sizes = ctx.sizes
    count = sizes.recovery
    floors: list[float] = []
    rates: list[float] = []
    spec = spec_of(recover_workflow)
    assert spec is not None
    for _ in range(sizes.recovery_reps):
        prefix = f"bench-{uuid.uuid4().hex[:8]}"
        ids = [f"{prefix}-{i}" for i in range(count)]
        with launched(db.url):  # the executor that "crashes"
            rt = runtime()
            for i, workflow_id in enumerate(ids):
                rt.store.insert_workflow(rt.new_record(spec, workflow_id, (i,), {}))
                first = Checkpoint(1, "bench_add_one", output=rt.serializer.serialize(i + 1))
                rt.store.record_checkpoint(workflow_id, first)
        floors.append(db.floor.commit_ms(sizes.floor_commits))
        DBOS(config=config(db.url))
        try:
            start = time.perf_counter()
            DBOS.launch()
            results = [DBOS.get_result(workflow_id) for workflow_id in ids]
            elapsed = time.perf_counter() - start
        finally:
            DBOS.destroy()
        if results != [i + 2 for i in range(count)]:
            raise RuntimeError("recovered workflows returned wrong results")
        rates.append(count / elapsed)
    return [
        ratio_row(
            FAMILY,
            f"recovery: launch + {count} pending workflows finished",
            db,
            rates,
            "/s",
            floors,
            min_rate=TARGET_RATE,
            note="each: 1 step replayed from its log, 1 step run",
        )
    ]
