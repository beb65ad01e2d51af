"""The chaos soak: each check fails on the violation it looks for, and a short soak
(about a minute: workers killed, its own Postgres restarted and crashed) passes."""

from __future__ import annotations

import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest
from benchmarks.soak.checks import Observed, violations

ROOT = Path(__file__).resolve().parent.parent


def healthy() -> Observed:
    observed = Observed(count=30, concurrency=4, workers=3, max_pending=4)
    observed.expected = {f"soak-{i}": i * 2 for i in range(30)}
    observed.rows = {f"soak-{i}": ("SUCCESS", i * 2, f"w{i % 3}") for i in range(30)}
    observed.transactions = Counter({f"soak-{i}": 1 for i in range(30)})
    return observed


def test_the_checks_pass_a_healthy_soak() -> None:
    assert not any(violations(healthy()).values())


@pytest.mark.parametrize(
    ("check", "doctor"),
    [
        ("lost", lambda o: o.rows.pop("soak-3")),
        ("stuck", lambda o: o.rows.__setitem__("soak-3", ("PENDING", None, "w0"))),
        ("stuck", lambda o: o.rows.__setitem__("soak-3", ("ERROR", None, "w0"))),
        ("wrong", lambda o: o.rows.__setitem__("soak-3", ("SUCCESS", -1, "w0"))),
        ("rerun_after_commit", lambda o: setattr(o, "reruns_after_commit", 1)),
        ("dup_txn", lambda o: o.transactions.update({"soak-3": 1})),
        ("dup_txn", lambda o: o.transactions.pop("soak-3")),
        ("limit_exceeded", lambda o: setattr(o, "max_pending", 5)),
        (
            "starved_workers",
            lambda o: o.rows.update({wf: (s, v, "w0") for wf, (s, v, _) in o.rows.items()}),
        ),
    ],
)
def test_each_check_fails_on_its_violation(check: str, doctor: object) -> None:
    observed = healthy()
    doctor(observed)  # type: ignore[operator]
    found = violations(observed)
    assert found[check] >= 1
    assert {k for k, v in found.items() if v} == {check}


@pytest.mark.slow
@pytest.mark.postgres
def test_a_short_soak_passes() -> None:
    from benchmarks.soak.server import find_bin

    try:
        find_bin()
    except RuntimeError as exc:
        pytest.skip(str(exc))
    args = ["--workflows", "300", "--concurrency", "6", "--restart-every", "3", "8"]
    args += ["--kill-every", "3", "6", "--max-seconds", "200"]
    done = subprocess.run(
        [sys.executable, "-m", "benchmarks.soak", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    summary = done.stdout.strip().splitlines()[-1] if done.stdout.strip() else done.stderr
    assert done.returncode == 0, summary
    assert summary.startswith("soak: ") and summary.endswith("PASS")
