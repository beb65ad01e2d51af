"""Counting the batches a group-commit queue writes (SQLite group commit, Postgres batches)."""

from __future__ import annotations

from transact._store.sql.group_commit import GroupCommit, Write


def counted_batches(group: GroupCommit) -> list[int]:
    """The sizes of the batches ``group`` commits from now on."""
    sizes: list[int] = []
    original = group._commit

    def counting(writes: list[Write]) -> None:
        sizes.append(len(writes))
        original(writes)

    group._commit = counting
    return sizes
