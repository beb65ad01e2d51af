"""``WorkflowStatus`` and ``StepInfo``: what introspection returns (kept in the runtime,
whose handlers record them)."""

from transact._runtime.status import StepInfo, WorkflowStatus, to_status, to_step_info

__all__ = ["StepInfo", "WorkflowStatus", "to_status", "to_step_info"]
