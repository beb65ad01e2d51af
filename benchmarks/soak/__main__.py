"""``python -m benchmarks.soak [--workflows N] [--concurrency C] [--kill-every A B]
[--restart-every A B] [--max-seconds S]``: the chaos soak (see the package docstring).

Prints one summary line and exits 1 on any violation (2 if it could not finish).
"""

from __future__ import annotations

import argparse
import os
import random
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import psycopg

from benchmarks.soak.checks import Observed, collect, violations
from benchmarks.soak.server import PostgresServer
from benchmarks.soak.worker import expected

ROOT = Path(__file__).resolve().parents[2]
WORKERS = 3


def parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.soak")
    parser.add_argument("--workflows", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, default=12)
    parser.add_argument("--kill-every", type=float, nargs=2, default=(2.0, 6.0))
    parser.add_argument("--restart-every", type=float, nargs=2, default=(3.0, 20.0))
    parser.add_argument("--max-seconds", type=float, default=1800.0)
    parser.add_argument("--seed", type=int, default=None)
    return parser.parse_args(argv)


class Workers:
    """The three worker processes; :meth:`kill` SIGKILLs one and starts it again."""

    def __init__(self, url: str, count: int, concurrency: int) -> None:
        self.url, self.count, self.concurrency = url, count, concurrency
        self.procs: list[subprocess.Popen[bytes]] = [self._spawn(k) for k in range(WORKERS)]
        self.kills = 0

    def _spawn(self, index: int) -> subprocess.Popen[bytes]:
        args = [self.url, index, WORKERS, self.count, self.concurrency]
        return subprocess.Popen(
            [sys.executable, "-m", "benchmarks.soak.worker", *map(str, args)],
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=open(os.devnull, "wb") if not os.environ.get("SOAK_VERBOSE") else None,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
        )

    def revive(self) -> None:
        """Start again a worker that exited by itself (none should)."""
        for index, proc in enumerate(self.procs):
            if proc.poll() is not None:
                self.procs[index] = self._spawn(index)

    def kill(self, index: int) -> None:
        proc = self.procs[index]
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        self.kills += 1
        self.procs[index] = self._spawn(index)

    def stop(self) -> None:
        for proc in self.procs:
            proc.send_signal(signal.SIGKILL)
            proc.wait()


def setup(url: str) -> None:
    admin = url.rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute("CREATE DATABASE soak")
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("CREATE TABLE soak_step_runs (wf TEXT, step TEXT, started_ms BIGINT)")
        conn.execute("CREATE TABLE soak_txn (wf TEXT, x BIGINT)")


def progress(url: str) -> tuple[int, int]:
    """(SUCCESS rows, PENDING rows of the queue), or (-1, -1) while the server is away."""
    try:
        with psycopg.connect(url, autocommit=True, connect_timeout=2) as conn:
            row = conn.execute(
                "SELECT count(*) FILTER (WHERE status = 'SUCCESS'),"
                " count(*) FILTER (WHERE status = 'PENDING' AND queue_name = 'soak')"
                " FROM transact.workflow_status WHERE workflow_uuid LIKE 'soak-%'"
            ).fetchone()
            return (int(row[0]), int(row[1])) if row else (0, 0)
    except psycopg.Error:
        return -1, -1


def main(argv: list[str]) -> int:
    args = parse(argv)
    rng = random.Random(args.seed)
    server = PostgresServer()
    server.start()
    url = server.url
    setup(url)
    workers = Workers(url, args.workflows, args.concurrency)
    observed = Observed(count=args.workflows, concurrency=args.concurrency, workers=WORKERS)
    observed.expected = {f"soak-{i}": expected(i) for i in range(args.workflows)}
    stop = threading.Event()
    lock = threading.Lock()  # a restart and a kill never overlap (both touch the pool)
    downtime: list[float] = []

    def chaos_kills() -> None:
        while not stop.wait(rng.uniform(*args.kill_every)):
            with lock:
                workers.kill(rng.randrange(WORKERS))

    def chaos_restarts() -> None:
        crash = False
        while not stop.wait(rng.uniform(*args.restart_every)):
            with lock:
                downtime.append(server.restart("immediate" if crash else "fast"))
            crash = not crash

    threads = [threading.Thread(target=f, daemon=True) for f in (chaos_kills, chaos_restarts)]
    began = time.monotonic()
    for thread in threads:
        thread.start()
    finished = False
    try:
        while time.monotonic() - began < args.max_seconds:
            done, pending = progress(url)
            observed.max_pending = max(observed.max_pending, pending)
            if done == args.workflows:
                finished = True
                break
            with lock:
                workers.revive()
            time.sleep(0.1)
        elapsed = time.monotonic() - began
        stop.set()
        for thread in threads:
            thread.join()
        collect(url, observed)
    finally:
        stop.set()
        workers.stop()
        server.destroy()
    found = violations(observed)
    for wf, (status, value, executor) in sorted(observed.rows.items()):
        if status != "SUCCESS" or value != observed.expected.get(wf):
            print(f"soak: {wf} {status} {value!r} on {executor}", file=sys.stderr)
    spread = "/".join(
        str(sum(1 for r in observed.rows.values() if r[0] == "SUCCESS" and r[2] == f"w{k}"))
        for k in range(WORKERS)
    )
    verdict = "PASS" if finished and not any(found.values()) else "FAIL"
    print(
        f"soak: workflows={args.workflows} workers={WORKERS} kills={workers.kills} "
        f"pg_restarts={server.graceful + server.crashes} (crashes={server.crashes}, "
        f"max down {max(downtime, default=0):.1f}s) elapsed={elapsed:.0f}s "
        f"throughput={args.workflows / elapsed:.1f} wf/s "
        + " ".join(f"{k}={v}" for k, v in found.items())
        + f" max_pending={observed.max_pending}/{args.concurrency} spread={spread} {verdict}",
        flush=True,
    )
    if not finished:
        return 2
    return 1 if any(found.values()) else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
