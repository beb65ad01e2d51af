"""A streamed progress report: a workflow writes progress, any process reads it live.

``import_rows`` processes a batch in steps and, after each one, writes a progress record
to its ``"progress"`` stream; when it is done it closes the stream. A reader (here the
main program; it could be another process or a web handler) iterates
``DBOS.read_stream`` and sees each record as soon as it is written, without polling in
this process. The stream is durable: a reader that starts late, or again, reads it from
the start (or from any ``offset``). The workflow also publishes its total as an event.

Run it::

    python examples/progress_stream.py                 # a fresh SQLite file
    python examples/progress_stream.py postgresql://localhost/app
"""

from __future__ import annotations

import sys
import tempfile
import time

from transact import DBOS, SetWorkflowID

STREAM = "progress"


@DBOS.step()
def import_chunk(chunk: list[int]) -> int:
    """Pretend to import some rows; returns how many."""
    time.sleep(0.05)
    return len(chunk)


@DBOS.workflow()
def import_rows(rows: list[int], chunk_size: int) -> int:
    """Import ``rows`` in chunks, streaming progress after each chunk."""
    DBOS.set_event("total", len(rows))
    done = 0
    for start in range(0, len(rows), chunk_size):
        done += import_chunk(rows[start : start + chunk_size])
        DBOS.write_stream(STREAM, {"done": done, "total": len(rows)})
    DBOS.close_stream(STREAM)
    return done


def main(url: str) -> None:
    DBOS(config={"name": "progress-stream", "system_database_url": url})
    DBOS.launch()
    try:
        with SetWorkflowID("import-1"):
            handle = DBOS.start_workflow(import_rows, list(range(100)), 25)
        total = DBOS.get_event("import-1", "total", timeout_seconds=10)
        print(f"importing {total} rows")
        for update in DBOS.read_stream("import-1", STREAM):
            print(f"  {update['done']:3d} / {update['total']} rows")
        print(f"imported {handle.get_result()} rows")
        # The stream outlives the workflow: read it again, from the third update on.
        replayed = list(DBOS.read_stream("import-1", STREAM, offset=2))
        print(f"updates from offset 2: {[u['done'] for u in replayed]}")
    finally:
        DBOS.destroy()


if __name__ == "__main__":
    if len(sys.argv) > 1:
        main(sys.argv[1])
    else:
        with tempfile.TemporaryDirectory() as directory:
            main(f"sqlite:///{directory}/progress_stream.sqlite")
