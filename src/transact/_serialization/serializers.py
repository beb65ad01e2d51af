"""Serializers turn workflow inputs, outputs, errors and messages into text."""

from __future__ import annotations

import binascii
import datetime
import decimal
import json
import pickle
from collections.abc import Mapping
from typing import Any, Protocol, runtime_checkable

from transact._serialization.portable_error import error_from_data, portable_error_data
from transact.errors import SerializationError


@runtime_checkable
class Serializer(Protocol):
    """Turns values into text for the store and back."""

    def serialize(self, data: Any) -> str:
        """Text for ``data``; raise on a value that cannot be represented."""
        ...

    def deserialize(self, text: str) -> Any:
        """The value ``text`` stands for."""
        ...

    def name(self) -> str:
        """The name stored beside each value (``py_pickle``, ``portable_json``, ...);
        a subclass that does not name itself is DBOS's ``custom_serializer``."""
        return "custom_serializer"


class DefaultSerializer:
    """base64(pickle): any picklable Python value, the default (DBOS's ``py_pickle``)."""

    def serialize(self, data: Any) -> str:
        """Pickle ``data`` and encode it as base64 text."""
        # binascii directly: base64's wrappers re-check their argument's type on every
        # call, a third of the cost of decoding a small value (read 500 at a time from
        # a stream).
        pickled = pickle.dumps(data, protocol=pickle.HIGHEST_PROTOCOL)
        return binascii.b2a_base64(pickled, newline=False).decode()

    def deserialize(self, text: str) -> Any:
        """Decode and unpickle ``text``."""
        return pickle.loads(binascii.a2b_base64(text))

    def name(self) -> str:
        """``py_pickle``."""
        return "py_pickle"


def _portable(value: Any) -> Any:
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, datetime.datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=datetime.timezone.utc)
        utc = value.astimezone(datetime.timezone.utc)
        return utc.isoformat(timespec="milliseconds").replace("+00:00", "Z")
    if isinstance(value, datetime.date):
        return value.isoformat()
    if isinstance(value, decimal.Decimal):
        return format(value, "f")
    if isinstance(value, (list, tuple, set, frozenset)):
        return [_portable(v) for v in value]
    if isinstance(value, Mapping):
        if not all(isinstance(k, str) for k in value):
            raise TypeError(
                "Attempt to do portable JSON serialization of a map with non-string keys"
            )
        return {k: _portable(v) for k, v in value.items()}
    raise TypeError(f"Object of type {type(value).__name__} is not portable JSON serializable")


class PortableJSONSerializer:
    """Compact JSON readable from any language (DBOS's ``portable_json``)."""

    def serialize(self, data: Any) -> str:
        """JSON text for ``data``; raise ``TypeError`` for values JSON cannot carry."""
        return json.dumps(_portable(data), separators=(",", ":"), ensure_ascii=False)

    def deserialize(self, text: str) -> Any:
        """Parse JSON text."""
        return json.loads(text)

    def name(self) -> str:
        """``portable_json``."""
        return "portable_json"


def serialize_value(serializer: Serializer, value: Any, what: str) -> str:
    """Serialize ``value``, turning any failure into a clear :class:`SerializationError`."""
    try:
        return serializer.serialize(value)
    except Exception as exc:
        raise SerializationError(
            f"cannot serialize {what} of type {type(value).__name__} with "
            f"{serializer.name()}: {exc}"
        ) from exc


def serialize_error(serializer: Serializer, error: BaseException) -> str:
    """Serialize an exception so that it can always be recorded.

    Portable JSON stores DBOS's record ``{"name", "message", "code", "data"}``; one that
    cannot be pickled is stored as ``Exception("<Type>: <msg>")``; a serializer that
    cannot carry exceptions at all stores the portable record.
    """
    if serializer.name() == "portable_json":
        try:
            return serializer.serialize(portable_error_data(error))
        except Exception:  # its data is not JSON: keep name and message
            return serializer.serialize({**portable_error_data(error), "data": None})
    try:
        text = serializer.serialize(error)
        serializer.deserialize(text)  # an exception whose __init__ rejects its args fails here
        return text
    except Exception:
        pass
    try:
        return serializer.serialize(Exception(f"{type(error).__name__}: {error}"))
    except Exception:
        return serializer.serialize({"name": type(error).__name__, "message": str(error)})


def deserialize_error(serializer: Serializer, text: str) -> BaseException:
    """The exception stored as ``text``: a portable record reads back as a
    ``PortableWorkflowError``; any other non-exception value is wrapped."""
    value = serializer.deserialize(text)
    if isinstance(value, BaseException):
        return value
    return error_from_data(value) or Exception(str(value))
