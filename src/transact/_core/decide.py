"""The replay decision: given the log and the next effect, replay it or execute it."""

from __future__ import annotations

from typing import Any

import attrs

from transact._core.checkpoint import Checkpoint, CheckpointLog
from transact._core.digest import digest
from transact._core.effects import Effect


@attrs.frozen
class Replay:
    """The effect already ran: return (or raise) its recorded outcome."""

    checkpoint: Checkpoint


@attrs.frozen
class Execute:
    """Nothing is recorded at this position: perform the effect."""


@attrs.frozen
class Mismatch:
    """The log holds a different operation at this position: the code is non-deterministic."""

    function_id: int
    recorded: str
    issued: str


@attrs.frozen
class Changed:
    """The log holds this operation here, called with other arguments (their digests
    differ): replay ``checkpoint``, after a warning or, when strict, an error."""

    checkpoint: Checkpoint
    issued_digest: str


Decision = Replay | Execute | Mismatch | Changed

EXECUTE = Execute()


def decide(log: CheckpointLog, function_id: int, effect: Effect[Any]) -> Decision:
    """Decide what performing ``effect`` at ``function_id`` means given ``log``."""
    recorded = log.get(function_id)
    if recorded is None:
        return EXECUTE
    if recorded.function_name != effect.checkpoint_name:
        return Mismatch(function_id, recorded.function_name, effect.checkpoint_name)
    if recorded.args_digest is not None:
        issued = digest(effect)
        if issued != recorded.args_digest:
            return Changed(recorded, issued)
    return Replay(recorded)
