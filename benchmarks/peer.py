"""A second benchmark process: ``python -m benchmarks.peer ROLE URL PREFIX COUNT REPS``.

Roles:

- ``echo``: for each repetition r, start ``echo_workflow`` as ``PREFIX-echo-r`` answering
  ``PREFIX-ping-r``; print ``ready r`` once it waits, then wait for it to finish.
- ``events``: the same with ``event_setter_workflow`` as ``PREFIX-setter-r``.
- ``queue-worker``: declare the benchmark queue, launch, print ``ready 0`` and dequeue
  until stdin is closed (COUNT and REPS are ignored).

The parent (:class:`Peer`) reads those lines; it closes stdin to stop a queue worker.
"""

from __future__ import annotations

import contextlib
import os
import queue
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from benchmarks.app import echo_workflow, event_setter_workflow
from benchmarks.common import launched
from transact import DBOS, SetWorkflowID, WorkflowHandle

ROOT = Path(__file__).resolve().parent.parent


def main(argv: list[str]) -> None:
    role, url, prefix, count_text, reps_text = argv
    count, reps = int(count_text), int(reps_text)
    if role == "queue-worker":
        from benchmarks.bench_queues import declare_queue

        declare_queue()
    with launched(url, executor_id=f"peer-{os.getpid()}"):
        if role == "queue-worker":
            print("ready 0", flush=True)
            sys.stdin.read()  # until the parent closes our stdin
            return
        for rep in range(reps):
            handle: WorkflowHandle[Any]
            if role == "echo":
                with SetWorkflowID(f"{prefix}-echo-{rep}"):
                    handle = DBOS.start_workflow(echo_workflow, f"{prefix}-ping-{rep}", count)
            elif role == "events":
                with SetWorkflowID(f"{prefix}-setter-{rep}"):
                    handle = DBOS.start_workflow(event_setter_workflow, count)
            else:
                raise SystemExit(f"unknown role {role!r}")
            print(f"ready {rep}", flush=True)
            handle.get_result()
        print("done", flush=True)


class Peer:
    """A running peer process and the lines it printed."""

    def __init__(self, role: str, url: str, prefix: str, count: int, reps: int) -> None:
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
        self.process = subprocess.Popen(
            [sys.executable, "-m", "benchmarks.peer", role, url, prefix, str(count), str(reps)],
            cwd=ROOT,
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self._lines: queue.Queue[str | None] = queue.Queue()
        self._stderr: list[str] = []
        threading.Thread(target=self._pump_stdout, daemon=True).start()
        threading.Thread(target=self._pump_stderr, daemon=True).start()

    def _pump_stdout(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self._lines.put(line.strip())
        self._lines.put(None)

    def _pump_stderr(self) -> None:
        assert self.process.stderr is not None
        for line in self.process.stderr:
            self._stderr.append(line)

    def expect(self, line: str, timeout: float = 120) -> None:
        """Wait until the peer prints ``line``; raise if it exits or takes too long."""
        while True:
            try:
                got = self._lines.get(timeout=timeout)
            except queue.Empty:
                raise RuntimeError(f"peer did not print {line!r} within {timeout} s") from None
            if got is None:
                self.process.wait()
                tail = "".join(self._stderr[-20:])
                raise RuntimeError(
                    f"peer exited ({self.process.returncode}) before {line!r}:\n{tail}"
                )
            if got == line:
                return

    def stop(self) -> None:
        """Close its stdin and wait for it to exit (killing it after 30 s)."""
        if self.process.stdin is not None:
            with contextlib.suppress(OSError):
                self.process.stdin.close()
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


@contextlib.contextmanager
def peer(role: str, url: str, prefix: str, count: int, reps: int) -> Iterator[Peer]:
    running = Peer(role, url, prefix, count, reps)
    try:
        yield running
    finally:
        running.stop()


if __name__ == "__main__":
    main(sys.argv[1:])
