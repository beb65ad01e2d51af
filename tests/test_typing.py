"""mypy must reject calls with wrong argument types (the ParamSpec typing holds)."""

from __future__ import annotations

import pathlib
import subprocess
import sys
import textwrap

import pytest

ROOT = pathlib.Path(__file__).parents[1]

BAD = textwrap.dedent(
    """
    from transact import DBOS, DBOSConfiguredInstance, fx

    @DBOS.step()
    def charge(order_id: str, cents: int) -> float:
        return cents / 100

    @DBOS.workflow()
    def checkout(order_id: str, cents: int) -> str:
        return order_id

    @DBOS.workflow()
    def fx_flow(order_id: str) -> fx.Program[int]:
        amount = yield from fx.step(charge, order_id, "ten")  # line 14: wrong step argument
        return amount  # line 15: float is not int

    DBOS.start_workflow(checkout, "o-1", "250")  # line 17: wrong workflow argument
    checkout(1, 2)  # line 18: wrong direct-call argument
    result: int = DBOS.start_workflow(checkout, "o", 1).get_result()  # line 19: str is not int
    DBOS.run_step(None, charge, "o")  # line 20: missing argument

    @DBOS.dbos_class()
    class Shop(DBOSConfiguredInstance):
        @DBOS.workflow()
        def order(self, item: str) -> str:
            return item

    shop = Shop("s")
    DBOS.start_workflow(shop.order, 3)  # line 29: wrong method argument
    n: int = DBOS.start_workflow(shop.order, "pen").get_result()  # line 30: str is not int
    """
)


@pytest.mark.slow
def test_mypy_rejects_wrong_argument_types(tmp_path: pathlib.Path) -> None:
    source = tmp_path / "bad_usage.py"
    source.write_text(BAD)
    completed = subprocess.run(
        [
            sys.executable,
            "-m",
            "mypy",
            "--strict",
            "--no-incremental",
            "--config-file",
            "/dev/null",
            str(source),
        ],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=300,
    )
    lines = {
        int(line.split(":")[1])
        for line in completed.stdout.splitlines()
        if line.startswith(str(source)) and ": error:" in line
    }
    assert lines == {14, 15, 17, 18, 19, 20, 29, 30}, completed.stdout
