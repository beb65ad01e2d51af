"""The benchmark driver: runs the families on SQLite and Postgres, prints and records them."""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
import traceback
from collections.abc import Callable, Sequence
from importlib.metadata import version
from pathlib import Path

import psycopg

from benchmarks import (
    bench_floor,
    bench_messages,
    bench_queues,
    bench_recovery,
    bench_streams,
    bench_workflows,
)
from benchmarks.common import (
    DEFAULT_POSTGRES_SERVER,
    HEADER,
    LABELS,
    Context,
    Database,
    Kind,
    Row,
    Sizes,
    SQLiteFloor,
    cpu_count,
    libpq,
    open_database,
    postgres_available,
)

Family = Callable[[Context, Database], list[Row]]
FAMILIES: dict[str, Family] = {
    bench_floor.FAMILY: bench_floor.run,
    bench_workflows.FAMILY: bench_workflows.run,
    bench_messages.FAMILY: bench_messages.run,
    bench_streams.FAMILY: bench_streams.run,
    bench_recovery.FAMILY: bench_recovery.run,
    bench_queues.FAMILY: bench_queues.run,
}
KINDS: tuple[Kind, ...] = ("sqlite", "postgres")
HERE = Path(__file__).resolve().parent
RESULTS = HERE / "RESULTS.md"
MARKER = "<!-- new runs are inserted below this line, newest first -->"
PREAMBLE = f"""# Benchmark results

Written by `make bench` (`benchmarks/run.py`). Each run is inserted at the top, above the
previous ones, so regressions show; how to read the columns: `benchmarks/README.md`.
Ratios compare figures measured in the same run, on the same database and settings.

{MARKER}
"""


def parse(argv: Sequence[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="benchmarks/run.py", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="a ~1-minute smoke run")
    parser.add_argument(
        "--only", default="", help=f"comma-separated families ({', '.join(FAMILIES)})"
    )
    parser.add_argument("--db", default="sqlite,postgres", help="comma-separated: sqlite,postgres")
    parser.add_argument(
        "--postgres-url",
        default=os.environ.get("TRANSACT_BENCH_POSTGRES_URL", DEFAULT_POSTGRES_SERVER),
        help="a server URL; the run creates and drops databases transact_bench_*",
    )
    parser.add_argument("--no-write", action="store_true", help=f"do not update {RESULTS.name}")
    return parser.parse_args(argv)


def main(argv: Sequence[str]) -> int:
    args = parse(argv)
    families = [f for f in args.only.split(",") if f] or list(FAMILIES)
    kinds = [k for k in KINDS if k in args.db.split(",")]
    unknown = set(families) - set(FAMILIES)
    if unknown or not kinds:
        raise SystemExit(f"unknown family {sorted(unknown)} or no database in {args.db!r}")
    ctx = Context(
        sizes=Sizes.quick() if args.quick else Sizes.full(), postgres_server=args.postgres_url
    )
    started = time.perf_counter()
    postgres_down = postgres_available(ctx.postgres_server) if "postgres" in kinds else None
    rows: list[Row] = []
    failures = 0
    for family in families:
        for kind in kinds:
            ctx.log(f"--- {family} on {LABELS[kind]}")
            if kind == "postgres" and postgres_down:
                rows.append(Row(family, family, LABELS[kind], None, "ms", note=postgres_down))
                continue
            try:
                with open_database(ctx, kind, family) as db:
                    new = FAMILIES[family](ctx, db)
            except Exception as exc:
                traceback.print_exc()
                failures += 1
                new = [Row(family, family, LABELS[kind], None, "ms", note=f"FAILED: {exc!r}"[:200])]
            for row in new:
                ctx.log("    " + " | ".join(cell for cell in row.cells() if cell))
            rows.extend(new)
    elapsed = time.perf_counter() - started
    shutil.rmtree(ctx.scratch, ignore_errors=True)
    section = render(ctx, args, rows, elapsed)
    print()
    print(section)
    if not args.no_write:
        prepend(section)
        print(f"(prepended to {RESULTS})")
    return 1 if failures else 0


def render(ctx: Context, args: argparse.Namespace, rows: list[Row], elapsed: float) -> str:
    now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    mode = "quick run (--quick)" if args.quick else "full run"
    lines = [f"## {now} — {mode}", ""]
    lines += [f"- {item}" for item in machine(ctx)]
    lines.append(f"- run time {elapsed:.0f} s; {ctx.sizes.reps} runs per figure (recovery "
                 f"{ctx.sizes.recovery_reps}, cross-process and queues at most 3)")  # fmt: skip
    lines += ["", "| " + " | ".join(HEADER) + " |", "|" + "---|" * len(HEADER)]
    for family in dict.fromkeys(r.family for r in rows):
        for kind in KINDS:
            for row in rows:
                if row.family == family and row.database == LABELS[kind]:
                    lines.append("| " + " | ".join(row.cells()) + " |")
    return "\n".join(lines) + "\n"


def machine(ctx: Context) -> list[str]:
    """The run's environment, one item per line."""
    items = [
        f"machine: {_cpu_model()}, {cpu_count()} cores, {_memory()} RAM; {platform.platform()}",
        f"Python {platform.python_version()} ({platform.python_implementation()}); "
        f"SQLAlchemy {version('sqlalchemy')}, psycopg {version('psycopg')}",
        f"SQLite {sqlite3.sqlite_version}, {_sqlite_settings()}, file in {tempfile.gettempdir()}",
        f"Postgres {_postgres_settings(ctx.postgres_server)}",
        f"transact {_revision()}",
    ]
    return items


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def _memory() -> str:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return f"{int(line.split()[1]) / 1024**2:.1f} GiB"
    except OSError:
        pass
    return "unknown"


def _sqlite_settings() -> str:
    folder = Path(tempfile.mkdtemp(prefix="transact_bench_probe_"))
    try:
        return SQLiteFloor(folder / "probe.sqlite").synchronous()
    finally:
        for path in folder.iterdir():
            path.unlink()
        folder.rmdir()


def _postgres_settings(server: str) -> str:
    try:
        with psycopg.connect(libpq(server), connect_timeout=3) as conn:
            values = [
                str(conn.execute(f"SHOW {name}").fetchone()[0])  # type: ignore[index]
                for name in ("server_version", "synchronous_commit", "fsync")
            ]
    except psycopg.Error as exc:
        return f"unavailable ({str(exc).splitlines()[0]})"
    host = server.split("@")[-1].split("/")[0]
    return f"{values[0]} at {host}, synchronous_commit={values[1]}, fsync={values[2]}"


def _revision() -> str:
    def git(*args: str) -> str:
        return subprocess.run(
            ["git", *args], cwd=HERE.parent, capture_output=True, text=True, check=False
        ).stdout.strip()

    commit = git("rev-parse", "--short", "HEAD") or "unknown commit"
    dirty = git("status", "--porcelain", "--", "src")
    return f"{version('transact')} at {commit}" + (
        " + uncommitted changes in src/" if dirty else ""
    )


def prepend(section: str) -> None:
    """Insert ``section`` above the previous runs in RESULTS.md, keeping them all."""
    old = RESULTS.read_text() if RESULTS.exists() else ""
    if MARKER in old:
        head, tail = old.split(MARKER, 1)
        tail = tail.lstrip("\n")
        text = f"{head}{MARKER}\n\n{section}" + (f"\n{tail}" if tail else "")
    else:
        text = f"{PREAMBLE}\n{section}" + (f"\n{old}" if old.strip() else "")
    RESULTS.write_text(text)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
