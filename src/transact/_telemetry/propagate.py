"""``PropagateOtelContext``: the trace context the next workflows started in its block
store, so their spans join the caller's trace (after a dequeue or a recovery too)."""

from __future__ import annotations

import contextvars
import json
from types import TracebackType
from typing import Any

_propagated: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "transact_otel_context", default=None
)


def propagated_context() -> str | None:
    """The carrier set by an enclosing ``PropagateOtelContext`` (JSON), or None."""
    return _propagated.get()


def inject(context: Any = None) -> str | None:
    """The W3C trace context (``traceparent``/``tracestate``, no baggage) of ``context``
    (default: the current one) as JSON; None without OpenTelemetry or a valid span."""
    try:
        from opentelemetry.trace.propagation.tracecontext import (
            TraceContextTextMapPropagator,
        )
    except ImportError:
        return None
    carrier: dict[str, str] = {}
    TraceContextTextMapPropagator().inject(carrier, context=context)
    return json.dumps(carrier, sort_keys=True) if carrier else None


class PropagateOtelContext:
    """Store ``context`` (an OpenTelemetry ``Context``; default: the current one when the
    block is entered) with the workflows started or enqueued in this block, so their
    spans continue its trace wherever and whenever they run. Children of those
    workflows are not affected (they continue their parent's span)."""

    def __init__(self, context: Any = None) -> None:
        self.context = context
        self._token: contextvars.Token[str | None] | None = None

    def __enter__(self) -> PropagateOtelContext:
        self._token = _propagated.set(inject(self.context))
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._token is not None:
            _propagated.reset(self._token)
            self._token = None
