"""Checkpoints: the recorded outcome of one operation of a workflow, and the log of them."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import attrs


@attrs.frozen
class Checkpoint:
    """The outcome of the operation at ``function_id`` of a workflow.

    ``output`` and ``error`` hold serialized text (the core never deserializes); at most
    one of them is set. ``child_workflow_id`` names the workflow a child start or a
    get-result refers to. ``args_digest`` fingerprints the operation's arguments.
    """

    function_id: int
    function_name: str
    output: str | None = None
    error: str | None = None
    child_workflow_id: str | None = None
    started_at_epoch_ms: int | None = None
    completed_at_epoch_ms: int | None = None
    # A digest of the operation's arguments (``_core/digest.py``); None for checkpoints
    # recorded before digests existed, which replay compares by name only.
    args_digest: str | None = None


@attrs.frozen
class CheckpointLog:
    """The checkpoints of one workflow, by function id. Empty for a new workflow."""

    entries: Mapping[int, Checkpoint] = attrs.field(factory=dict)

    @classmethod
    def of(cls, checkpoints: Iterable[Checkpoint]) -> CheckpointLog:
        """Build a log from checkpoints in any order."""
        return cls({c.function_id: c for c in checkpoints})

    def get(self, function_id: int) -> Checkpoint | None:
        """The checkpoint at ``function_id``, if recorded."""
        return self.entries.get(function_id)

    def __len__(self) -> int:
        return len(self.entries)

    def __bool__(self) -> bool:
        return bool(self.entries)

    @property
    def last_function_id(self) -> int:
        """The highest recorded function id (0 when empty)."""
        return max(self.entries, default=0)

    def before(self, function_id: int) -> CheckpointLog:
        """The prefix of the log strictly before ``function_id`` (what a fork copies)."""
        return CheckpointLog({k: v for k, v in self.entries.items() if k < function_id})


EMPTY_LOG = CheckpointLog()
