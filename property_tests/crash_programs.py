"""Generated workflow programs, and a workflow that interprets them.

A program is a list of operations; the workflow runs them in order and returns what
each produced. Every step counts its runs in ``runs`` (outside the library) so tests can
check that no completed step ran twice.
"""

from __future__ import annotations

from collections import Counter

from tests.strategies import Op, crash_programs
from transact import DBOS

runs: Counter[tuple[str, int]] = Counter()


@DBOS.step()
def double(tag: str, index: int, value: int) -> int:
    runs[(tag, index)] += 1
    return value * 2


@DBOS.step()
def refuse(tag: str, index: int, value: int) -> int:
    runs[(tag, index)] += 1
    raise ValueError(value)


@DBOS.workflow()
def child(tag: str, value: int) -> int:
    return double(f"{tag}/child", 0, value) + 1


@DBOS.workflow()
def interpret(tag: str, program: list[Op]) -> list[int]:
    results: list[int] = []
    for index, (kind, value) in enumerate(program):
        if kind == "step":
            results.append(double(tag, index, value))
        elif kind == "fail":
            try:
                refuse(tag, index, value)
            except ValueError as exc:
                results.append(-int(exc.args[0]))
        elif kind == "sleep":
            DBOS.sleep(0.0001)
            results.append(0)
        elif kind == "child":
            results.append(child(f"{tag}/{index}", value))
    return results


programs = crash_programs
