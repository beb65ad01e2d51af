"""Which serializer a workflow's values use (DBOS's per-workflow ``serialization_type``),
and its inputs as stored: ``{"args", "kwargs"}`` natively, ``{"positionalArgs",
"namedArgs"}`` in portable JSON; checked by its ``validate_args`` when dispatched."""

from __future__ import annotations

import datetime
import inspect
import typing
from typing import Any

from transact._runtime.env import Env
from transact._runtime.registry import WorkflowSpec
from transact._serialization import (
    PortableJSONSerializer,
    Serializer,
    format_serializer,
    serializer_named,
)
from transact._store.records import WorkflowRecord

PORTABLE_JSON = "portable_json"


def workflow_serializer(env: Env, serialization: str | None) -> Serializer:
    """The serializer of a workflow whose row stores ``serialization`` (the row's
    format wins: a workflow enqueued as portable from another language runs portable)."""
    return serializer_named(serialization, env.serializer)


def value_serializer(
    env: Env, serialization_type: str | None, workflow_serialization: str | None
) -> Serializer:
    """The serializer of a message, event or stream value: the explicit
    ``serialization_type``; else the calling workflow's format if it is portable; else
    the application serializer."""
    if serialization_type is not None:
        return format_serializer(serialization_type, env.serializer)
    if workflow_serialization == PORTABLE_JSON:
        return PortableJSONSerializer()
    return env.serializer


def encode_inputs(serializer: Serializer, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    """The inputs value to serialize, in the shape of ``serializer``'s format."""
    if serializer.name() == PORTABLE_JSON:
        return {"positionalArgs": list(args), "namedArgs": kwargs}
    return {"args": args, "kwargs": kwargs}


def decode_inputs(
    env: Env, record: WorkflowRecord, spec: WorkflowSpec
) -> tuple[tuple[Any, ...], dict[str, Any]]:
    """The arguments stored in ``record`` (raises if they cannot be read)."""
    serializer = workflow_serializer(env, record.serialization)
    inputs = serializer.deserialize(record.inputs or "")
    if serializer.name() != PORTABLE_JSON:
        return tuple(inputs["args"]), dict(inputs["kwargs"])
    args = tuple(inputs.get("positionalArgs") or ())
    kwargs = dict(inputs.get("namedArgs") or {})
    if spec.validate_args is None:
        args, kwargs = _parse_dates(spec, args, kwargs)
    return args, kwargs


def validated(
    spec: WorkflowSpec, args: tuple[Any, ...], kwargs: dict[str, Any]
) -> tuple[tuple[Any, ...], dict[str, Any]]:
    """The arguments after the workflow's ``validate_args`` (unchanged without one)."""
    if spec.validate_args is None:
        return args, kwargs
    new_args, new_kwargs = spec.validate_args(args, kwargs)
    return tuple(new_args), dict(new_kwargs)


def _parse_dates(
    spec: WorkflowSpec, args: tuple[Any, ...], kwargs: dict[str, Any]
) -> tuple[tuple[Any, ...], dict[str, Any]]:
    """Portable JSON carries dates as ISO text: parse back the strings whose parameter
    is annotated ``datetime`` or ``date``, as DBOS does."""
    try:
        hints = typing.get_type_hints(spec.func)
        parameters = list(inspect.signature(spec.func).parameters)
    except Exception:  # unresolvable annotations: leave the values as they are
        return args, kwargs

    def parse(name: str, value: Any) -> Any:
        hint = hints.get(name)
        if not isinstance(value, str) or hint not in (datetime.datetime, datetime.date):
            return value
        try:
            moment = datetime.datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return value
        return moment if hint is datetime.datetime else moment.date()

    new_args = tuple(
        parse(parameters[i], v) if i < len(parameters) else v for i, v in enumerate(args)
    )
    return new_args, {k: parse(k, v) for k, v in kwargs.items()}
