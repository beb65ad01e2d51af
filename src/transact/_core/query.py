"""``WorkflowQuery``: the filters of a workflow listing, as plain data."""

from __future__ import annotations

import attrs


@attrs.frozen
class WorkflowQuery:
    """Filters of ``list_workflows``; every filter that is None (or False) is not applied.

    Tuple filters match any of their values (SQL ``IN``). Time bounds are inclusive
    epoch milliseconds: ``created_*`` on ``created_at``, ``completed_*`` on
    ``completed_at``, ``dequeued_*`` on ``started_at_epoch_ms``. ``queues_only`` keeps
    rows with a ``queue_name`` and, when ``statuses`` is None, only ENQUEUED, DELAYED and
    PENDING ones. Results are ordered by ``created_at`` (then ``workflow_id``), ascending
    unless ``sort_desc``; then ``offset`` rows are skipped and at most ``limit`` returned.
    """

    workflow_ids: tuple[str, ...] | None = None
    statuses: tuple[str, ...] | None = None
    names: tuple[str, ...] | None = None
    application_versions: tuple[str, ...] | None = None
    executor_ids: tuple[str, ...] | None = None
    queue_names: tuple[str, ...] | None = None
    parent_workflow_ids: tuple[str, ...] | None = None
    forked_from: tuple[str, ...] | None = None
    users: tuple[str, ...] | None = None
    workflow_id_prefixes: tuple[str, ...] | None = None
    schedule_names: tuple[str, ...] | None = None
    created_after: int | None = None
    created_before: int | None = None
    completed_after: int | None = None
    completed_before: int | None = None
    dequeued_after: int | None = None
    dequeued_before: int | None = None
    queues_only: bool = False
    was_forked_from: bool | None = None
    has_parent: bool | None = None
    load_input: bool = True
    load_output: bool = True
    limit: int | None = None
    offset: int | None = None
    sort_desc: bool = False
