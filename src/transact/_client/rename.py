"""``DBOSClient.rename_application``: after an application is renamed, the rows its old
name owns in the system database (and, if asked, the unclaimed ones) are given the new
name, so the renamed application's listings and version checks find them.

Also what ``transact rename-application`` runs (``rename_in``, on a store).
"""

from __future__ import annotations

import re

from transact._client.connection import ClientBase
from transact._client.twins import twin
from transact._facade.loop_guard import warn_if_on_loop
from transact._store.protocol import Store
from transact.errors import DBOSException

__all__ = [
    "DEFAULT_RENAME_BATCH",
    "check_rename",
    "rename_application",
    "rename_application_async",
    "rename_in",
]

DEFAULT_RENAME_BATCH = 10_000
# The rule DBOSConfig's ``name`` follows (``_facade/config.py``): a new name must be one
# an application could launch under.
_APPLICATION_NAME = re.compile(r"[a-z0-9_-]{3,30}")


def check_rename(
    old_name: str | None, new_name: str, *, batch_size: int, adopt_unclaimed_rows: bool
) -> None:
    """Refuse a rename DBOS refuses, with its messages, in its order: ``ValueError`` for
    a batch size that is not a positive integer, then ``DBOSException`` for an empty old
    name, nothing to re-own, an invalid new name, and a new name equal to the old."""
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError(f"batch_size must be a positive integer, got {batch_size}")
    if old_name == "":
        raise DBOSException("The application's previous name cannot be empty.")
    if old_name is None and not adopt_unclaimed_rows:
        raise DBOSException(
            "Nothing to re-own: name the application to rename, adopt unclaimed rows, or both."
        )
    if not isinstance(new_name, str) or not _APPLICATION_NAME.fullmatch(new_name):
        raise DBOSException(
            f"Invalid application name '{new_name}'. Application names must be between 3 "
            "and 30 characters long and contain only lowercase letters, numbers, dashes, "
            "and underscores."
        )
    if old_name == new_name:
        raise DBOSException(f"Application '{new_name}' already holds that name; nothing to rename.")


def rename_in(
    store: Store,
    old_name: str | None,
    new_name: str,
    *,
    batch_size: int = DEFAULT_RENAME_BATCH,
    adopt_unclaimed_rows: bool = False,
) -> dict[str, int]:
    """``rename_application`` on ``store`` (see there)."""
    check_rename(
        old_name, new_name, batch_size=batch_size, adopt_unclaimed_rows=adopt_unclaimed_rows
    )
    done = store.rename_application(
        old_name, new_name, adopt_unclaimed=adopt_unclaimed_rows, batch_size=batch_size
    )
    # Queues, schedules and steps have no owner column in transact's schema (queue and
    # schedule names are global; steps belong to their workflow): nothing to re-own.
    return {
        "queues": 0,
        "schedules": 0,
        "versions": done.versions,
        "workflows": done.workflows,
        "steps": 0,
    }


def rename_application(
    self: ClientBase,
    old_name: str | None,
    new_name: str,
    *,
    batch_size: int = DEFAULT_RENAME_BATCH,
    adopt_unclaimed_rows: bool = False,
) -> dict[str, int]:
    """Give ``new_name`` the rows the application called ``old_name`` owns and, with
    ``adopt_unclaimed_rows``, the unclaimed ones (application name NULL; ``old_name``
    None adopts only those). Returns how many rows changed owner, by kind:
    ``{"queues", "schedules", "versions", "workflows", "steps"}``.

    In transact's schema only workflows (``workflow_status``) and application versions
    (``application_versions``) have an owner: queue and schedule names are global and
    steps belong to their workflow, so ``queues``, ``schedules`` and ``steps`` are
    always 0. A version name ``new_name`` already holds is merged into its row, which
    keeps the later timestamp of the two (so the latest version stays the latest); the
    duplicate is deleted and counted.

    Works in batches of at most ``batch_size`` rows, one transaction each, so running
    workflows are never locked for long; a second call finishes what an interrupted one
    left. ``ValueError`` for a batch size that is not a positive integer;
    ``DBOSException`` for an empty ``old_name``, nothing to re-own, an invalid
    ``new_name`` (DBOS's application-name rule) or ``new_name == old_name``.
    """
    warn_if_on_loop("DBOSClient.rename_application", "DBOSClient.rename_application_async")
    return rename_in(
        self._connection.store,
        old_name,
        new_name,
        batch_size=batch_size,
        adopt_unclaimed_rows=adopt_unclaimed_rows,
    )


rename_application_async = twin(rename_application)
