"""A DBOS application ported to transact by changing its imports.

The body below is written against DBOS's API; only the two import lines changed
(``from dbos import ...`` -> ``from transact import ...``, ``dbos.error`` ->
``transact.error``). It uses a config key transact does not act on (accepted with one
warning), DBOS's logger, workflows, steps, a queue, events, messages, an idempotent
start and DBOS's error classes.

Run it::

    python examples/porting.py                  # a fresh SQLite file
    python examples/porting.py postgresql://localhost/app
"""

from __future__ import annotations

import sys
import tempfile

from transact import DBOS, DBOSConfig, Queue, SetWorkflowID
from transact.error import DBOSNonExistentWorkflowError

queue = Queue("emails", concurrency=2)


@DBOS.step()
def charge(order: str, amount: float) -> str:
    DBOS.logger.info(f"charging {order}")
    return f"{order}: charged {amount:.2f}"


@DBOS.step()
def send_email(order: str) -> str:
    return f"{order}: email sent"


@DBOS.workflow()
def checkout(order: str, amount: float) -> str:
    receipt = charge(order, amount)
    DBOS.set_event("status", "charged")
    confirmation = DBOS.recv("confirm", timeout_seconds=10)
    email = queue.enqueue(send_email_workflow, order)
    return f"{receipt}; {confirmation}; {email.get_result()}"


@DBOS.workflow()
def send_email_workflow(order: str) -> str:
    return send_email(order)


def main(url: str) -> None:
    config: DBOSConfig = {
        "name": "porting-example",
        "system_database_url": url,
        "log_level": "INFO",
        "kafka_queue_polling_interval_sec": 1.0,  # DBOS's; transact warns and goes on
    }
    DBOS(config=config)
    DBOS.launch()
    with SetWorkflowID("order-7"):
        handle = DBOS.start_workflow(checkout, "order-7", 42.0)
    print("status:", DBOS.get_event("order-7", "status", timeout_seconds=10))
    DBOS.send("order-7", "confirmed", topic="confirm")
    print("result:", handle.get_result())
    with SetWorkflowID("order-7"):  # the same id again: the recorded outcome, not a rerun
        print("again:", checkout("order-7", 42.0))
    try:
        DBOS.retrieve_workflow("order-404")
    except DBOSNonExistentWorkflowError as exc:
        print("error:", exc)
    DBOS.destroy()


if __name__ == "__main__":
    if len(sys.argv) > 1:
        main(sys.argv[1])
    else:
        with tempfile.TemporaryDirectory() as folder:
            main(f"sqlite:///{folder}/porting.sqlite")
