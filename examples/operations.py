"""A tour of the operator's calls: cancel, resume, fork, timeouts, delete.

An order workflow runs three steps. Each step prints a line when its code runs, so the
output shows exactly what runs again after each call, and what does not:

1. cancel it while step 2 runs: step 2 finishes, step 3 never starts;
2. resume it: the recorded step 1 is replayed, steps 2 and 3 run;
3. fork it at step 3: only step 3 runs again, in a new workflow;
4. give a workflow a timeout: it is cancelled at its deadline, even mid-sleep;
5. delete a parent with its children.

Run it::

    python examples/operations.py                 # a fresh SQLite file
    python examples/operations.py postgresql://localhost/app
"""

from __future__ import annotations

import sys
import tempfile
import threading

from transact import (
    DBOS,
    DBOSAwaitedWorkflowCancelledError,
    SetWorkflowID,
    SetWorkflowTimeout,
)

payment_started = threading.Event()
release_payment = threading.Event()


@DBOS.step()
def reserve(order: str) -> str:
    print(f"  running step 1: reserve {order}")
    return "reserved"


@DBOS.step()
def charge(order: str) -> str:
    print(f"  running step 2: charge {order}")
    payment_started.set()
    release_payment.wait(10)  # a slow payment provider
    return "charged"


@DBOS.step()
def ship(order: str) -> str:
    print(f"  running step 3: ship {order}")
    return "shipped"


@DBOS.workflow()
def process_order(order: str) -> list[str]:
    return [reserve(order), charge(order), ship(order)]


@DBOS.workflow()
def reminder(days: int) -> str:
    DBOS.sleep(days * 86_400)  # durable: survives restarts
    return "reminded"


@DBOS.workflow()
def batch(count: int) -> int:
    handles = [DBOS.start_workflow(reminder, 0) for _ in range(count)]  # "<batch id>-1", ...
    return len([h.get_result() for h in handles])


def status(workflow_id: str) -> str:
    found = DBOS.get_workflow_status(workflow_id)
    return found.status if found is not None else "deleted"


def main(url: str) -> None:
    DBOS(config={"name": "operations-tour", "system_database_url": url})
    DBOS.launch()
    release_payment.set()  # payments are instant, except in part 1

    print("1. cancel while step 2 runs")
    release_payment.clear()
    with SetWorkflowID("order-1"):
        handle = DBOS.start_workflow(process_order, "order-1")
    payment_started.wait(10)
    DBOS.cancel_workflow("order-1")
    print(f"  status right after cancel: {status('order-1')}")
    release_payment.set()  # the step in flight finishes...
    try:
        handle.get_result()
    except DBOSAwaitedWorkflowCancelledError:
        print("  awaiting it raises DBOSAwaitedWorkflowCancelledError; step 3 never ran")

    print("2. resume: step 1 is replayed from the log, steps 2 and 3 run")
    print(f"  result: {DBOS.resume_workflow('order-1').get_result()}")

    print("3. fork at step 3: a new workflow replays steps 1-2 and runs step 3")
    with SetWorkflowID("order-1-reshipped"):
        fork = DBOS.fork_workflow("order-1", 3)
    print(f"  result: {fork.get_result()}")
    print(f"  forked from: {fork.get_status().forked_from}")

    print("4. a timeout cancels a workflow at its deadline, even while it sleeps")
    with SetWorkflowID("reminder-1"), SetWorkflowTimeout(0.5):
        sleeping = DBOS.start_workflow(reminder, 30)
    try:
        sleeping.get_result()
    except DBOSAwaitedWorkflowCancelledError:
        print(f"  reminder-1 is {status('reminder-1')} after 0.5 s, not 30 days")

    print("5. delete a parent and its children")
    with SetWorkflowID("batch-1"):
        batch(2)
    children = [s.workflow_id for s in DBOS.list_workflows(parent_workflow_id="batch-1")]
    print(f"  children: {children}")
    DBOS.delete_workflow("batch-1", delete_children=True)
    print(f"  after delete: {[status(w) for w in ['batch-1', *children]]}")

    DBOS.destroy()


if __name__ == "__main__":
    if len(sys.argv) > 1:
        main(sys.argv[1])
    else:
        with tempfile.TemporaryDirectory() as directory:
            main(f"sqlite:///{directory}/operations.sqlite")
