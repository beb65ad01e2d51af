"""Helpers for the tests of batched writes (SQLite group commit, Postgres batches)."""

from __future__ import annotations

import threading

from transact._core.checkpoint import Checkpoint
from transact._store.protocol import Store
from transact._store.sql.engine.group_commit import GroupCommit, Write


def counted_batches(group: GroupCommit) -> list[int]:
    """The sizes of the batches ``group`` commits from now on."""
    sizes: list[int] = []
    original = group._commit

    def counting(writes: list[Write]) -> None:
        sizes.append(len(writes))
        original(writes)

    group._commit = counting
    return sizes


def write_steps_at_once(store: Store, threads: int, steps: int) -> None:
    """Workflows ``w0``... (PENDING already) each record ``steps`` checkpoints, one
    thread per workflow, all at once; then each log must hold exactly those, in order."""
    errors: list[BaseException] = []

    def run(i: int) -> None:
        try:
            for step in range(1, steps + 1):
                store.record_checkpoint(f"w{i}", Checkpoint(step, "step", output=str(step)))
        except BaseException as exc:  # CheckpointConflict is not an Exception
            errors.append(exc)

    workers = [threading.Thread(target=run, args=(i,)) for i in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(30)
        assert not worker.is_alive()
    assert errors == []
    for i in range(threads):
        assert [c.output for c in store.load_checkpoints(f"w{i}")] == [
            str(s) for s in range(1, steps + 1)
        ]
