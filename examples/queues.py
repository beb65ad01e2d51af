"""Queues: background work with limits, priorities, deduplication and a schedule.

An image service renders thumbnails on a queue that runs at most 3 at once (in all
processes together) and starts at most 10 per second. A paying customer's job jumps the
line with a priority; a duplicate request for the same image is refused while the first
is in flight. A cron schedule sweeps old thumbnails every 2 seconds.

Run it (start it several times at once on Postgres: the limits hold across processes)::

    python examples/queues.py                        # a fresh SQLite file
    python examples/queues.py postgresql://localhost/app
"""

from __future__ import annotations

import sys
import tempfile
import threading
import time
from datetime import datetime

from transact import DBOS, Queue, SetEnqueueOptions
from transact.errors import DBOSQueueDeduplicatedError

thumbnails = Queue("thumbnails", concurrency=3, limiter={"limit": 10, "period": 1.0})

_lock = threading.Lock()
_running = 0
peak = 0


@DBOS.step()
def render(image: str) -> str:
    """The work itself: a step, so a crash after it does not render again."""
    global _running, peak
    with _lock:
        _running += 1
        peak = max(peak, _running)
    time.sleep(0.1)
    with _lock:
        _running -= 1
    return f"thumb-{image}"


@DBOS.workflow()
def make_thumbnail(image: str) -> str:
    return render(image)


sweeps: list[datetime] = []


@DBOS.scheduled("*/2 * * * * *")  # every 2 seconds (seconds first)
@DBOS.workflow()
def sweep(scheduled_time: datetime, actual_time: datetime) -> None:
    sweeps.append(scheduled_time)


def main(url: str) -> None:
    DBOS(config={"name": "thumbnails", "system_database_url": url})
    DBOS.launch()
    try:
        started = time.monotonic()
        handles = [thumbnails.enqueue(make_thumbnail, f"img-{i}") for i in range(12)]

        with SetEnqueueOptions(priority=1):  # lower runs first; unset runs before 1
            vip = thumbnails.enqueue(make_thumbnail, "vip")

        with SetEnqueueOptions(deduplication_id="img-42"):
            first = thumbnails.enqueue(make_thumbnail, "img-42")
            try:
                thumbnails.enqueue(make_thumbnail, "img-42")
            except DBOSQueueDeduplicatedError:
                print("duplicate request for img-42 refused while the first is queued")

        waiting = DBOS.list_queued_workflows(queue_name="thumbnails")
        print(f"in line or running: {len(waiting)}")
        results = [h.get_result() for h in [*handles, vip, first]]
        print(f"rendered {len(results)} thumbnails in {time.monotonic() - started:.1f} s")
        print(f"at most {peak} at once (limit 3)")
        time.sleep(2.5)  # let the schedule fire
        print(f"sweeps so far: {len(sweeps)}")
    finally:
        DBOS.destroy()


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else f"sqlite:///{tempfile.mkdtemp()}/queues.sqlite")
