"""The workflows whose recorded histories (``tests/histories/*.json``) are replayed in CI.

Record them again (after a deliberate, versioned change) with::

    python -m tests.history_workflows
"""

from __future__ import annotations

import pathlib
import tempfile

from transact import DBOS, SetWorkflowID, fx
from transact.testing import FakeClock, export_history, launched

HISTORIES = pathlib.Path(__file__).parent / "histories"


@DBOS.step()
def reserve(sku: str, quantity: int) -> str:
    return f"reserved {quantity} x {sku}"


@DBOS.step()
def charge(cents: int) -> str:
    return f"charged {cents}"


@DBOS.workflow()
def golden_order(sku: str, quantity: int, cents: int) -> str:
    reserved = reserve(sku, quantity)
    DBOS.set_event("stage", "reserved")
    DBOS.sleep(3_600)
    receipt = charge(cents * quantity)
    DBOS.write_stream("progress", {"done": True})
    return f"{reserved}; {receipt}"


@DBOS.workflow()
def golden_parent(count: int) -> list[str]:
    handles = [DBOS.start_workflow(golden_order, f"sku-{i}", 1, 100) for i in range(count)]
    return [h.get_result() for h in handles]


@DBOS.workflow()
def golden_fx(cents: int) -> fx.Program[str]:
    receipt = yield from fx.step(charge, cents)
    yield from fx.sleep(60)
    yield from fx.set_event("receipt", receipt)
    return receipt


RECORDINGS = {
    "order": (golden_order, ("apple", 3, 125)),
    "parent": (golden_parent, (2,)),
    "fx": (golden_fx, (990,)),
}


def record() -> None:
    """Run each workflow once and write its history next to this module."""
    with tempfile.TemporaryDirectory() as directory:
        url = f"sqlite:///{directory}/record.sqlite"
        with launched({"name": "golden", "system_database_url": url}, clock=FakeClock()):
            for name, (workflow, args) in RECORDINGS.items():
                with SetWorkflowID(f"golden-{name}"):
                    workflow(*args)  # type: ignore[operator]
                export_history(f"golden-{name}", HISTORIES / f"{name}.json")


if __name__ == "__main__":
    record()
