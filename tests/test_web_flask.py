"""``DBOS(config, flask=app)``: the idempotency header, on every store, with Flask's test
client."""

from __future__ import annotations

import collections
from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from transact import DBOS

runs: collections.Counter[str] = collections.Counter()


@DBOS.step()
def flask_count(tag: str) -> int:
    runs[tag] += 1
    return runs[tag]


@DBOS.workflow()
def flask_checkout(tag: str) -> dict[str, Any]:
    return {"workflow_id": DBOS.workflow_id, "run": flask_count(tag)}


@pytest.fixture
def client(system_database_url: str) -> Iterator[FlaskClient]:
    runs.clear()
    app = Flask(__name__)
    DBOS(config={"name": "flask-test", "system_database_url": system_database_url}, flask=app)

    @app.post("/checkout/<tag>")
    def checkout(tag: str) -> Any:
        return flask_checkout(tag)

    DBOS.launch()
    try:
        yield app.test_client()
    finally:
        DBOS.destroy()


def test_a_repeated_idempotency_key_returns_the_first_outcome(client: FlaskClient) -> None:
    headers = {"dbos-idempotency-key": "flask-1"}
    first = client.post("/checkout/k", headers=headers).get_json()
    again = client.post("/checkout/k", headers=headers).get_json()
    assert first == again == {"workflow_id": "flask-1", "run": 1}
    assert runs["k"] == 1
    assert DBOS.get_workflow_status("flask-1") is not None


def test_requests_without_the_header_each_run_their_workflow(client: FlaskClient) -> None:
    one = client.post("/checkout/n").get_json()
    two = client.post("/checkout/n").get_json()
    assert (one["run"], two["run"]) == (1, 2)
    assert one["workflow_id"] != two["workflow_id"]
