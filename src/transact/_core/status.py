"""Workflow statuses and the one table of legal transitions between them."""

from __future__ import annotations

import enum


class WorkflowStatusString(str, enum.Enum):
    """The status of a workflow; each value equals its name (as in DBOS)."""

    PENDING = "PENDING"
    ENQUEUED = "ENQUEUED"
    DELAYED = "DELAYED"
    SUCCESS = "SUCCESS"
    ERROR = "ERROR"
    CANCELLED = "CANCELLED"
    MAX_RECOVERY_ATTEMPTS_EXCEEDED = "MAX_RECOVERY_ATTEMPTS_EXCEEDED"


class StatusEvent(str, enum.Enum):
    """What happens to a workflow row."""

    DEQUEUE = "dequeue"  # a queue worker claims it
    RELEASE = "release"  # a delayed workflow's delay has elapsed
    SUCCEED = "succeed"
    FAIL = "fail"
    CANCEL = "cancel"
    RESUME = "resume"
    RECOVER = "recover"  # re-dispatched after a crash (counts a recovery attempt)
    DEAD_LETTER = "dead_letter"


S = WorkflowStatusString
E = StatusEvent

# The whole life of a workflow in one table: (status, event) -> new status.
# New rows start PENDING (a direct start), ENQUEUED or DELAYED (an enqueue).
TRANSITIONS: dict[tuple[WorkflowStatusString, StatusEvent], WorkflowStatusString] = {
    (S.ENQUEUED, E.DEQUEUE): S.PENDING,
    (S.DELAYED, E.RELEASE): S.ENQUEUED,
    (S.PENDING, E.SUCCEED): S.SUCCESS,
    (S.PENDING, E.FAIL): S.ERROR,
    (S.PENDING, E.CANCEL): S.CANCELLED,
    (S.ENQUEUED, E.CANCEL): S.CANCELLED,
    (S.DELAYED, E.CANCEL): S.CANCELLED,
    (S.PENDING, E.RECOVER): S.PENDING,
    (S.PENDING, E.DEAD_LETTER): S.MAX_RECOVERY_ATTEMPTS_EXCEEDED,
    (S.PENDING, E.RESUME): S.ENQUEUED,
    (S.ENQUEUED, E.RESUME): S.ENQUEUED,
    (S.DELAYED, E.RESUME): S.ENQUEUED,
    (S.CANCELLED, E.RESUME): S.ENQUEUED,
    (S.MAX_RECOVERY_ATTEMPTS_EXCEEDED, E.RESUME): S.ENQUEUED,
}

INITIAL: frozenset[WorkflowStatusString] = frozenset({S.PENDING, S.ENQUEUED, S.DELAYED})
TERMINAL: frozenset[WorkflowStatusString] = frozenset(
    {S.SUCCESS, S.ERROR, S.CANCELLED, S.MAX_RECOVERY_ATTEMPTS_EXCEEDED}
)
ACTIVE: frozenset[WorkflowStatusString] = frozenset({S.PENDING, S.ENQUEUED, S.DELAYED})


class IllegalTransition(ValueError):
    """The event does not apply to a workflow in this status."""


def transition(status: WorkflowStatusString, event: StatusEvent) -> WorkflowStatusString:
    """Return the status after ``event``; raise :class:`IllegalTransition` if not allowed."""
    try:
        return TRANSITIONS[(status, event)]
    except KeyError:
        raise IllegalTransition(f"{event.value} is not allowed in status {status.value}") from None


def sources(event: StatusEvent) -> frozenset[WorkflowStatusString]:
    """The statuses from which ``event`` is legal (SQL stores put these in WHERE clauses)."""
    return frozenset(s for (s, e) in TRANSITIONS if e is event)


def is_terminal(status: str) -> bool:
    """True once a workflow's outcome can no longer change without resume."""
    return status in _TERMINAL_VALUES


_TERMINAL_VALUES = frozenset(s.value for s in TERMINAL)
