"""Argument digests: a short, stable fingerprint of what an effect was asked to do.

``arguments(effect)`` is the effect's compared fields (a step's inputs; a send's
destination, topic and message; a sleep's duration; ...), without the callables, the
name (compared on its own) and a step's retry policy (part of its definition).
``digest(effect)`` hashes a canonical text of them, so the same call in another process
(or after a restart) gives the same digest. A value with no stable text (an object
whose ``repr`` shows its address) contributes only its type's name.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from typing import Any

import attrs

from transact._core.effects import Effect

_ADDRESS = re.compile(r" at 0x[0-9a-fA-F]+")


# The compared fields of each effect type, computed once per type (a step pays a lookup).
_FIELDS: dict[type, tuple[str, ...]] = {}
# Not arguments: the operation's name is compared on its own (the checkpoint's name),
# and a step's retry policy is part of its definition, not of a call.
_NOT_ARGUMENTS = frozenset({"name", "retry"})
_PLAIN = frozenset({type(None), bool, int, float, str, bytes})


def _fields_of(kind: Any) -> tuple[str, ...]:
    names = _FIELDS.get(kind)
    if names is None:
        fields = attrs.fields(kind) if attrs.has(kind) else ()
        names = tuple(f.name for f in fields if f.eq and f.name not in _NOT_ARGUMENTS)
        _FIELDS[kind] = names
    return names


def arguments(effect: Effect[Any]) -> dict[str, Any]:
    """The effect's compared fields by name, less its name, retry policy and callables."""
    found = {}
    for name in _fields_of(type(effect)):
        value = getattr(effect, name)
        if not callable(value):
            found[name] = value
    return found


def _canonical(value: Any) -> str:
    kind = type(value)
    if kind in _PLAIN:
        return repr(value)
    if kind is tuple or kind is list:
        if all(type(v) in _PLAIN for v in value):  # the usual step inputs: repr is stable
            return repr(list(value))
        return "[" + ",".join([_canonical(v) for v in value]) + "]"
    if kind is dict and not value:
        return "{}"
    if kind is dict or isinstance(value, Mapping):
        items = sorted([(_canonical(k), _canonical(v)) for k, v in value.items()])
        return "{" + ",".join([f"{k}:{v}" for k, v in items]) + "}"
    if isinstance(value, (list, tuple)):
        return "[" + ",".join([_canonical(v) for v in value]) + "]"
    if isinstance(value, (set, frozenset)):
        return "{" + ",".join(sorted([_canonical(v) for v in value])) + "}"
    # Anything else (attrs classes and dataclasses included) by its repr, unless the repr
    # shows an address: that would differ in every process.
    text = repr(value)
    return kind.__name__ if _ADDRESS.search(text) else text


def digest(effect: Effect[Any]) -> str:
    """16 hex digits of SHA-256 over the canonical text of ``arguments(effect)``."""
    # Fields in their declared order (fixed per effect type): no sorting at the top.
    text = "|".join([_canonical(v) for v in arguments(effect).values()])
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:16]
