"""How commands print: JSON (what DBOS's command prints, for scripts and pipes), or a
readable table when the output is a terminal."""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from typing import Any

from transact._runtime.status import StepInfo, WorkflowStatus


def status_json(status: WorkflowStatus) -> dict[str, Any]:
    """A workflow's status as a JSON object (its attributes; values JSON-encoded or,
    when they are not JSON, their ``str()``)."""
    return json.loads(json.dumps(vars(status), default=str))  # type: ignore[no-any-return]


def step_json(step: StepInfo) -> dict[str, Any]:
    """A step as a JSON object."""
    return json.loads(json.dumps(dict(step), default=str))  # type: ignore[no-any-return]


TABLE_COLUMNS = ("workflow_id", "status", "name", "queue_name", "created_at")


def emit(value: Any, *, table: Sequence[str] | None = None) -> None:
    """Print ``value``: as a table of ``table`` columns when stdout is a terminal and the
    value is a list of objects, else as indented JSON."""
    if table is not None and sys.stdout.isatty() and isinstance(value, list):
        _print_table(value, table)
        return
    print(json.dumps(value, indent=2))


def _print_table(rows: list[dict[str, Any]], columns: Sequence[str]) -> None:
    cells = [[("" if row.get(c) is None else str(row.get(c))) for c in columns] for row in rows]
    widths = [max([len(c), *(len(r[i]) for r in cells)]) for i, c in enumerate(columns)]
    print("  ".join(c.upper().ljust(w) for c, w in zip(columns, widths, strict=True)))
    for row in cells:
        print("  ".join(v.ljust(w) for v, w in zip(row, widths, strict=True)))
    print(f"({len(rows)} workflow{'s' if len(rows) != 1 else ''})")


def confirmed(question: str) -> bool:
    """Ask ``question`` on stderr and read the answer from stdin: stdout keeps only the
    command's output, and an empty or closed stdin (a script) is a no, not a traceback."""
    print(question, end="", file=sys.stderr, flush=True)
    return sys.stdin.readline().strip().lower() in ("y", "yes")
