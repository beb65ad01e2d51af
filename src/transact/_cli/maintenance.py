"""``transact garbage-collect`` and ``transact global-timeout``: DBOS's maintenance of a
system database, from any machine that reaches it.

Both act through the store as the library calls (``transact.maintenance``) do, without a
launched application: garbage collection deletes finished workflows, the global timeout
marks old active ones CANCELLED (their executors see it at their next operation).
"""

from __future__ import annotations

import argparse
import time

from transact._cli.output import emit
from transact._cli.types import Subparsers
from transact._cli.urls import UsageError, system_database_url
from transact._facade.admin import maintenance
from transact._store.factory import open_store


def add_parser(commands: Subparsers) -> None:
    """Declare ``garbage-collect`` and ``global-timeout``."""
    gc = commands.add_parser(
        "garbage-collect",
        help="delete old finished workflows",
        description="Delete finished workflows (with their steps, events, messages and "
        "streams) created before a cutoff, or all but the newest N; active ones are kept.",
    )
    gc.add_argument("-s", "--sys-db-url", help="the system database URL")
    gc.add_argument(
        "--cutoff-epoch-timestamp-ms", type=int, help="delete those created before this time"
    )
    gc.add_argument("--rows-threshold", type=int, help="keep at most this many newest workflows")
    gc.add_argument(
        "--batch-size",
        type=int,
        default=maintenance.DEFAULT_GC_BATCH,
        help=f"workflows deleted per transaction ({maintenance.DEFAULT_GC_BATCH})",
    )
    gc.set_defaults(run=run_garbage_collect)

    timeout = commands.add_parser(
        "global-timeout",
        help="cancel workflows active since before a cutoff",
        description="Cancel every PENDING, ENQUEUED or DELAYED workflow created at or "
        "before the cutoff (or more than --older-than seconds ago).",
    )
    timeout.add_argument("-s", "--sys-db-url", help="the system database URL")
    cutoff = timeout.add_mutually_exclusive_group(required=True)
    cutoff.add_argument("--cutoff-epoch-timestamp-ms", type=int, help="the cutoff time")
    cutoff.add_argument("--older-than", type=float, metavar="SECONDS", help="the cutoff's age")
    timeout.set_defaults(run=run_global_timeout)


def run_garbage_collect(options: argparse.Namespace) -> int:
    """``garbage-collect``: prints ``{"deleted": N}``."""
    if options.cutoff_epoch_timestamp_ms is None and options.rows_threshold is None:
        raise UsageError("give --cutoff-epoch-timestamp-ms or --rows-threshold")
    store = open_store(system_database_url(options.sys_db_url))
    try:
        deleted = maintenance.garbage_collect(
            store,
            options.cutoff_epoch_timestamp_ms,
            options.rows_threshold,
            batch_size=options.batch_size,
        )
    finally:
        store.close()
    emit({"deleted": deleted})
    return 0


def run_global_timeout(options: argparse.Namespace) -> int:
    """``global-timeout``: prints ``{"cancelled": [ids]}``."""
    now = int(time.time() * 1000)
    cutoff = options.cutoff_epoch_timestamp_ms
    if cutoff is None:
        cutoff = now - int(options.older_than * 1000)
    store = open_store(system_database_url(options.sys_db_url))
    try:
        workflow_ids = maintenance.timed_out_workflows(store, cutoff)
        if workflow_ids:
            store.cancel_workflows(workflow_ids, now)
    finally:
        store.close()
    emit({"cancelled": workflow_ids})
    return 0
