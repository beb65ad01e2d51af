"""Context managers that set options for the next workflow started in their block."""

from __future__ import annotations

import contextvars
from types import TracebackType

import attrs

from transact._core.ids import validate_workflow_id
from transact._runtime.runtime import StartOptions
from transact.errors import DBOSException


@attrs.define
class _Ambient:
    workflow_id: str | None = None
    timeout_seconds: float | None = None
    timeout_set: bool = False
    authenticated_user: str | None = None
    authenticated_roles: tuple[str, ...] | None = None


_ambient: contextvars.ContextVar[_Ambient | None] = contextvars.ContextVar(
    "transact_ambient", default=None
)


def take_start_options() -> StartOptions:
    """Options for the workflow being started now; consumes the ``SetWorkflowID`` id."""
    ambient = _ambient.get()
    if ambient is None:
        return StartOptions()
    workflow_id, ambient.workflow_id = ambient.workflow_id, None
    return StartOptions(
        workflow_id=workflow_id,
        timeout_seconds=ambient.timeout_seconds,
        inherit_deadline=not ambient.timeout_set,
        authenticated_user=ambient.authenticated_user,
        authenticated_roles=ambient.authenticated_roles,
    )


def ambient_auth() -> tuple[str | None, tuple[str, ...] | None]:
    """The (user, roles) set by an enclosing ``DBOSContextSetAuth``."""
    ambient = _ambient.get()
    if ambient is None:
        return None, None
    return ambient.authenticated_user, ambient.authenticated_roles


class _Setter:
    def __init__(self) -> None:
        self._token: contextvars.Token[_Ambient | None] | None = None

    def _apply(self, ambient: _Ambient) -> None:
        raise NotImplementedError

    def __enter__(self) -> None:
        current = _ambient.get()
        ambient = attrs.evolve(current) if current is not None else _Ambient()
        self._apply(ambient)
        self._token = _ambient.set(ambient)

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        assert self._token is not None
        _ambient.reset(self._token)


class SetWorkflowID(_Setter):
    """The next workflow started, enqueued or called in the block gets ``workflow_id``.

    Starting a workflow with an id that already exists does not run it again: it returns
    the recorded outcome (or waits for it). Raises ``DBOSException`` for an empty id.
    """

    def __init__(self, workflow_id: str) -> None:
        super().__init__()
        try:
            self.workflow_id = validate_workflow_id(workflow_id)
        except ValueError as exc:
            raise DBOSException(str(exc)) from None

    def _apply(self, ambient: _Ambient) -> None:
        ambient.workflow_id = self.workflow_id


class SetWorkflowTimeout(_Setter):
    """Workflows started in the block are cancelled ``workflow_timeout_sec`` seconds later.

    The deadline is stored with the workflow (it survives restarts) and passed on to its
    children. ``None`` starts workflows with no timeout, detached from a parent's deadline.
    """

    def __init__(self, workflow_timeout_sec: float | None) -> None:
        super().__init__()
        if workflow_timeout_sec is not None and not workflow_timeout_sec > 0:
            raise DBOSException(f"workflow timeout must be positive, got {workflow_timeout_sec}")
        self.workflow_timeout_sec = workflow_timeout_sec

    def _apply(self, ambient: _Ambient) -> None:
        ambient.timeout_seconds = self.workflow_timeout_sec
        ambient.timeout_set = True


class DBOSContextSetAuth(_Setter):
    """Workflows started in the block run on behalf of ``user`` with ``roles``.

    The user and roles are stored with each workflow (``WorkflowStatus``), passed on to
    its children, restored when it is recovered, and read with ``DBOS.authenticated_user``
    and ``DBOS.authenticated_roles``.
    """

    def __init__(self, user: str | None, roles: list[str] | None) -> None:
        super().__init__()
        self.user = user
        self.roles = tuple(roles) if roles is not None else None

    def _apply(self, ambient: _Ambient) -> None:
        ambient.authenticated_user = self.user
        ambient.authenticated_roles = self.roles
