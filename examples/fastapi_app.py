"""A DBOS FastAPI application, unchanged except for the import.

    python examples/fastapi_app.py                    # serves on 127.0.0.1:8000
    curl -X POST -H 'dbos-idempotency-key: order-7' 'localhost:8000/orders/7?amount=12.5'

``DBOS(config=..., fastapi=app)`` launches DBOS when the server starts and destroys it
when it stops. A request carrying ``dbos-idempotency-key`` runs its workflow under that
id: repeat it (after a timeout, or after the server crashed and restarted) and the
recorded result comes back; the card is charged once. Set ``CRASH_MARKER`` to a file
path and create the file to make the server die (SIGKILL) right after the charge is
recorded, once; ``LEDGER`` names the file each step body appends to.
"""

from __future__ import annotations

import os
import pathlib
import signal

import uvicorn
from fastapi import FastAPI

from transact import DBOS, DBOSConfig

LEDGER = pathlib.Path(os.environ.get("LEDGER", "fastapi-ledger.txt"))
CRASH_MARKER = os.environ.get("CRASH_MARKER")

app = FastAPI()
config: DBOSConfig = {
    "name": "fastapi-orders",
    "system_database_url": os.environ.get(
        "DBOS_SYSTEM_DATABASE_URL", "sqlite:///fastapi-orders.sqlite"
    ),
}
DBOS(config=config, fastapi=app)


def _ledger(entry: str) -> None:
    with LEDGER.open("a") as f:
        f.write(entry + "\n")


@DBOS.step()
def charge_card(order_id: str, amount: float) -> str:
    _ledger(f"charge {order_id}")
    return f"charged {amount:.2f} for order {order_id}"


@DBOS.step()
def ship(order_id: str) -> str:
    if CRASH_MARKER and os.path.exists(CRASH_MARKER):
        os.remove(CRASH_MARKER)  # crash once: the restarted server must finish the job
        os.kill(os.getpid(), signal.SIGKILL)
    _ledger(f"ship {order_id}")
    return f"shipped order {order_id}"


@DBOS.workflow()
def checkout(order_id: str, amount: float) -> dict[str, str]:
    receipt = charge_card(order_id, amount)
    tracking = ship(order_id)
    return {"workflow_id": DBOS.workflow_id or "", "receipt": receipt, "tracking": tracking}


@DBOS.workflow()
async def refund(order_id: str) -> str:
    await DBOS.sleep_async(0.01)
    return f"refunded order {order_id}"


@app.post("/orders/{order_id}")
def place_order(order_id: str, amount: float) -> dict[str, str]:
    """Runs the checkout workflow; the idempotency header makes a retry safe."""
    return checkout(order_id, amount)


@app.post("/refunds/{order_id}")
async def refund_order(order_id: str) -> dict[str, str]:
    """An async route awaiting an async workflow, on the server's event loop."""
    return {"result": await refund(order_id)}


@app.get("/workflows/{workflow_id}")
def workflow_status(workflow_id: str) -> dict[str, str]:
    """A DBOS error escaping a route becomes DBOS's JSON answer (here: unknown id)."""
    status = DBOS.retrieve_workflow(workflow_id).get_status()
    return {"workflow_id": workflow_id, "status": status.status}


if __name__ == "__main__":
    uvicorn.run(app, host="127.0.0.1", port=int(os.environ.get("PORT", "8000")))
