"""Argument digests: a short, stable fingerprint of what an effect was asked to do.

``arguments(effect)`` is the effect's compared fields (a step's name, inputs and retry
policy; a send's destination, topic and message; a sleep's duration; ...), without the
callables. ``digest(effect)`` hashes a canonical text of them, so the same call in
another process (or after a restart) gives the same digest. A value with no stable text
(an object whose ``repr`` shows its address) contributes only its type's name.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from typing import Any

import attrs

from transact._core.effects import Effect

_ADDRESS = re.compile(r" at 0x[0-9a-fA-F]+")


def arguments(effect: Effect[Any]) -> dict[str, Any]:
    """The effect's compared fields, by name (callables and handles left out)."""
    kind: Any = type(effect)
    if not attrs.has(kind):
        return {}
    return {
        f.name: getattr(effect, f.name)
        for f in attrs.fields(kind)
        if f.eq and not callable(getattr(effect, f.name))
    }


def _canonical(value: Any) -> str:
    if value is None or isinstance(value, (bool, int, float, str, bytes)):
        return repr(value)
    if isinstance(value, Mapping):
        items = sorted((_canonical(k), _canonical(v)) for k, v in value.items())
        return "{" + ",".join(f"{k}:{v}" for k, v in items) + "}"
    if isinstance(value, (list, tuple)):
        return "[" + ",".join(_canonical(v) for v in value) + "]"
    if isinstance(value, (set, frozenset)):
        return "{" + ",".join(sorted(_canonical(v) for v in value)) + "}"
    if attrs.has(type(value)):
        return type(value).__name__ + _canonical(attrs.asdict(value, recurse=False))
    text = repr(value)
    return type(value).__name__ if _ADDRESS.search(text) else text


def digest(effect: Effect[Any]) -> str:
    """16 hex digits of SHA-256 over the canonical text of ``arguments(effect)``."""
    text = _canonical(arguments(effect))
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:16]
