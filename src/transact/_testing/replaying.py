"""``replay_history``: a recorded history (a JSON file) against the code as it is now,
with no database: the history is loaded into a private in-memory store and replayed;
the first divergence is raised as a structured ``HistoryDivergence``."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Coroutine, Mapping
from pathlib import Path
from typing import Any, TypeVar, overload

from transact._core.decide import Mismatch
from transact._core.digest import arguments, digest
from transact._facade import launched
from transact._runtime.registry import REGISTRY, spec_of
from transact._runtime.replayer import ReplayDivergence, replay
from transact._runtime.runtime import Runtime
from transact._serialization import DefaultSerializer, PortableJSONSerializer, Serializer
from transact._store.factory import open_store
from transact._testing.fake_clock import FakeClock
from transact._testing.histories import checkpoints_of, import_history, read_history
from transact.errors import DBOSException

T = TypeVar("T")


class HistoryDivergence(ReplayDivergence):
    """Where the code as it is now leaves a recorded history.

    ``position`` is the function id; ``recorded`` the operation the history holds there
    (None: the history ends); ``issued`` the one the code issued now (None: the code
    returned); ``arguments`` the issued operation's arguments; ``recorded_digest`` and
    ``issued_digest`` the argument digests (None when unknown).
    """

    def __init__(
        self,
        source: str,
        position: int,
        recorded: str | None,
        issued: str | None,
        arguments: Mapping[str, Any] | None = None,
        recorded_digest: str | None = None,
        issued_digest: str | None = None,
    ) -> None:
        self.source = source
        self.position = position
        self.recorded = recorded
        self.issued = issued
        self.arguments = dict(arguments or {})
        self.recorded_digest = recorded_digest
        self.issued_digest = issued_digest
        holds = f"`{recorded}`" if recorded else "nothing (the history ends)"
        now = f"`{issued}`" if issued else "nothing (the code returned)"
        lines = [
            f"{source} diverges at position {position}",
            f"  the history holds: {holds}",
            f"  the code issued:   {now}",
        ]
        if issued and self.arguments:
            lines.append(f"  with arguments:    {self.arguments!r}")
        if recorded_digest and issued_digest and recorded_digest != issued_digest:
            lines.append(f"  argument digest:   {recorded_digest} recorded, {issued_digest} now")
        super().__init__("\n".join(lines))


def _serializer(name: str | None) -> Serializer:
    portable = PortableJSONSerializer()
    return portable if name == portable.name() else DefaultSerializer()


@overload
def replay_history(
    path: str | Path | Mapping[str, Any], workflow: Callable[..., Coroutine[Any, Any, T]]
) -> T: ...
@overload
def replay_history(path: str | Path | Mapping[str, Any], workflow: Callable[..., T]) -> T: ...
def replay_history(path: str | Path | Mapping[str, Any], workflow: Callable[..., Any]) -> Any:
    """Replay the history in ``path`` (a file written by ``export_history`` or ``transact
    workflow export``, or the document itself) against ``workflow`` as it is now.

    Nothing runs and no database is used. Returns the replayed result. Raises
    ``HistoryDivergence`` at the first position where the code issues another operation,
    the same one with other arguments (when the history holds argument digests), more
    operations than recorded, or fewer; ``ReplayDivergence`` when it ends with another
    result or error.
    """
    document = read_history(path) if not isinstance(path, Mapping) else dict(path)
    source = str(path) if not isinstance(path, Mapping) else "the history"
    spec = spec_of(workflow)
    if spec is None:
        raise DBOSException(f"{workflow!r} is not a @DBOS.workflow() function")
    row = document["workflow"]
    if row["name"] != spec.name:
        raise DBOSException(f"{source} is a history of {row['name']!r}, not of {spec.name!r}")
    recorded = {c.function_id: c for c in checkpoints_of(document)}

    def diverged(function_id: int, effect: Any, decision: Any) -> None:
        held = recorded.get(function_id)
        name = held.function_name if held is not None else None
        if effect is None:
            raise HistoryDivergence(source, function_id, name, None)
        if isinstance(decision, Mismatch) or held is None:
            raise HistoryDivergence(
                source, function_id, name, effect.checkpoint_name, arguments(effect)
            )
        issued_digest = digest(effect)
        held_digest = getattr(held, "args_digest", None)
        if held_digest is not None and held_digest != issued_digest:
            raise HistoryDivergence(
                source,
                function_id,
                name,
                effect.checkpoint_name,
                arguments(effect),
                held_digest,
                issued_digest,
            )

    REGISTRY.add_workflow(spec)  # the history's name resolves to this function
    store = open_store(f"memory://replay-{uuid.uuid4().hex}")
    store.migrate()
    workflow_id = import_history(store, document)
    runtime = Runtime(
        store,
        serializer=_serializer(row.get("serialization")),
        clock=FakeClock(),
        executor_id="replay",
        application_version="replay",
        poll_seconds=0.1,
        max_threads=1,
    )
    # Workflow code reaches the runtime through the facade (a child's handle, say): with
    # no launched DBOS, the replay's runtime stands in for the length of the replay.
    stand_in = launched.runtime_or_none() is None
    if stand_in:
        launched.set_runtime(runtime)
    try:
        return replay(runtime, workflow_id, diverged)
    finally:
        if stand_in:
            launched.set_runtime(None)
        runtime.shutdown()
