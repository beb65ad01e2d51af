"""Per-workflow serialization formats (DBOS's ``WorkflowSerializationFormat``), the
lookup of a serializer by the name stored beside a value, and the runtime's tolerant
reader."""

from __future__ import annotations

import enum
from typing import Any

from transact._serialization.serializers import (
    DefaultSerializer,
    PortableJSONSerializer,
    Serializer,
)

PORTABLE_JSON = "portable_json"


class WorkflowSerializationFormat(str, enum.Enum):
    """How a workflow's inputs, outcome, messages and events are stored: ``PORTABLE``
    (JSON any language reads), ``NATIVE`` (pickle) or ``DEFAULT`` (the configured
    serializer; as in DBOS its value is the string ``"None"``, and None means the same)."""

    PORTABLE = "portable"
    NATIVE = "native"
    DEFAULT = "None"  # DBOS declares None, which the str mixin turns into "None"


def format_name(serialization_type: WorkflowSerializationFormat | str | None) -> str | None:
    """``"portable"``, ``"native"`` or None (the default); ``ValueError`` for anything else."""
    fmt = getattr(serialization_type, "value", serialization_type)
    if fmt in (None, "None"):
        return None
    if fmt in (
        WorkflowSerializationFormat.PORTABLE.value,
        WorkflowSerializationFormat.NATIVE.value,
    ):
        return str(fmt)
    raise ValueError(f"unknown serialization_type {serialization_type!r}")


def format_serializer(
    serialization_type: WorkflowSerializationFormat | str | None, configured: Serializer
) -> Serializer:
    """The serializer a format asks for: portable JSON, pickle, or the configured one."""
    fmt = format_name(serialization_type)
    if fmt == WorkflowSerializationFormat.PORTABLE.value:
        return PortableJSONSerializer()
    if fmt == WorkflowSerializationFormat.NATIVE.value:
        return DefaultSerializer()
    return configured


def serializer_named(name: str | None, configured: Serializer) -> Serializer:
    """The serializer whose ``name()`` was stored; ``TypeError`` if none here has it."""
    if name is None or name == configured.name():
        return configured
    if name == PORTABLE_JSON:
        return PortableJSONSerializer()
    if name == "py_pickle":
        return DefaultSerializer()
    raise TypeError(f"Serialization {name} is not available")


class TolerantSerializer:
    """The runtime's serializer: writes with the configured one; reads text written by
    it, or by portable JSON or pickle (a value a portable workflow or a
    ``serialization_type=`` call stored, in a table without a format column)."""

    def __init__(self, configured: Serializer) -> None:
        self.configured = configured
        self._others: tuple[Serializer, ...] = tuple(
            s
            for s in (PortableJSONSerializer(), DefaultSerializer())
            if s.name() != configured.name()
        )

    def serialize(self, data: Any) -> str:
        """Text for ``data``, from the configured serializer."""
        return self.configured.serialize(data)

    def deserialize(self, text: str) -> Any:
        """The value of ``text``: the configured serializer's reading, else another's."""
        try:
            return self.configured.deserialize(text)
        except Exception:
            for other in self._others:
                try:
                    return other.deserialize(text)
                except Exception:
                    continue
            raise

    def name(self) -> str:
        """The configured serializer's name."""
        return self.configured.name()


def tolerant(serializer: Serializer) -> Serializer:
    """``serializer`` reading the other built-in formats too (idempotent)."""
    if isinstance(serializer, TolerantSerializer):
        return serializer
    return TolerantSerializer(serializer)
