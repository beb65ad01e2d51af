"""A real process dies inside a step; a new process finishes the workflow.

Completed steps must have run exactly once; the interrupted step may run again.
"""

from __future__ import annotations

import pathlib
import signal
import subprocess
import sys

import pytest

APP = pathlib.Path(__file__).with_name("crash_app.py")


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(APP), *args], capture_output=True, text=True, timeout=120
    )


@pytest.mark.slow
@pytest.mark.parametrize("crash_at", [1, 3, 5])
def test_killed_process_resumes_without_rerunning_completed_steps(
    system_database_url: str, tmp_path: pathlib.Path, crash_at: int
) -> None:
    if system_database_url.startswith("memory://"):
        pytest.skip("the memory store does not outlive its process")
    effects = tmp_path / "effects.txt"
    crashed = run(system_database_url, "wf-crash", str(effects), "--crash-at", str(crash_at))
    assert crashed.returncode == -signal.SIGKILL, crashed.stderr
    assert effects.read_text().split() == [str(n) for n in range(1, crash_at + 1)]

    recovered = run(system_database_url, "wf-crash", str(effects))
    assert recovered.returncode == 0, recovered.stderr
    assert recovered.stdout.strip() == "15"
    ran = effects.read_text().split()
    for n in range(1, 6):
        expected = 2 if n == crash_at else 1  # the interrupted step runs again
        assert ran.count(str(n)) == expected, ran
