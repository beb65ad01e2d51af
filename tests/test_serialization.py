"""Serializers: round trips, and errors that can always be recorded."""

from __future__ import annotations

import datetime
import decimal
import threading

import pytest

from transact import DBOS, PortableJSONSerializer, PortableWorkflowError, SetWorkflowID
from transact._serialization import DefaultSerializer, deserialize_error, serialize_error


class Unpicklable(Exception):
    def __init__(self, a: int, b: int) -> None:  # pickle re-calls __init__ with one arg
        super().__init__(f"{a}/{b}")


def test_pickle_round_trips_errors_and_falls_back() -> None:
    s = DefaultSerializer()
    error = deserialize_error(s, serialize_error(s, ValueError("bad")))
    assert isinstance(error, ValueError) and str(error) == "bad"
    fallback = deserialize_error(s, serialize_error(s, Unpicklable(1, 2)))
    assert str(fallback) == "Unpicklable: 1/2"


def test_portable_json_values_and_errors() -> None:
    s = PortableJSONSerializer()
    moment = datetime.datetime(2026, 1, 2, 3, 4, 5, 678000, tzinfo=datetime.timezone.utc)
    text = s.serialize({"when": moment, "n": decimal.Decimal("1.50"), "xs": (1, 2)})
    assert s.deserialize(text) == {"when": "2026-01-02T03:04:05.678Z", "n": "1.50", "xs": [1, 2]}
    with pytest.raises(TypeError):
        s.serialize(threading.Lock())
    error = deserialize_error(s, serialize_error(s, KeyError("k")))
    # DBOS's portable record reads back as a PortableWorkflowError: str() is the message.
    assert isinstance(error, PortableWorkflowError)
    assert (error.name, str(error)) == ("KeyError", "'k'")


@DBOS.workflow()
def portable_failure() -> None:
    raise RuntimeError("portable boom")


def test_workflow_error_is_recorded_with_a_portable_serializer(tmp_path: object) -> None:
    DBOS.destroy()
    DBOS(
        config={
            "name": "portable",
            "system_database_url": "memory://portable-errors",
            "serializer": PortableJSONSerializer(),
        }
    )
    DBOS.launch()
    try:
        with SetWorkflowID("portable-1"), pytest.raises(RuntimeError):
            portable_failure()
        status = DBOS.get_workflow_status("portable-1")
        assert status is not None and status.status == "ERROR"
        assert isinstance(status.error, PortableWorkflowError)
        assert (status.error.name, str(status.error)) == ("RuntimeError", "portable boom")
    finally:
        DBOS.destroy()
