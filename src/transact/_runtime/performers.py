"""The performers: one immutable table from each effect type to the functions that
execute it and, for a few, replay it.

This is the only module that imports the handler modules; the interpreter reads the
table from ``state.env.performers`` (the Runtime builds its ``Env`` with it), so nothing
is registered by importing a package and a test may hand in a table of its own. An
effect without a replay function replays its recorded outcome (``replay_outcome``).
"""

from __future__ import annotations

from types import MappingProxyType
from typing import Any

from transact._core.effects import (
    CancelWorkflow,
    CloseStream,
    DeleteWorkflow,
    Effect,
    ForkWorkflow,
    GetAllEvents,
    GetEvent,
    GetResult,
    GetStatus,
    ListWorkflows,
    ListWorkflowSteps,
    ReadStream,
    Recv,
    ResumeWorkflow,
    RunStep,
    RunTransaction,
    Send,
    SendBulk,
    SetEvent,
    Sleep,
    StartChild,
    WaitFirst,
    WriteStream,
)
from transact._runtime.env import Performer, Performers
from transact._runtime.handlers import (
    bulk_messages,
    children,
    events,
    messages,
    operations,
    queries,
    sleep,
    steps,
    streams,
    transactions,
)

_TABLE: dict[type[Effect[Any]], Performer] = {
    RunStep: Performer(steps.execute_step),
    RunTransaction: Performer(transactions.execute_transaction),
    Sleep: Performer(sleep.execute_sleep, sleep.replay_sleep),
    StartChild: Performer(children.execute_start_child, children.replay_start),
    GetResult: Performer(children.execute_get_result),
    Send: Performer(messages.execute_send),
    # The recorded output of a recv is the message, or None for a timeout.
    Recv: Performer(messages.execute_recv),
    SetEvent: Performer(events.execute_set_event),
    GetEvent: Performer(events.execute_get_event),
    WriteStream: Performer(streams.execute_write_stream),
    CloseStream: Performer(streams.execute_close_stream),
    ReadStream: Performer(streams.execute_read_stream, streams.replay_read),
    SendBulk: Performer(bulk_messages.execute_send_bulk),
    GetStatus: Performer(queries.execute_get_status),
    ListWorkflows: Performer(queries.execute_list_workflows),
    ListWorkflowSteps: Performer(queries.execute_list_steps),
    GetAllEvents: Performer(queries.execute_get_all_events),
    WaitFirst: Performer(queries.execute_wait_first),
    CancelWorkflow: Performer(operations.execute_cancel),
    ResumeWorkflow: Performer(operations.execute_resume),
    DeleteWorkflow: Performer(operations.execute_delete),
    ForkWorkflow: Performer(operations.execute_fork),
}

PERFORMERS: Performers = MappingProxyType(_TABLE)
