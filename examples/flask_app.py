"""A DBOS Flask application, unchanged except for the import.

    python examples/flask_app.py                      # serves on 127.0.0.1:8000
    curl -X POST -H 'dbos-idempotency-key: order-7' 'localhost:8000/orders/7?amount=12.5'

``DBOS(config=..., flask=app)`` makes a request carrying ``dbos-idempotency-key`` run
its workflow under that id: repeat it (after a timeout, or after the server crashed and
restarted) and the recorded result comes back; the card is charged once. A Flask
application launches DBOS itself. ``CRASH_MARKER`` and ``LEDGER`` work as in
``fastapi_app.py``.
"""

from __future__ import annotations

import os
import pathlib
import signal
from typing import Any

from flask import Flask, request

from transact import DBOS, DBOSConfig

LEDGER = pathlib.Path(os.environ.get("LEDGER", "flask-ledger.txt"))
CRASH_MARKER = os.environ.get("CRASH_MARKER")

app = Flask(__name__)
config: DBOSConfig = {
    "name": "flask-orders",
    "system_database_url": os.environ.get(
        "DBOS_SYSTEM_DATABASE_URL", "sqlite:///flask-orders.sqlite"
    ),
}
DBOS(config=config, flask=app)


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


@app.post("/orders/<order_id>")
def place_order(order_id: str) -> Any:
    """Runs the checkout workflow; the idempotency header makes a retry safe."""
    return checkout(order_id, float(request.args["amount"]))


if __name__ == "__main__":
    DBOS.launch()
    app.run(host="127.0.0.1", port=int(os.environ.get("PORT", "8000")))
