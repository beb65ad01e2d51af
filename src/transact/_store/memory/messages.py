"""The message verbs of the in-memory store."""

from __future__ import annotations

from collections.abc import Sequence

import attrs

from transact._core.checkpoint import Checkpoint
from transact._store.memory.state import Mailbox, MemoryState, StoredMessage
from transact._store.records import OutgoingMessage
from transact.errors import (
    DBOSNonExistentWorkflowError,
)

__all__ = ["MessageVerbs"]


class MessageVerbs(MemoryState):
    """The message verbs of the in-memory store (a mixin of ``MemoryStore``)."""

    def send_message(
        self,
        destination_id: str,
        topic: str | None,
        message: str,
        *,
        message_id: str | None,
        now_ms: int,
        checkpoint: tuple[str, Checkpoint] | None = None,
    ) -> bool:
        """Append a message for (destination, topic), idempotent on ``message_id``."""
        with self._lock:
            if checkpoint is not None:
                self._check_checkpoint(*checkpoint)
            # An idempotent repeat still records the sender's checkpoint: the send, as an
            # operation of the sender, did complete (its message was delivered earlier).
            duplicate = message_id is not None and message_id in self._message_ids
            # Checked after the id, as SQL's ON CONFLICT DO NOTHING does: a repeated id
            # inserts nothing, so a missing destination breaks no foreign key.
            if not duplicate and destination_id not in self._workflows:
                raise DBOSNonExistentWorkflowError("`send` destination", destination_id)
            if not duplicate:
                if message_id is not None:
                    self._message_ids[message_id] = destination_id
                queue = self._messages.setdefault(destination_id, {}).setdefault(topic, Mailbox())
                queue.append(StoredMessage(message, created_at_epoch_ms=now_ms))
            if checkpoint is not None:
                self._put_checkpoint(*checkpoint)
            return not duplicate

    def send_messages(
        self,
        messages: Sequence[OutgoingMessage],
        *,
        now_ms: int,
        checkpoint: tuple[str, Checkpoint] | None = None,
    ) -> list[bool]:
        """Send every message in one transaction: all or, if a destination is missing,
        nothing (see ``Store``)."""
        with self._lock:
            if checkpoint is not None:
                self._check_checkpoint(*checkpoint)
            missing = sorted({m.destination_id for m in messages} - self._workflows.keys())
            if missing:
                raise DBOSNonExistentWorkflowError("`send` destination", ", ".join(missing))
            inserted = []
            for m in messages:
                duplicate = m.message_id is not None and m.message_id in self._message_ids
                if not duplicate:
                    if m.message_id is not None:
                        self._message_ids[m.message_id] = m.destination_id
                    queue = self._messages.setdefault(m.destination_id, {})
                    stored = StoredMessage(m.message, created_at_epoch_ms=now_ms)
                    queue.setdefault(m.topic, Mailbox()).append(stored)
                inserted.append(not duplicate)
            if checkpoint is not None:
                self._put_checkpoint(*checkpoint)
            return inserted

    def consume_message(
        self, workflow_id: str, topic: str | None, checkpoint: Checkpoint
    ) -> str | None:
        """Take the oldest unconsumed message of (workflow, topic) and checkpoint it."""
        with self._lock:
            queue = self._messages.get(workflow_id, {}).get(topic)
            oldest = None if queue is None else queue.oldest()
            if queue is None or oldest is None:
                return None
            recorded = attrs.evolve(checkpoint, output=oldest.message)
            self._check_checkpoint(workflow_id, recorded)
            queue.consume()
            self._put_checkpoint(workflow_id, recorded)
            return oldest.message

    def has_message(self, workflow_id: str, topic: str | None) -> bool:
        """Whether (workflow, topic) has an unconsumed message."""
        with self._lock:
            queue = self._messages.get(workflow_id, {}).get(topic)
            return queue is not None and queue.oldest() is not None
