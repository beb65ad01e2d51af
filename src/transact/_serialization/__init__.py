"""Values to text and back: the ``Serializer`` protocol, pickle (default) and portable JSON."""

from transact._serialization.portable import (
    WorkflowSerializationFormat,
    format_name,
    format_serializer,
    serializer_named,
    tolerant,
)
from transact._serialization.portable_error import PortableWorkflowError
from transact._serialization.serializers import (
    DefaultSerializer,
    PortableJSONSerializer,
    Serializer,
    deserialize_error,
    serialize_error,
    serialize_value,
)

# DBOS's name for the portable JSON serializer.
DBOSPortableJSONSerializer = PortableJSONSerializer

__all__ = [
    "DBOSPortableJSONSerializer",
    "DefaultSerializer",
    "PortableJSONSerializer",
    "PortableWorkflowError",
    "Serializer",
    "WorkflowSerializationFormat",
    "deserialize_error",
    "format_name",
    "format_serializer",
    "serialize_error",
    "serialize_value",
    "serializer_named",
    "tolerant",
]
