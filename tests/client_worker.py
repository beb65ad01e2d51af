"""The application process of the client tests: ``python -m tests.client_worker URL``.

It launches DBOS on URL, starts the workflows named on the command line (``NAME:ID``)
and serves until its stdin closes, so the test process (the client) drives them from
outside: it sends messages, reads events and streams, waits for results and manages
them, while this process runs every workflow (also those the client resumes or forks).
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from datetime import datetime
from typing import Any

from transact import DBOS, Queue, SetWorkflowID

client_queue = Queue("client-queue")


@DBOS.step(name="client.double")
def double(x: int) -> int:
    return 2 * x


@DBOS.workflow(name="client.conversation")
def conversation(greeting: str) -> str:
    """Announce itself with an event, stream two values, answer two messages."""
    DBOS.set_event("ready", greeting)
    DBOS.write_stream("numbers", double(1))
    DBOS.write_stream("numbers", double(2))
    DBOS.close_stream("numbers")
    first = DBOS.recv("in", timeout_seconds=60)
    second = DBOS.recv("in", timeout_seconds=60)
    return f"{greeting}: {first}, {second}"


@DBOS.workflow(name="client.waiter")
def waiter() -> str:
    """Wait for a "go" message (a target for cancel, resume and fork)."""
    double(1)
    message = DBOS.recv("go", timeout_seconds=120)
    return f"went {message}"


@DBOS.workflow(name="client.doubled")
def doubled(x: int) -> int:
    return double(x) + double(x)


@DBOS.workflow(name="client.tick")
def tick(scheduled_time: datetime, context: str) -> str:
    """A scheduled workflow (the client creates its schedule by name)."""
    return f"{context} at {scheduled_time.isoformat()}"


def main() -> None:
    url, starts = sys.argv[1], sys.argv[2:]
    DBOS(config={"name": "client-test", "system_database_url": url, "executor_id": "worker"})
    DBOS.launch()
    workflows: dict[str, Callable[..., Any]] = {
        "conversation": conversation,
        "waiter": waiter,
        "doubled": doubled,
    }
    for start in starts:
        name, _, workflow_id = start.partition(":")
        args: tuple[object, ...] = {"conversation": ("hello",), "doubled": (21,)}.get(name, ())
        with SetWorkflowID(workflow_id):
            DBOS.start_workflow(workflows[name], *args)
    print("ready", flush=True)
    sys.stdin.read()  # serve until the test closes our stdin
    DBOS.destroy(destroy_registry=False)


if __name__ == "__main__":
    main()
