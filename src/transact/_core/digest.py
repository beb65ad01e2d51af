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

from transact._core.effects import Effect, RunStep

_ADDRESS = re.compile(r" at 0x[0-9a-fA-F]+")


# The compared fields of each effect type with their defaults, computed once per type
# (a step pays a lookup).
_FIELDS: dict[type, tuple[tuple[str, Any], ...]] = {}
# Not arguments: the operation's name is compared on its own (the checkpoint's name),
# and a step's retry policy, timeout and preemption are its definition, not a call's.
_NOT_ARGUMENTS = frozenset({"name", "retry"})
_STEP_DEFINITION = frozenset({"timeout_seconds", "preemptible"})
_NO_DEFAULT = object()
_PLAIN = frozenset({type(None), bool, int, float, str, bytes})


def _fields_of(kind: Any) -> tuple[tuple[str, Any], ...]:
    named = _FIELDS.get(kind)
    if named is None:
        fields = attrs.fields(kind) if attrs.has(kind) else ()
        named = tuple(
            (f.name, _NO_DEFAULT if isinstance(f.default, attrs.Factory) else f.default)  # type: ignore[arg-type]
            for f in fields
            if f.eq
            and f.name not in _NOT_ARGUMENTS
            and not (kind is RunStep and f.name in _STEP_DEFINITION)
        )
        _FIELDS[kind] = named
    return named


def arguments(effect: Effect[Any]) -> dict[str, Any]:
    """The effect's compared fields by name, less its name, step definition and
    callables. Trailing fields at their defaults are left out, so a field added to an
    effect (always at the end, with a default) changes no digest already recorded."""
    found: list[tuple[str, Any, Any]] = []
    for name, default in _fields_of(type(effect)):
        value = getattr(effect, name)
        if not callable(value):
            found.append((name, value, default))
    while found and found[-1][2] is not _NO_DEFAULT and found[-1][1] == found[-1][2]:
        found.pop()
    return {name: value for name, value, _ in found}


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
