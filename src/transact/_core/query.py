"""``WorkflowQuery``: the filters of a workflow listing, as plain data."""

from __future__ import annotations

from typing import TypeVar

import attrs

T = TypeVar("T")


@attrs.frozen
class WorkflowQuery:
    """Filters of ``list_workflows``; every filter that is None (or False) is not applied.

    Tuple filters match any of their values (SQL ``IN``). Time bounds are inclusive
    epoch milliseconds: ``created_*`` on ``created_at``, ``completed_*`` on
    ``completed_at``, ``dequeued_*`` on ``started_at_epoch_ms``. ``queues_only`` keeps
    rows with a ``queue_name`` and, when ``statuses`` is None, only ENQUEUED, DELAYED and
    PENDING ones. Results are ordered by ``created_at`` (then ``workflow_id``), ascending
    unless ``sort_desc``; then ``offset`` rows are skipped and at most ``limit`` returned.
    ``attributes`` (JSON object text) keeps rows whose attributes hold every key of it
    with an equal value (:func:`attributes_match`).
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
    attributes: str | None = None
    application_names: tuple[str, ...] | None = None


def page(items: list[T], limit: int | None, offset: int | None) -> list[T]:
    """``items`` without the first ``offset``, at most ``limit`` of them."""
    start = offset or 0
    return items[start:] if limit is None else items[start : start + limit]


def attributes_match(stored: object, wanted: object) -> bool:
    """Whether decoded ``stored`` attributes hold every key of ``wanted`` with an equal
    value (JSON equality: ``True`` is not ``1``). The stores' filters agree with it."""
    if not isinstance(stored, dict) or not isinstance(wanted, dict):
        return False
    return all(key in stored and _same(stored[key], value) for key, value in wanted.items())


def _same(a: object, b: object) -> bool:
    if isinstance(a, bool) or isinstance(b, bool):
        return a is b
    return a == b
