"""``validate_args`` for ``@DBOS.workflow``: Pydantic validators built from a workflow's
type hints (``pip install transact[pydantic]``).

A validator is ``(args, kwargs) -> (args, kwargs)``; it runs when a persisted workflow is
dispatched (dequeued, recovered, resumed or forked), and a failure marks it ERROR.
"""

from __future__ import annotations

import inspect
import typing
from collections.abc import Callable
from typing import Any

ArgsValidator = Callable[[tuple[Any, ...], dict[str, Any]], tuple[tuple[Any, ...], dict[str, Any]]]


def pydantic_args_validator(
    args: tuple[Any, ...], kwargs: dict[str, Any]
) -> tuple[tuple[Any, ...], dict[str, Any]]:
    """A sentinel: ``@DBOS.workflow(validate_args=pydantic_args_validator)`` replaces it
    with ``make_pydantic_args_validator(func)`` at decoration time."""
    raise TypeError(
        "pydantic_args_validator is a marker for @DBOS.workflow(validate_args=...), "
        "not a validator to call"
    )


def make_pydantic_args_validator(func: Callable[..., Any]) -> ArgsValidator:
    """A validator coercing each argument of ``func`` with a Pydantic ``TypeAdapter`` of
    its annotation (the leading ``self``/``cls`` of a method is skipped). It raises
    ``ValueError("Argument validation failed for workflow:\\n...")`` listing every bad or
    missing argument."""
    try:
        import pydantic
    except ImportError:
        raise ImportError(
            "pydantic is required for pydantic_args_validator. Install it with: "
            "pip install pydantic  (or pip install transact[pydantic])"
        ) from None
    hints = typing.get_type_hints(func)
    parameters = list(inspect.signature(func).parameters.values())
    if parameters and parameters[0].name in ("self", "cls"):
        parameters = parameters[1:]
    adapters = {p.name: pydantic.TypeAdapter(hints[p.name]) for p in parameters if p.name in hints}
    positional = [
        p
        for p in parameters
        if p.kind in (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
    ]

    def check(name: str, value: Any, where: str, problems: list[str]) -> Any:
        adapter = adapters.get(name)
        if adapter is None:
            return value
        try:
            return adapter.validate_python(value)
        except pydantic.ValidationError as exc:
            detail = "; ".join(str(e["msg"]) for e in exc.errors())
            problems.append(f"{where}: {detail}")
            return value

    def validate(
        args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> tuple[tuple[Any, ...], dict[str, Any]]:
        problems: list[str] = []
        new_args = tuple(
            check(
                positional[i].name, v, f"Argument '{positional[i].name}' (position {i})", problems
            )
            if i < len(positional)
            else v
            for i, v in enumerate(args)
        )
        new_kwargs = {k: check(k, v, f"Argument '{k}'", problems) for k, v in kwargs.items()}
        given = {p.name for p in positional[: len(args)]} | set(kwargs)
        for p in parameters:
            if p.kind in (inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD):
                continue
            if p.default is inspect.Parameter.empty and p.name not in given:
                problems.append(f"Missing required argument: '{p.name}'")
        if problems:
            raise ValueError("Argument validation failed for workflow:\n" + "\n".join(problems))
        return new_args, new_kwargs

    return validate


def resolve_validator(
    validate_args: ArgsValidator | None, func: Callable[..., Any]
) -> ArgsValidator | None:
    """The validator a workflow declares (the sentinel becomes a Pydantic validator)."""
    if validate_args is pydantic_args_validator:
        return make_pydantic_args_validator(func)
    return validate_args


__all__ = [
    "ArgsValidator",
    "make_pydantic_args_validator",
    "pydantic_args_validator",
    "resolve_validator",
]
