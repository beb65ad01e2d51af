"""The handler span of FastAPI and Flask requests (``enable_otlp``), on every store: DBOS's
request attributes, the response code, and the workflows a route runs in its trace."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from flask import Flask
from opentelemetry.sdk.trace import ReadableSpan

from tests.tracing_exporter import EXPORTER, finished, one
from transact import DBOS


@DBOS.step()
def web_traced_step(tag: str) -> str:
    return tag.upper()


@DBOS.workflow()
def web_traced(tag: str) -> str:
    return web_traced_step(tag)


def ancestors(span: ReadableSpan) -> set[int]:
    """The span ids above ``span`` among the finished spans."""
    by_id = {s.context.span_id: s for s in EXPORTER.get_finished_spans()}
    out: set[int] = set()
    parent = span.parent
    while parent is not None:
        out.add(parent.span_id)
        above = by_id.get(parent.span_id)
        parent = above.parent if above is not None else None
    return out


def config(url: str) -> Any:
    return {"name": "web-traced", "system_database_url": url, "enable_otlp": True}


@pytest.fixture
def fastapi_client(system_database_url: str) -> Iterator[TestClient]:
    EXPORTER.clear()
    app = FastAPI()
    DBOS(config=config(system_database_url), fastapi=app)

    @app.get("/orders/{tag}")
    def order(tag: str) -> dict[str, str]:
        return {"result": web_traced(tag)}

    with TestClient(app) as client:
        yield client
    DBOS.destroy()


def test_fastapi_requests_get_a_handler_span(fastapi_client: TestClient) -> None:
    answer = fastapi_client.get("/orders/abc?x=1", headers={"x-request-id": "req-7"})
    assert answer.json() == {"result": "ABC"}
    handler = one("/orders/abc")
    attributes = dict(handler.attributes or {})
    assert attributes["operationType"] == "handler"
    assert attributes["requestID"] == "req-7"
    assert attributes["requestURL"] == "/orders/abc?x=1"
    assert attributes["requestMethod"] == "GET"
    assert attributes["responseCode"] == 200
    assert attributes["applicationID"] == "web-traced"
    workflow = one(web_traced.__qualname__)
    # In the request's trace, under the handler span (FastAPI may add spans between).
    assert workflow.context.trace_id == handler.context.trace_id
    assert handler.context.span_id in ancestors(workflow)
    fastapi_client.get("/orders/def")
    second = finished("/orders/def", 1)[0]
    assert dict(second.attributes or {})["requestID"]  # a generated id without the header


def test_flask_requests_get_a_handler_span(system_database_url: str) -> None:
    EXPORTER.clear()
    app = Flask(__name__)
    DBOS(config=config(system_database_url), flask=app)

    @app.post("/orders/<tag>")
    def order(tag: str) -> Any:
        return {"result": web_traced(tag)}

    DBOS.launch()
    try:
        answer = app.test_client().post("/orders/xyz", headers={"x-request-id": "req-9"})
        assert answer.get_json() == {"result": "XYZ"}
    finally:
        DBOS.destroy()
    handler = one("/orders/xyz")
    attributes = dict(handler.attributes or {})
    assert (attributes["requestID"], attributes["requestMethod"]) == ("req-9", "POST")
    assert attributes["responseCode"] == 200
    workflow = one(web_traced.__qualname__)
    assert workflow.parent is not None and workflow.parent.span_id == handler.context.span_id
