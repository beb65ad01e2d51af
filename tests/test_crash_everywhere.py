"""``crash_everywhere`` and ``crash_cases``: recovery from a crash at every checkpoint,
and what the kit says when a workflow is not deterministic or not idempotent."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from transact import DBOS, fx
from transact._core import decide as decide_module
from transact.testing import CrashCase, CrashEverywhereError, crash_cases, crash_everywhere

bodies: list[str] = []


@DBOS.step()
def reserve(sku: str) -> str:
    bodies.append("reserve")
    return f"reserved {sku}"


@DBOS.step()
def charge(cents: int) -> str:
    bodies.append("charge")
    return f"charged {cents}"


@DBOS.workflow()
def order(sku: str, cents: int) -> str:
    reserved = reserve(sku)
    DBOS.sleep(86_400)  # a day, in virtual time
    DBOS.set_event("stage", "charging")
    return f"{reserved}, {charge(cents)}"


@DBOS.workflow()
async def order_async(sku: str, cents: int) -> str:
    reserved = reserve(sku)
    await DBOS.sleep_async(3_600)
    return f"{reserved}, {charge(cents)}"


@DBOS.workflow()
def order_fx(sku: str, cents: int) -> fx.Program[str]:
    reserved = yield from fx.step(reserve, sku)
    yield from fx.sleep(60)
    charged = yield from fx.step(charge, cents)
    return f"{reserved}, {charged}"


@pytest.mark.parametrize("workflow", [order, order_async, order_fx], ids=["sync", "async", "fx"])
def test_every_surface_recovers_at_every_point(workflow: Any, system_database_url: str) -> None:
    bodies.clear()
    result = crash_everywhere(workflow, "apple", 42, store=system_database_url)
    assert result == "reserved apple, charged 42"
    # One workflow per crash point (at least 4: its row and three checkpoints) plus the
    # crash-free one, each running each step body exactly once across crash and recovery.
    assert bodies.count("reserve") == bodies.count("charge") >= 5
    assert threading.active_count() < 20


def test_an_error_result_is_compared_and_raised() -> None:
    @DBOS.workflow()
    def refuses(sku: str) -> str:
        reserve(sku)
        raise ValueError(f"no {sku}")

    with pytest.raises(ValueError, match="no pear"):
        crash_everywhere(refuses, "pear")


calls = [0]


@DBOS.workflow()
def counts_outside_steps(sku: str) -> int:
    calls[0] += 1  # a side effect outside a step: runs again on recovery
    reserve(sku)
    return calls[0]


def test_a_side_effect_outside_a_step_is_caught() -> None:
    with pytest.raises(CrashEverywhereError) as caught:
        crash_everywhere(counts_outside_steps, "fig")
    assert str(caught.value).startswith(
        "counts_outside_steps('fig') crashed right after the workflow started, recovery returned"
    )


runs = [0]


@DBOS.workflow()
def moves_a_step(sku: str) -> str:
    runs[0] += 1
    # The order differs from one execution to the next.
    done = [reserve(sku), charge(1)] if runs[0] % 2 else [charge(1), reserve(sku)]
    return " ".join(sorted(done))  # the same result either way


def test_a_moved_step_is_caught() -> None:
    runs[0] = 0
    with pytest.raises(CrashEverywhereError) as caught:
        crash_everywhere(moves_a_step, "kiwi")
    assert str(caught.value) == (
        "moves_a_step('kiwi') crashed right after the workflow started, the recovered "
        "history holds step 1 `charge` where the crash-free one holds step 1 `reserve`"
    )


def test_a_recorded_step_that_runs_again_is_caught(monkeypatch: pytest.MonkeyPatch) -> None:
    # A broken replay (every position executes) is what a non-idempotent recovery looks
    # like from the outside: the kit counts step bodies and names the one run again.
    real = decide_module.decide
    monkeypatch.setattr(
        "transact._runtime.interpreter.decide",
        lambda log, function_id, effect: (
            decide_module.EXECUTE
            if effect.checkpoint_name == "charge"
            else real(log, function_id, effect)
        ),
    )

    @DBOS.workflow()
    def two_steps(cents: int) -> str:
        return reserve("x") + charge(cents)

    with pytest.raises(CrashEverywhereError) as caught:
        crash_everywhere(two_steps, 3)
    assert str(caught.value).startswith(
        "two_steps(3) crashed after step 2 `charge`, recovery ran `charge` (step 2) again"
    )


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(case=crash_cases(order, st.sampled_from(["apple", "pear"]), st.integers(0, 500)))
def test_the_strategy_form_draws_inputs_and_a_crash_point(case: CrashCase[str]) -> None:
    assert case.check().startswith("reserved ")


def test_the_strategy_form_shrinks_to_the_earliest_point() -> None:
    calls[0] = 0
    found: list[str] = []

    @settings(max_examples=30, deadline=None, database=None)
    @given(case=crash_cases(counts_outside_steps, st.text("abc", min_size=0, max_size=3)))
    def check(case: CrashCase[int]) -> None:
        try:
            case.check()
        except CrashEverywhereError as exc:
            found.append(repr(case))
            raise exc

    with pytest.raises(CrashEverywhereError, match="right after the workflow started"):
        check()
    assert found[-1] == "CrashCase(counts_outside_steps(''), crash=0)"
