"""Management calls made inside a workflow, recorded like steps."""

from __future__ import annotations

from typing import Any

from transact._core.checkpoint import Checkpoint
from transact._core.effects import Call
from transact._runtime.clock import now_ms
from transact._runtime.interpreter import handler, record
from transact._runtime.state import WorkflowState
from transact._serialization import serialize_error, serialize_value


@handler(Call)
def execute_call(state: WorkflowState, function_id: int, effect: Call[Any]) -> Any:
    """Run the call and record its result (or error)."""
    runtime = state.runtime
    started = now_ms(runtime.clock)
    try:
        result = effect.func()
    except Exception as exc:
        record(
            state,
            Checkpoint(
                function_id,
                effect.name,
                error=serialize_error(runtime.serializer, exc),
                started_at_epoch_ms=started,
                completed_at_epoch_ms=now_ms(runtime.clock),
            ),
        )
        raise
    record(
        state,
        Checkpoint(
            function_id,
            effect.name,
            output=serialize_value(runtime.serializer, result, effect.name),
            started_at_epoch_ms=started,
            completed_at_epoch_ms=now_ms(runtime.clock),
        ),
    )
    return result
