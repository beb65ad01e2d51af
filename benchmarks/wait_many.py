"""N workflows waiting in ``recv`` in one process, woken by N sends from another.

Usage: ``.venv/bin/python benchmarks/wait_many.py [--n 100000] [--db postgres|sqlite]``.

The waiting process launches DBOS on a fresh database, starts N workflows that each
block in ``DBOS.recv``, and reports its threads and resident memory once all wait
(memory per waiting workflow). A second process (``DBOSClient``, no executor) then
sends each its message; the first checks every result and reports the times.
"""

from __future__ import annotations

import argparse
import gc
import subprocess
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.scale import fresh_database, launch, rss_kb, wait_for
from transact import DBOS, DBOSClient, SetWorkflowID

arrived = 0
arrived_lock = threading.Lock()


@DBOS.workflow()
def many_waiter(n: int) -> int:
    """Blocks in ``recv``; returns its message, which must be ``n * 3``."""
    global arrived
    with arrived_lock:
        arrived += 1
    message = DBOS.recv("go", timeout_seconds=7200)
    assert message == n * 3, (n, message)
    return int(message)


def sender(url: str, n: int) -> None:
    """The other process: N sends through a client."""
    client = DBOSClient(system_database_url=url)
    try:
        for i in range(n):
            client.send(f"many-{i}", i * 3, "go")
    finally:
        client.destroy()


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=100_000)
    parser.add_argument("--db", default="postgres")
    parser.add_argument("--send-to", help=argparse.SUPPRESS)  # the sending process
    args = parser.parse_args(argv)
    if args.send_to:
        sender(args.send_to, args.n)
        return 0
    n = args.n
    with fresh_database(args.db, "many") as url:
        launch(url)
        try:
            gc.collect()
            rss0, threads0 = rss_kb(), threading.active_count()
            start = time.perf_counter()
            for i in range(n):
                with SetWorkflowID(f"many-{i}"):
                    DBOS.start_workflow(many_waiter, i)
            wait_for(lambda: arrived >= n, 7200)
            started = time.perf_counter() - start
            time.sleep(1)  # the last ones past their grace period, parked
            gc.collect()
            rss1, threads1 = rss_kb(), threading.active_count()
            print(f"{n:,} waiting on {args.db}: started in {started:.1f} s", flush=True)
            print(f"threads: {threads1} (before: {threads0})", flush=True)
            print(
                f"memory: {(rss1 - rss0) / 1024:.0f} MB more, "
                f"{(rss1 - rss0) / n:.1f} KB per waiting workflow",
                flush=True,
            )
            start = time.perf_counter()
            sent = subprocess.Popen(
                [sys.executable, __file__, "--n", str(n), "--send-to", url],
            )
            results = [DBOS.retrieve_workflow(f"many-{i}").get_result() for i in range(n)]
            woke = time.perf_counter() - start
            assert sent.wait() == 0
            assert results == [i * 3 for i in range(n)]
            print(f"woken by {n:,} sends from another process in {woke:.1f} s", flush=True)
            print(f"threads after: {threading.active_count()}", flush=True)
        finally:
            DBOS.destroy(destroy_registry=False)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
