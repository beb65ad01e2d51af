"""What every benchmark family shares: statistics, result rows, databases, floors, DBOS.

A family is a function ``run(ctx: Context, db: Database) -> list[Row]``. It repeats its
measurement ``ctx.sizes.reps`` times; each repetition measures the floor (a raw
single-row INSERT+COMMIT on the same database) right before the library's figure, so a
burst of noise from the shared machine hits both.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import shutil
import sqlite3
import statistics
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit, urlunsplit

import psycopg

from transact import DBOS, DBOSConfig, DefaultSerializer

Kind = Literal["sqlite", "postgres"]
LABELS: dict[Kind, str] = {"sqlite": "SQLite", "postgres": "Postgres"}

DEFAULT_POSTGRES_SERVER = "postgresql://postgres@127.0.0.1:5432/postgres"
APPLICATION_VERSION = "bench"
"""Every benchmark process runs this version, so recovery and peers see one another."""

CHECKPOINT_OUTPUT = DefaultSerializer().serialize(None)
"""A trivial step's recorded output (its return value None, pickled): the floor's payload."""
CHECKPOINT_NAME = "bench_step"


# --- statistics and rows ---------------------------------------------------------------


@dataclass(frozen=True)
class Stats:
    """The median and range of one figure over several repetitions."""

    median: float
    low: float
    high: float
    runs: int

    @classmethod
    def of(cls, samples: Sequence[float]) -> Stats:
        if not samples:
            raise ValueError("no samples")
        return cls(statistics.median(samples), min(samples), max(samples), len(samples))

    def show(self, digits: int = 3) -> str:
        median, low, high = (_num(x, digits) for x in (self.median, self.low, self.high))
        return f"{median} [{low}..{high}]"


def _num(value: float, digits: int) -> str:
    if abs(value) >= 100:
        return f"{value:,.0f}"
    return f"{value:.{digits}g}" if abs(value) < 1 else f"{value:.{digits - 1}f}"


Unit = Literal["ms", "/s"]


@dataclass(frozen=True)
class Row:
    """One line of the results table.

    ``value`` is in ``unit``: milliseconds per operation ("ms", lower is better) or
    operations per second ("/s", higher is better). ``floor`` is always milliseconds per
    raw INSERT+COMMIT. ``ratios`` compare costs repetition by repetition: the library's
    time per operation over the floor measured just before it (for a rate, 1000/rate over
    the floor); pairing them cancels the machine's slow drifts.
    """

    family: str
    name: str
    database: str
    value: Stats | None
    unit: Unit
    floor: Stats | None = None
    ratios: Stats | None = None
    target: str = ""
    met: bool | None = None
    note: str = ""

    @property
    def ratio(self) -> float | None:
        """The median of the paired ratios."""
        return None if self.ratios is None else self.ratios.median

    def cells(self) -> list[str]:
        value = "—" if self.value is None else f"{self.value.show()} {self.unit}"
        floor = "" if self.floor is None else f"{self.floor.show()} ms"
        r = self.ratios
        ratio = "" if r is None else f"{r.median:.2f}x [{r.low:.2f}..{r.high:.2f}]"
        met = {None: "", True: "yes", False: "**no**"}[self.met]
        return [self.name, self.database, value, floor, ratio, self.target, met, self.note]


HEADER = [
    "Benchmark",
    "DB",
    "Library: median [min..max]",
    "Floor: INSERT+COMMIT",
    "Ratio to floor",
    "Target",
    "Met",
    "Notes",
]


def unavailable(family: str, name: str, db: Database, why: str = "not available yet") -> Row:
    return Row(family, name, db.label, None, "ms", note=why)


def ratio_row(
    family: str,
    name: str,
    db: Database,
    value: Sequence[float],
    unit: Unit,
    floor: Sequence[float],
    *,
    max_ratio: float | None = None,
    min_rate: float | None = None,
    max_ms: float | None = None,
    note: str = "",
) -> Row:
    """A row of paired repetitions (``value[i]`` measured right after ``floor[i]``), with
    at most one target: a maximum ratio to the floor, a minimum rate, or a maximum time."""
    if len(value) != len(floor):
        raise ValueError("each repetition needs its own floor")
    costs = value if unit == "ms" else [1000 / v for v in value]
    ratios = Stats.of([cost / f for cost, f in zip(costs, floor, strict=True)])
    row = Row(family, name, db.label, Stats.of(value), unit, Stats.of(floor), ratios, note=note)
    assert row.value is not None
    if max_ratio is not None:
        return dataclasses.replace(
            row, target=f"≤ {max_ratio:g}x floor", met=ratios.median <= max_ratio
        )
    if min_rate is not None:
        return dataclasses.replace(
            row, target=f"≥ {min_rate:,.0f}/s", met=row.value.median >= min_rate
        )
    if max_ms is not None:
        return dataclasses.replace(row, target=f"< {max_ms:g} ms", met=row.value.median < max_ms)
    return row


# --- sizes -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Sizes:
    """How much each family does per repetition (``--quick`` shrinks everything)."""

    reps: int
    floor_commits: int
    floor_threads: int
    workflows: int
    step_reps: int
    steps: int
    started: int
    messages: int
    messages_remote: int
    stream_values: int
    recovery: int
    recovery_reps: int
    queued: int

    @classmethod
    def full(cls) -> Sizes:
        return cls(
            reps=7,
            floor_commits=300,
            floor_threads=4,
            workflows=80,
            step_reps=15,
            steps=10,
            started=1000,
            messages=100,
            messages_remote=30,
            stream_values=500,
            recovery=1000,
            recovery_reps=3,
            queued=1000,
        )

    @classmethod
    def quick(cls) -> Sizes:
        return cls(
            reps=3,
            floor_commits=100,
            floor_threads=4,
            workflows=30,
            step_reps=5,
            steps=10,
            started=200,
            messages=30,
            messages_remote=10,
            stream_values=100,
            recovery=200,
            recovery_reps=1,
            queued=200,
        )


@dataclass
class Context:
    """The run's options, shared by every family."""

    sizes: Sizes
    postgres_server: str
    verbose: bool = True
    scratch: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="transact_bench_")))

    def log(self, message: str) -> None:
        if self.verbose:
            print(message, flush=True)


# --- databases and floors ----------------------------------------------------------------


class Floor:
    """Raw single-row INSERT+COMMIT on the database under test, with a checkpoint-sized
    row: a workflow id (a UUID), a function id, a step name, the pickled output of a
    step that returns None, two timestamps. Same primary key as ``operation_outputs``,
    no foreign key and no guard: the least any durable checkpoint can cost."""

    def commit_ms(self, commits: int) -> float:
        """Insert and commit ``commits`` rows one by one; milliseconds per commit."""
        conn = self._connect()
        try:
            workflow_id = str(uuid.uuid4())
            insert = self._inserter(conn)
            start = time.perf_counter()
            for function_id in range(1, commits + 1):
                insert(workflow_id, function_id)
            return (time.perf_counter() - start) * 1000 / commits
        finally:
            conn.close()

    def concurrent_rate(self, threads: int, commits_each: int) -> float:
        """Commits per second with ``threads`` connections inserting at once."""
        conns = [self._connect() for _ in range(threads)]
        barrier = threading.Barrier(threads + 1)

        def work(conn: sqlite3.Connection | psycopg.Connection[tuple[object, ...]]) -> None:
            insert = self._inserter(conn)
            workflow_id = str(uuid.uuid4())
            barrier.wait()
            for function_id in range(1, commits_each + 1):
                insert(workflow_id, function_id)

        workers = [threading.Thread(target=work, args=(c,)) for c in conns]
        for worker in workers:
            worker.start()
        barrier.wait()
        start = time.perf_counter()
        for worker in workers:
            worker.join()
        elapsed = time.perf_counter() - start
        for conn in conns:
            conn.close()
        return threads * commits_each / elapsed

    def _connect(self) -> sqlite3.Connection | psycopg.Connection[tuple[object, ...]]:
        raise NotImplementedError

    def _inserter(
        self, conn: sqlite3.Connection | psycopg.Connection[tuple[object, ...]]
    ) -> Callable[[str, int], None]:
        raise NotImplementedError


_FLOOR_COLUMNS = """
    workflow_uuid TEXT NOT NULL,
    function_id INTEGER NOT NULL,
    function_name TEXT NOT NULL,
    output TEXT,
    error TEXT,
    child_workflow_id TEXT,
    started_at_epoch_ms BIGINT,
    completed_at_epoch_ms BIGINT,
    PRIMARY KEY (workflow_uuid, function_id)
"""


def _now_ms() -> int:
    return int(time.time() * 1000)


def _floor_row(workflow_id: str, function_id: int) -> tuple[object, ...]:
    """A checkpoint-sized row of ``bench_floor``, as both floors insert it."""
    now = _now_ms()
    return (workflow_id, function_id, CHECKPOINT_NAME, CHECKPOINT_OUTPUT, None, None, now, now)


class SQLiteFloor(Floor):
    """sqlite3 on the store's own file, configured by the store's own connection hook
    (WAL, its ``synchronous`` level, busy timeout), each insert one autocommit statement
    as the store's hot path runs it (the hook switches pysqlite's implicit BEGIN off), so
    the floor is the cheapest form of a durable one-row write."""

    def __init__(self, path: Path) -> None:
        self.path = path
        conn = self._connect()
        try:
            conn.execute(f"CREATE TABLE IF NOT EXISTS bench_floor ({_FLOOR_COLUMNS})")
        finally:
            conn.close()

    def _connect(self) -> sqlite3.Connection:
        from transact._store.sql.dialects.sqlite import _configure  # the store's own PRAGMAs

        conn = sqlite3.connect(self.path, check_same_thread=False, timeout=30)
        _configure(conn, None)
        return conn

    def _inserter(
        self, conn: sqlite3.Connection | psycopg.Connection[tuple[object, ...]]
    ) -> Callable[[str, int], None]:
        assert isinstance(conn, sqlite3.Connection)
        sql = "INSERT INTO bench_floor VALUES (?, ?, ?, ?, ?, ?, ?, ?)"

        def insert(workflow_id: str, function_id: int) -> None:
            conn.execute(sql, _floor_row(workflow_id, function_id))

        return insert

    def synchronous(self) -> str:
        conn = self._connect()
        try:
            level = conn.execute("PRAGMA synchronous").fetchone()[0]
            mode = conn.execute("PRAGMA journal_mode").fetchone()[0]
        finally:
            conn.close()
        name = {0: "OFF", 1: "NORMAL", 2: "FULL", 3: "EXTRA"}.get(level, str(level))
        return f"journal_mode={mode}, synchronous={name}"


class PostgresFloor(Floor):
    """psycopg 3 in autocommit on the store's database (one round trip per insert; the
    statement is server-side prepared after a few executions, psycopg's default)."""

    def __init__(self, conninfo: str) -> None:
        self.conninfo = conninfo
        with psycopg.connect(conninfo, autocommit=True) as conn:
            conn.execute(f"CREATE TABLE IF NOT EXISTS public.bench_floor ({_FLOOR_COLUMNS})")

    def _connect(self) -> psycopg.Connection[tuple[object, ...]]:
        return psycopg.connect(self.conninfo, autocommit=True)

    def _inserter(
        self, conn: sqlite3.Connection | psycopg.Connection[tuple[object, ...]]
    ) -> Callable[[str, int], None]:
        assert isinstance(conn, psycopg.Connection)
        sql = "INSERT INTO public.bench_floor VALUES (%s, %s, %s, %s, %s, %s, %s, %s)"

        def insert(workflow_id: str, function_id: int) -> None:
            conn.execute(sql, _floor_row(workflow_id, function_id))

        return insert


@dataclass
class Database:
    """One fresh system database for one family: its URL and its floor."""

    kind: Kind
    url: str
    floor: Floor

    @property
    def label(self) -> str:
        return LABELS[self.kind]


def libpq(url: str) -> str:
    """``url`` with any SQLAlchemy driver suffix removed, as psycopg expects."""
    parts = urlsplit(url)
    return urlunsplit(parts._replace(scheme=parts.scheme.split("+", 1)[0]))


def with_database(server_url: str, database: str) -> str:
    return urlunsplit(urlsplit(server_url)._replace(path="/" + database))


def postgres_available(server_url: str) -> str | None:
    """None if the server answers, else why not."""
    try:
        with psycopg.connect(libpq(server_url), connect_timeout=3):
            return None
    except psycopg.Error as exc:
        return f"no Postgres server at {urlsplit(server_url).hostname}: {exc}".splitlines()[0]


def _admin(server_url: str, statement: str) -> None:
    with psycopg.connect(libpq(server_url), autocommit=True) as conn:
        conn.execute(statement)


@contextlib.contextmanager
def open_database(ctx: Context, kind: Kind, tag: str) -> Iterator[Database]:
    """A fresh, empty system database for family ``tag``, removed afterwards."""
    if kind == "sqlite":
        folder = ctx.scratch / tag
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / "bench.sqlite"
        floor_db = SQLiteFloor(path)
        try:
            yield Database(kind, f"sqlite:///{path}", floor_db)
        finally:
            shutil.rmtree(folder, ignore_errors=True)
        return
    name = f"transact_bench_{tag}"
    _admin(ctx.postgres_server, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    _admin(ctx.postgres_server, f'CREATE DATABASE "{name}"')
    url = with_database(libpq(ctx.postgres_server), name)
    try:
        yield Database(kind, url, PostgresFloor(url))
    finally:
        _admin(ctx.postgres_server, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


# --- DBOS ---------------------------------------------------------------------------------


def config(url: str, executor_id: str = "bench", poll_seconds: float | None = None) -> DBOSConfig:
    cfg: DBOSConfig = {
        "name": "bench",
        "system_database_url": url,
        "application_version": APPLICATION_VERSION,
        "executor_id": executor_id,
        "log_level": "WARNING",
    }
    if poll_seconds is not None:
        cfg["notification_listener_polling_interval_sec"] = poll_seconds
    return cfg


@contextlib.contextmanager
def launched(url: str, executor_id: str = "bench") -> Iterator[None]:
    """DBOS launched on ``url`` for the duration of the block, destroyed after."""
    DBOS(config=config(url, executor_id))
    try:
        DBOS.launch()
        yield
    finally:
        DBOS.destroy()


def missing_api(*names: str) -> list[str]:
    """The ``DBOS`` methods among ``names`` that this build of transact lacks."""
    return [name for name in names if not callable(getattr(DBOS, name, None))]


def timed(func: Callable[[], object]) -> float:
    """Seconds ``func()`` takes."""
    start = time.perf_counter()
    func()
    return time.perf_counter() - start


def cpu_count() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
