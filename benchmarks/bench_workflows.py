"""Workflows: the cost of a step, of an empty workflow, and start_workflow throughput.

- per step: N direct calls of a workflow of 10 trivial steps, minus N direct calls of an
  empty workflow, over 10N. A step is one checkpoint write, so its floor is one commit.
  (A difference of two timings is noisy: it gets more, shorter repetitions.)
- empty workflow: a direct call of a workflow with no step (its row is inserted PENDING,
  then finished: two writes), per call.
- ``start_workflow`` throughput: M empty workflows started at once (all in flight on the
  executor's threads), then every result awaited; workflows per second. The ratio is the
  time per workflow over one serial commit: below 2 means concurrent workflows share
  commits (the database's group commit), above it that the executor is the bottleneck.
"""

from __future__ import annotations

from benchmarks.app import empty_workflow, steps_workflow
from benchmarks.common import Context, Database, Row, launched, ratio_row, timed
from transact import DBOS

FAMILY = "workflows"
STEP_RATIO = 1.5
EMPTY_RATIO = 3.0


def run(ctx: Context, db: Database) -> list[Row]:
    sizes = ctx.sizes
    n, steps = sizes.workflows, sizes.steps
    floors: list[float] = []
    per_step: list[float] = []
    per_empty: list[float] = []
    start_floors: list[float] = []
    rates: list[float] = []
    with launched(db.url):
        for _ in range(3):  # warm up: pools, prepared statements, caches
            empty_workflow()
            steps_workflow(steps)
        # Many short repetitions, each bracketed by half a floor measurement on either
        # side, and alternating which block goes first: a burst of noise on the shared
        # machine then spoils one repetition, not the median.
        half = sizes.floor_commits // 2
        for rep in range(sizes.step_reps):
            before = db.floor.commit_ms(half)
            if rep % 2:
                steps_s = timed(lambda: [steps_workflow(steps) for _ in range(n)])
                empty_s = timed(lambda: [empty_workflow() for _ in range(n)])
            else:
                empty_s = timed(lambda: [empty_workflow() for _ in range(n)])
                steps_s = timed(lambda: [steps_workflow(steps) for _ in range(n)])
            floors.append((before + db.floor.commit_ms(half)) / 2)
            per_empty.append(empty_s * 1000 / n)
            per_step.append((steps_s - empty_s) * 1000 / (n * steps))
        for _ in range(sizes.reps):
            start_floors.append(db.floor.commit_ms(sizes.floor_commits))
            rates.append(sizes.started / timed(lambda: _start_all(sizes.started)))
    return [
        ratio_row(
            FAMILY,
            "per step (10-step workflow - empty) / 10",
            db,
            per_step,
            "ms",
            floors,
            max_ratio=STEP_RATIO,
            note=f"{sizes.step_reps} runs of {n} workflows of {steps} steps",
        ),
        ratio_row(
            FAMILY,
            "empty workflow, direct call",
            db,
            per_empty,
            "ms",
            floors,
            max_ratio=EMPTY_RATIO,
            note="2 writes: PENDING row, outcome",
        ),
        ratio_row(
            FAMILY,
            f"start_workflow throughput, {sizes.started} in flight",
            db,
            rates,
            "/s",
            start_floors,
            note="empty workflows; started, then all results awaited",
        ),
    ]


def _start_all(count: int) -> None:
    handles = [DBOS.start_workflow(empty_workflow) for _ in range(count)]
    for handle in handles:
        handle.get_result()
