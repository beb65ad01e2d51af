"""The cost of argument digests on a step: microseconds per step, with and without.

Runs one workflow of many trivial steps (an int and a short string in, a string out)
on a store and reports the median time per step over several repetitions. To compare
with the code before digests, run it twice, once against an older checkout of ``src``::

    git archive <commit-before> src | tar -x -C /tmp/before
    PYTHONPATH=/tmp/before/src .venv/bin/python benchmarks/bench_digest.py   # before
    .venv/bin/python benchmarks/bench_digest.py                              # after

``--toggle`` measures the digest alone, in one process: the same workflow with digests
on and off (a constant instead), alternating. ``--alternate`` compares two checkouts
(each round runs a before and an after process back to back, so noise on a shared
machine hits both alike).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid

STEPS = 400


def per_step_us(url: str, repetitions: int, toggle: bool = False) -> float:
    """The median microseconds per step of a workflow of ``STEPS`` steps on ``url``
    (process CPU time: other processes on a shared machine count less). With ``toggle``,
    also the same with digests switched off, alternating, and prints both."""
    from transact import DBOS, SetWorkflowID

    @DBOS.step()
    def bench_step(n: int, label: str) -> str:
        return label

    @DBOS.workflow()
    def bench_steps(count: int) -> int:
        for i in range(count):
            bench_step(i, "label")
        return count

    DBOS(config={"name": "bench-digest", "system_database_url": url})
    DBOS.launch()
    try:
        bench_steps(20)  # warm up
        from transact._runtime import async_driver, interpreter

        # An older checkout (``--alternate``) has no digests to switch.
        real = getattr(interpreter, "digest", None)
        toggle = toggle and real is not None
        times: dict[bool, list[float]] = {True: [], False: []}
        for repetition in range(repetitions):
            # The order alternates too, so whichever runs second is not always the same.
            order = (True, False) if repetition % 2 else (False, True)
            for on in order if toggle else (True,):
                if real is not None:
                    swapped = real if on else _no_digest
                    interpreter.digest = async_driver.digest = swapped  # type: ignore[attr-defined]
                with SetWorkflowID(uuid.uuid4().hex):
                    started = time.process_time()
                    bench_steps(STEPS)
                    times[on].append((time.process_time() - started) / STEPS * 1e6)
        if real is not None:
            interpreter.digest = async_driver.digest = real  # type: ignore[attr-defined]
        if toggle:
            off, on_ = statistics.median(times[False]), statistics.median(times[True])
            print(f"digests off {off:.1f} us/step, on {on_:.1f} us/step ({on_ - off:+.1f})")
        return statistics.median(times[True])
    finally:
        DBOS.destroy()


def _no_digest(effect: object) -> str:
    return "-"


def url_for(kind: str, directory: str) -> str:
    if kind == "memory":
        return f"memory://bench-{uuid.uuid4().hex}"
    return f"sqlite:///{directory}/bench-{uuid.uuid4().hex}.sqlite"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--store", choices=["memory", "sqlite"], default="memory")
    parser.add_argument("--repetitions", type=int, default=7)
    parser.add_argument("--alternate", metavar="BEFORE_SRC", help="compare with this src dir")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument(
        "--toggle", action="store_true", help="in one process: digests on and off, alternating"
    )
    options = parser.parse_args()
    if options.alternate:
        before: list[float] = []
        after: list[float] = []
        for _ in range(options.rounds):
            for side, path in ((before, options.alternate), (after, "")):
                env = dict(os.environ, PYTHONPATH=path) if path else dict(os.environ)
                out = subprocess.run(
                    [sys.executable, __file__, "--store", options.store],
                    env=env,
                    capture_output=True,
                    text=True,
                    check=True,
                )
                side.append(float(out.stdout.split()[-2]))
        b, a = statistics.median(before), statistics.median(after)
        print(f"{options.store}: before {b:.1f} us/step, after {a:.1f} us/step ({a - b:+.1f})")
        print(f"  before runs: {[round(x, 1) for x in before]}")
        print(f"  after runs:  {[round(x, 1) for x in after]}")
        return
    with tempfile.TemporaryDirectory() as directory:
        us = per_step_us(url_for(options.store, directory), options.repetitions, options.toggle)
    print(f"{options.store}: {us:.1f} us/step")


if __name__ == "__main__":
    main()
