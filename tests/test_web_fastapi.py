"""``DBOS(config, fastapi=app)``: launch with the app's lifespan, the idempotency header,
DBOS errors as JSON; on every store, under ``TestClient``."""

from __future__ import annotations

import collections
from collections.abc import Iterator

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from transact import DBOS
from transact._facade import launched
from transact.errors import DBOSNotAuthorizedError

runs: collections.Counter[str] = collections.Counter()


@DBOS.step()
def count_run(tag: str) -> int:
    runs[tag] += 1
    return runs[tag]


@DBOS.workflow()
def web_checkout(tag: str) -> dict[str, object]:
    return {"workflow_id": DBOS.workflow_id, "run": count_run(tag)}


@DBOS.workflow()
async def web_async_checkout(tag: str) -> dict[str, object]:
    return {"workflow_id": DBOS.workflow_id, "run": await DBOS.run_step_async(None, count_run, tag)}


def make_app(system_database_url: str) -> FastAPI:
    app = FastAPI()
    DBOS(config={"name": "web-test", "system_database_url": system_database_url}, fastapi=app)

    @app.post("/checkout/{tag}")
    def checkout(tag: str) -> dict[str, object]:
        return web_checkout(tag)

    @app.post("/async-checkout/{tag}")
    async def async_checkout(tag: str) -> dict[str, object]:
        return await web_async_checkout(tag)

    @app.get("/status/{workflow_id}")
    def status(workflow_id: str) -> dict[str, object]:
        return {"status": DBOS.retrieve_workflow(workflow_id).get_status().status}

    @app.get("/forbidden")
    def forbidden() -> None:
        raise DBOSNotAuthorizedError("Function forbidden requires a role")

    return app


@pytest.fixture
def client(system_database_url: str) -> Iterator[TestClient]:
    runs.clear()
    with TestClient(make_app(system_database_url)) as test_client:
        yield test_client
    DBOS.destroy()  # a no-op when the lifespan already destroyed it


def test_the_lifespan_launches_and_destroys_dbos(system_database_url: str) -> None:
    app = make_app(system_database_url)
    assert launched.runtime_or_none() is None
    with TestClient(app) as test_client:
        assert launched.runtime_or_none() is not None
        assert test_client.post("/checkout/a").status_code == 200
    assert launched.runtime_or_none() is None


def test_a_repeated_idempotency_key_returns_the_first_outcome(client: TestClient) -> None:
    headers = {"dbos-idempotency-key": "order-1"}
    first = client.post("/checkout/k", headers=headers).json()
    again = client.post("/checkout/k", headers=headers).json()
    assert first == again == {"workflow_id": "order-1", "run": 1}
    assert runs["k"] == 1
    assert client.get("/status/order-1").json() == {"status": "SUCCESS"}


def test_requests_without_the_header_each_run_their_workflow(client: TestClient) -> None:
    one = client.post("/checkout/n").json()
    two = client.post("/checkout/n").json()
    assert (one["run"], two["run"]) == (1, 2)
    assert one["workflow_id"] != two["workflow_id"]


def test_the_key_applies_to_async_routes_awaiting_async_workflows(client: TestClient) -> None:
    headers = {"dbos-idempotency-key": "async-1"}
    first = client.post("/async-checkout/a", headers=headers).json()
    again = client.post("/async-checkout/a", headers=headers).json()
    assert first == again == {"workflow_id": "async-1", "run": 1}


def test_a_dbos_error_escaping_a_route_is_dbos_json(client: TestClient) -> None:
    missing = client.get("/status/no-such-workflow")
    assert missing.status_code == 500
    body = missing.json()
    assert body["dbos_error"] == "DBOSNonExistentWorkflowError"
    assert body["dbos_error_code"] == 5
    assert "no-such-workflow" in body["message"]
    forbidden = client.get("/forbidden")
    assert forbidden.status_code == 403
    assert forbidden.json() == {
        "message": "DBOS Error 8: Function forbidden requires a role",
        "dbos_error_code": 8,
        "dbos_error": "DBOSNotAuthorizedError",
    }
