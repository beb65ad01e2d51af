"""``transact workflow ...``: list, get, steps, cancel, resume, fork, export, import, and
``queue list``.

Each opens the system database (never migrating it), acts through the store, and runs no
workflow: a resumed or forked workflow is enqueued for the application's executors.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from transact._cli.output import TABLE_COLUMNS, emit, status_json, step_json
from transact._cli.types import Subparsers
from transact._cli.urls import system_database_url
from transact._facade import remote
from transact._facade.listing import workflow_query
from transact._runtime.status import to_status, to_step_info
from transact._serialization import DefaultSerializer
from transact._store.factory import open_store
from transact._store.protocol import Store
from transact._testing import histories
from transact.errors import DBOSNonExistentWorkflowError


def add_parser(commands: Subparsers) -> None:
    """Declare ``workflow`` and its subcommands."""
    group = commands.add_parser("workflow", help="list, inspect and operate on workflows")
    sub = group.add_subparsers(dest="workflow_command", required=True, metavar="COMMAND")

    listing = _command(sub, "list", "list workflows (newest last unless --sort-desc)", list_)
    _listing_flags(listing)
    listing.add_argument("-u", "--user", help="authenticated user")
    listing.add_argument("-v", "--application-version", help="application version")

    for name, help_text, run in (
        ("get", "a workflow's status", get),
        ("steps", "a workflow's recorded steps", steps),
        ("cancel", "cancel a workflow", cancel),
        ("resume", "resume a workflow (an executor of its version runs it)", resume),
    ):
        _command(sub, name, help_text, run).add_argument("workflow_id")

    _command(sub, "export", "a workflow's history as JSON (stdout)", export).add_argument(
        "workflow_id"
    )
    _command(sub, "import", "load a history exported as JSON", import_).add_argument("file")

    forking = _command(sub, "fork", "fork a workflow from a step", fork)
    forking.add_argument("workflow_id")
    forking.add_argument("-S", "--step", type=int, default=1, help="the step to restart from")
    forking.add_argument("-f", "--forked-workflow-id", help="the fork's id (default: a UUID)")
    forking.add_argument("-v", "--application-version", help="the version that runs the fork")

    queue = sub.add_parser("queue", help="queued workflows")
    queue_sub = queue.add_subparsers(dest="queue_command", required=True, metavar="COMMAND")
    queued = _command(
        queue_sub, "list", "list workflows waiting on or running from queues", list_queued
    )
    _listing_flags(queued)
    queued.add_argument("-q", "--queue-name", help="the queue")


def _command(
    sub: Subparsers, name: str, help_text: str, run: Callable[[argparse.Namespace], int]
) -> argparse.ArgumentParser:
    parser = sub.add_parser(name, help=help_text, description=help_text)
    parser.add_argument("-s", "--sys-db-url", help="the system database URL")
    parser.set_defaults(run=run)
    return parser


def _listing_flags(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("-l", "--limit", type=int, default=10, help="at most this many (10)")
    parser.add_argument("-o", "--offset", type=int, default=0, help="skip this many first")
    parser.add_argument("-t", "--start-time", help="created at or after (ISO-8601)")
    parser.add_argument("-e", "--end-time", help="created at or before (ISO-8601)")
    parser.add_argument("-S", "--status", help="status (PENDING, SUCCESS, ERROR, ...)")
    parser.add_argument("-n", "--name", help="workflow name")
    parser.add_argument("-d", "--sort-desc", action="store_true", help="newest first")


@contextmanager
def _store(options: argparse.Namespace) -> Iterator[Store]:
    store = open_store(system_database_url(options.sys_db_url))
    try:
        yield store
    finally:
        store.close()


def _listing(options: argparse.Namespace, **extra: Any) -> int:
    query = workflow_query(
        limit=options.limit,
        offset=options.offset,
        start_time=options.start_time,
        end_time=options.end_time,
        status=options.status,
        name=options.name,
        sort_desc=options.sort_desc,
        **extra,
    )
    serializer = DefaultSerializer()
    with _store(options) as store:
        rows = [status_json(to_status(r, serializer)) for r in store.list_workflows(query)]
    emit(rows, table=TABLE_COLUMNS)
    return 0


def list_(options: argparse.Namespace) -> int:
    """``workflow list``."""
    return _listing(options, user=options.user, app_version=options.application_version)


def list_queued(options: argparse.Namespace) -> int:
    """``workflow queue list``."""
    return _listing(options, queue_name=options.queue_name, queues_only=True)


def get(options: argparse.Namespace) -> int:
    """``workflow get ID``."""
    with _store(options) as store:
        row = store.get_workflow(options.workflow_id)
    if row is None:
        raise DBOSNonExistentWorkflowError("target", options.workflow_id)
    emit(status_json(to_status(row, DefaultSerializer())))
    return 0


def steps(options: argparse.Namespace) -> int:
    """``workflow steps ID``."""
    serializer = DefaultSerializer()
    with _store(options) as store:
        if store.get_workflow(options.workflow_id, load_input=False, load_output=False) is None:
            raise DBOSNonExistentWorkflowError("target", options.workflow_id)
        checkpoints = store.load_checkpoints(options.workflow_id)
    emit([step_json(to_step_info(c, serializer)) for c in checkpoints])
    return 0


def cancel(options: argparse.Namespace) -> int:
    """``workflow cancel ID``."""
    with _store(options) as store:
        remote.cancel(remote.Remote(store), options.workflow_id)
    emit({"workflow_id": options.workflow_id, "status": "CANCELLED"})
    return 0


def resume(options: argparse.Namespace) -> int:
    """``workflow resume ID``."""
    with _store(options) as store:
        remote.resume(remote.Remote(store), options.workflow_id)
    emit({"workflow_id": options.workflow_id, "status": "ENQUEUED"})
    return 0


def fork(options: argparse.Namespace) -> int:
    """``workflow fork ID``."""
    with _store(options) as store:
        fork_id = remote.fork(
            remote.Remote(store),
            options.workflow_id,
            options.step,
            new_id=options.forked_workflow_id,
            application_version=options.application_version,
        )
    emit({"workflow_id": fork_id})
    return 0


def export(options: argparse.Namespace) -> int:
    """``workflow export ID``: the history document, on stdout."""
    with _store(options) as store:
        document = histories.export_history(store, options.workflow_id)
    print(json.dumps(document, indent=2, sort_keys=True))
    return 0


def import_(options: argparse.Namespace) -> int:
    """``workflow import FILE``: load a history into the database."""
    document = histories.read_history(options.file)
    with _store(options) as store:
        emit({"workflow_id": histories.import_history(store, document)})
    return 0
