"""Values to text and back: the ``Serializer`` protocol, pickle (default) and portable JSON."""

from transact._serialization.serializers import (
    DefaultSerializer,
    PortableJSONSerializer,
    Serializer,
    deserialize_error,
    serialize_error,
    serialize_value,
)

__all__ = [
    "DefaultSerializer",
    "PortableJSONSerializer",
    "Serializer",
    "deserialize_error",
    "serialize_error",
    "serialize_value",
]
