"""Request/response between workflows with durable messages.

A long-lived ``quote_service`` workflow receives requests on the ``"request"`` topic and
answers each requester on its ``"response"`` topic. Clients are workflows too: each
sends its own id along with the request and waits for the answer with ``recv``. Every
send and receive is checkpointed, so a crash at any point neither loses nor duplicates a
request or an answer. One client is written in the generator style of ``transact.fx``.

Run it::

    python examples/request_response.py                 # a fresh SQLite file
    python examples/request_response.py postgresql://localhost/app
"""

from __future__ import annotations

import sys
import tempfile
from typing import Any

from transact import DBOS, SetWorkflowID, fx

SERVICE_ID = "quote-service"
PRICES = {"apple": 120, "pear": 95, "plum": 60}


@DBOS.step()
def price_of(item: str, quantity: int) -> int:
    """The business logic: a step, so it runs once per request even across crashes."""
    return PRICES.get(item, 0) * quantity


@DBOS.workflow()
def quote_service(max_requests: int) -> int:
    """Answer up to ``max_requests`` requests, then stop; returns how many it answered."""
    answered = 0
    DBOS.set_event("ready", True)
    while answered < max_requests:
        request: dict[str, Any] | None = DBOS.recv("request", timeout_seconds=10)
        if request is None:
            break  # nobody asked for a while
        cents = price_of(request["item"], request["quantity"])
        DBOS.send(request["reply_to"], {"item": request["item"], "cents": cents}, "response")
        answered += 1
    return answered


@DBOS.workflow()
def client(item: str, quantity: int) -> int:
    """Ask the service for a quote and wait for the answer (direct style)."""
    reply_to = DBOS.workflow_id
    assert reply_to is not None
    DBOS.send(SERVICE_ID, {"item": item, "quantity": quantity, "reply_to": reply_to}, "request")
    answer: dict[str, Any] | None = DBOS.recv("response", timeout_seconds=10)
    if answer is None:
        raise TimeoutError(f"no quote for {item}")
    cents: int = answer["cents"]
    return cents


@DBOS.workflow()
def fx_client(item: str, quantity: int, reply_to: str) -> fx.Program[int]:
    """The same client in the typed generator style."""
    request = {"item": item, "quantity": quantity, "reply_to": reply_to}
    yield from fx.send(SERVICE_ID, request, "request")
    answer = yield from fx.recv("response", timeout_seconds=10)
    if answer is None:
        raise TimeoutError(f"no quote for {item}")
    cents: int = answer["cents"]
    return cents


def main(url: str) -> None:
    DBOS(config={"name": "request-response", "system_database_url": url})
    DBOS.launch()
    try:
        with SetWorkflowID(SERVICE_ID):
            service = DBOS.start_workflow(quote_service, 3)
        DBOS.get_event(SERVICE_ID, "ready", timeout_seconds=10)
        apples = DBOS.start_workflow(client, "apple", 3)
        pears = DBOS.start_workflow(client, "pear", 2)
        with SetWorkflowID("plum-client"):
            plums = DBOS.start_workflow(fx_client, "plum", 5, "plum-client")
        print(f"3 apples cost {apples.get_result()} cents")
        print(f"2 pears cost {pears.get_result()} cents")
        print(f"5 plums cost {plums.get_result()} cents")
        print(f"the service answered {service.get_result()} requests")
    finally:
        DBOS.destroy()


if __name__ == "__main__":
    if len(sys.argv) > 1:
        main(sys.argv[1])
    else:
        with tempfile.TemporaryDirectory() as directory:
            main(f"sqlite:///{directory}/request_response.sqlite")
