"""The in-memory store: the reference model the SQL stores are checked against.

Simplest correct code over plain dicts, guarded by one re-entrant lock; no I/O. Records
are frozen, so rows are shared and replaced (``attrs.evolve``), never copied. Every verb
validates everything before its first mutation, which is how "a verb that raises has
written nothing" holds without a rollback mechanism.

The verbs live in one mixin per concern (workflows, checkpoints, messages, events,
streams, queues), as the SQL store's do; :class:`MemoryStore` composes them and owns the
lifecycle.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence

from transact._store.memory.checkpoints import CheckpointVerbs
from transact._store.memory.definitions import DefinitionVerbs
from transact._store.memory.events import EventVerbs
from transact._store.memory.exports import ExportVerbs
from transact._store.memory.messages import MessageVerbs
from transact._store.memory.queues import QueueVerbs
from transact._store.memory.revisions import RevisionVerbs
from transact._store.memory.streams import StreamVerbs
from transact._store.memory.workflows import WorkflowVerbs
from transact._store.protocol import NotifyCallback

__all__ = ["MemoryStore"]


class MemoryStore(
    QueueVerbs,
    WorkflowVerbs,
    CheckpointVerbs,
    MessageVerbs,
    EventVerbs,
    StreamVerbs,
    RevisionVerbs,
    DefinitionVerbs,
    ExportVerbs,
):
    """A :class:`~transact._store.protocol.Store` held in process memory.

    ``MemoryStore()`` is private to its creator; :meth:`named` shares one instance per
    name across the process, so a runtime relaunched on ``memory://<name>`` finds its
    data again (a simulated restart).
    """

    @classmethod
    def named(cls, name: str) -> MemoryStore:
        """The process-wide store called ``name``, created on first use."""
        with _NAMED_LOCK:
            store = _NAMED.get(name)
            if store is None:
                store = _NAMED[name] = cls()
            return store

    # --- lifecycle -------------------------------------------------------------------

    def migrate(self) -> None:
        """Nothing to create: the schema is the Python objects."""

    def reset(self) -> None:
        """Forget every workflow and everything attached to it."""
        with self._lock:
            self._workflows.clear()
            self._checkpoints.clear()
            self._messages.clear()
            self._message_ids.clear()
            self._events.clear()
            self._event_history.clear()
            self._streams.clear()
            self._versions.clear()
            self._reset_definitions()

    def close(self) -> None:
        """Nothing to release; the data stays for the next user of a named store."""

    def subscribe(self, on_notify: NotifyCallback) -> bool:
        """Return False: there is no other process to hear from."""
        return False

    def listen_for_outcomes(self) -> None:
        """Nothing to hear: there is no other process."""

    def serve_queue(self, queue_name: str) -> None:
        """Nothing to hear, nobody to share a limit with: there is no other process."""

    def retire_queue(self, queue_name: str) -> None:
        """Nothing to do (see ``serve_queue``)."""

    def publish(self, keys: Sequence[str]) -> None:
        """Nothing to send: there is no other process."""


_NAMED: dict[str, MemoryStore] = {}
_NAMED_LOCK = threading.Lock()
