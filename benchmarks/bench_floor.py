"""The floor itself: a raw single-row INSERT+COMMIT, serially and from several connections.

Every other family measures this again, interleaved with its own repetitions; this
family only shows it on its own, and how far concurrent connections raise the rate the
database can commit at (Postgres flushes concurrent commits' WAL together; SQLite
serializes writers, one fsync each).
"""

from __future__ import annotations

from benchmarks.common import Context, Database, Row, Stats

FAMILY = "floor"


def run(ctx: Context, db: Database) -> list[Row]:
    sizes = ctx.sizes
    serial: list[float] = []
    concurrent: list[float] = []
    for _ in range(sizes.reps):
        serial.append(db.floor.commit_ms(sizes.floor_commits))
        concurrent.append(db.floor.concurrent_rate(sizes.floor_threads, sizes.floor_commits // 2))
    return [
        Row(FAMILY, "floor: INSERT+COMMIT, 1 connection", db.label, Stats.of(serial), "ms"),
        Row(
            FAMILY,
            f"floor: INSERT+COMMIT, {sizes.floor_threads} connections",
            db.label,
            Stats.of(concurrent),
            "/s",
            note="commits per second, all connections together",
        ),
    ]
