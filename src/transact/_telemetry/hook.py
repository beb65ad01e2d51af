"""What the runtime calls: the ``Tracing`` protocol and its no-op ``NO_TRACING``.

The runtime opens a span around each workflow execution and each step or transaction
body, adds an event on each failed attempt, and asks for the trace context to store with
a new workflow (so its span continues the caller's trace after a dequeue or a recovery).
The hooks take plain values, never the runtime's objects, so this package stays below
the runtime.
"""

from __future__ import annotations

from collections.abc import Mapping
from contextlib import AbstractContextManager, nullcontext
from typing import Any, Protocol

from transact._telemetry.propagate import propagated_context


class Tracing(Protocol):
    """The runtime's tracing hook."""

    enabled: bool

    def workflow(
        self,
        workflow_id: str,
        name: str,
        *,
        user: str | None,
        roles: tuple[str, ...] | None,
        queue_name: str | None,
        parent: str | None,
    ) -> AbstractContextManager[Any]:
        """A span around one execution of a workflow, child of the stored ``parent``
        context (a JSON W3C carrier) or a new trace."""
        ...

    def operation(self, kind: str, name: str, workflow_id: str) -> AbstractContextManager[Any]:
        """A span around a step or transaction body (``kind`` "step" or "transaction"),
        child of the current (workflow) span."""
        ...

    def event(self, text: str) -> None:
        """Add an event to the current span (a failed attempt, a retried transaction)."""
        ...

    def handler(self, name: str, request: Mapping[str, str]) -> AbstractContextManager[Any]:
        """A span around one HTTP request (``operationType`` "handler"), with
        ``request``'s ``requestID``, ``requestIP``, ``requestURL`` and ``requestMethod``;
        the span it yields (None when off) takes the response code via ``responded``."""
        ...

    def responded(self, span: Any, status_code: int) -> None:
        """Record the response's status code on a handler span."""
        ...

    def carrier(self, *, child: bool) -> str | None:
        """The trace context to store with a new workflow: ``PropagateOtelContext``'s
        (not for children), else the current span's; None when there is none."""
        ...

    def shutdown(self) -> None:
        """Flush and stop exporting."""
        ...


_NULL: AbstractContextManager[Any] = nullcontext()


class NoTracing:
    """Tracing off: every span is a shared null context, no event is kept. A context
    given with ``PropagateOtelContext`` is still stored, for a process that traces."""

    enabled = False

    def workflow(
        self,
        workflow_id: str,
        name: str,
        *,
        user: str | None,
        roles: tuple[str, ...] | None,
        queue_name: str | None,
        parent: str | None,
    ) -> AbstractContextManager[Any]:
        """No span."""
        return _NULL

    def operation(self, kind: str, name: str, workflow_id: str) -> AbstractContextManager[Any]:
        """No span."""
        return _NULL

    def event(self, text: str) -> None:
        """Nothing to add to."""

    def handler(self, name: str, request: Mapping[str, str]) -> AbstractContextManager[Any]:
        """No span."""
        return _NULL

    def responded(self, span: Any, status_code: int) -> None:
        """No span."""

    def carrier(self, *, child: bool) -> str | None:
        """Only an explicitly propagated context."""
        return None if child else propagated_context()

    def shutdown(self) -> None:
        """Nothing to flush."""


NO_TRACING: Tracing = NoTracing()
