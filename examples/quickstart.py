"""Quickstart: an order workflow that survives a crash, on embedded SQLite.

    python examples/quickstart.py --fresh --crash-after 2   # dies as step 3 starts
    python examples/quickstart.py                           # resumes: steps 1-2 are not re-run

Each step also appends its name to a ledger file outside the library, so the table at
the end shows how many times each step's body really ran: once.
"""

from __future__ import annotations

import argparse
import os
import pathlib
import signal
import time

from transact import DBOS, SetWorkflowID

ORDER_ID = "order-42"

parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
parser.add_argument(
    "--crash-after",
    type=int,
    default=0,
    metavar="N",
    help="kill this process (SIGKILL) right after step N is recorded",
)
parser.add_argument("--fresh", action="store_true", help="start from an empty database")
parser.add_argument(
    "--dir",
    type=pathlib.Path,
    default=pathlib.Path(__file__).resolve().parent,
    help="where the database and the ledger live (default: next to this file)",
)
options = parser.parse_args()
DATABASE = options.dir / "quickstart.sqlite"
LEDGER = options.dir / "quickstart-ledger.txt"


def side_effect(step: int, name: str) -> None:
    """The real-world part of a step; a crash before step N+1 starts happens here."""
    if options.crash_after and step == options.crash_after + 1:
        print(f"  !! crashing (SIGKILL) before step {step} ({name}) can run")
        os.kill(os.getpid(), signal.SIGKILL)
    print(f"  running step {step}: {name}")
    with LEDGER.open("a") as ledger:
        ledger.write(name + "\n")
    time.sleep(0.2)  # pretend to call a payment provider, a warehouse, ...


@DBOS.step()
def reserve_inventory(order_id: str) -> str:
    side_effect(1, "reserve_inventory")
    return f"reservation for {order_id}"


@DBOS.step(retries_allowed=True, max_attempts=3)
def charge_card(order_id: str, cents: int) -> str:
    side_effect(2, "charge_card")
    return f"charged {cents / 100:.2f} EUR"


@DBOS.step()
def ship(order_id: str) -> str:
    side_effect(3, "ship")
    return "tracking ZX-1234"


@DBOS.step()
def email_customer(order_id: str, tracking: str) -> str:
    side_effect(4, "email_customer")
    return f"emailed {tracking}"


@DBOS.workflow()
def process_order(order_id: str, cents: int) -> str:
    reserve_inventory(order_id)
    receipt = charge_card(order_id, cents)
    DBOS.sleep(0.5)  # durable: after a crash only the remaining time is waited
    tracking = ship(order_id)
    email_customer(order_id, tracking)
    return f"{order_id}: {receipt}, {tracking}"


def print_steps(workflow_id: str) -> None:
    ran = LEDGER.read_text().split() if LEDGER.exists() else []
    print(f"\n  {'id':>2}  {'step':<18} {'body ran':>8}  output")
    for step in DBOS.list_workflow_steps(workflow_id):
        name = step["function_name"]
        runs = f"{ran.count(name)}x" if name in ran else "-"
        print(f"  {step['function_id']:>2}  {name:<18} {runs:>8}  {step['output']!r}")


def main() -> None:
    if options.fresh:
        for path in (DATABASE, LEDGER, *options.dir.glob("quickstart.sqlite-*")):
            path.unlink(missing_ok=True)
    DBOS(config={"name": "quickstart", "system_database_url": f"sqlite:///{DATABASE}"})
    print(f"launching on {DATABASE.name}: any workflow a crash interrupted resumes now")
    DBOS.launch()  # recovers this executor's PENDING workflows: a crashed order resumes here
    status = DBOS.get_workflow_status(ORDER_ID)
    if status is None:
        print(f"starting workflow {ORDER_ID}")
        with SetWorkflowID(ORDER_ID):
            handle = DBOS.start_workflow(process_order, ORDER_ID, 4200)
    else:
        print(f"workflow {ORDER_ID} found in the database ({status.status}); resuming it")
        handle = DBOS.retrieve_workflow(ORDER_ID)
    print("result:", handle.get_result(polling_interval_sec=0.05))
    print_steps(ORDER_ID)
    DBOS.destroy()


if __name__ == "__main__":
    main()
