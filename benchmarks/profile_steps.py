"""Profile the per-step hot path: workflows of many trivial steps, direct calls.

    .venv/bin/python -m benchmarks.profile_steps --db sqlite            # cProfile
    .venv/bin/python -m benchmarks.profile_steps --db postgres --top 40
    .venv/bin/py-spy record --nonblocking -r 1000 -f raw -o steps.txt -- \\
        .venv/bin/python -m benchmarks.profile_steps --db postgres --profiler none

With many steps per workflow (``--steps``, default 100) the workflow's own start and
finish are a few percent of the time, so the profile is the step path: the ``perform``
interpreter, the step handler, serialization, and the store's checkpoint insert.
``--profiler none`` runs unprofiled (for py-spy, or to time it: it prints ms per step).
``--steps 0`` profiles empty workflows instead (a workflow's start and finish).
``--summarize FILE`` reads py-spy's raw output and prints each function's share of the
samples taken inside the workflow call (inclusive, and as the sampled leaf line).
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import re
import shutil
import sys
import time
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import cast

from benchmarks.app import steps_workflow
from benchmarks.common import DEFAULT_POSTGRES_SERVER, Context, Kind, Sizes, launched, open_database


def main(argv: Sequence[str]) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.profile_steps")
    parser.add_argument("--db", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--profiler", choices=["cprofile", "none"], default="cprofile")
    parser.add_argument("--seconds", type=float, default=10.0, help="how long to run")
    parser.add_argument("--steps", type=int, default=100, help="steps per workflow")
    parser.add_argument("--top", type=int, default=30, help="functions to list")
    parser.add_argument("--postgres-url", default=DEFAULT_POSTGRES_SERVER)
    parser.add_argument("--summarize", metavar="FILE", help="summarize a py-spy raw profile")
    args = parser.parse_args(argv)
    if args.summarize:
        summarize(Path(args.summarize), args.top)
        return
    ctx = Context(sizes=Sizes.quick(), postgres_server=args.postgres_url)
    with open_database(ctx, cast(Kind, args.db), "profile") as db, launched(db.url):
        for _ in range(5):
            steps_workflow(args.steps)  # warm up
        floor = db.floor.commit_ms(300)
        profiler = cProfile.Profile() if args.profiler == "cprofile" else None
        workflows = 0
        start = time.perf_counter()
        if profiler is not None:
            profiler.enable()
        while time.perf_counter() - start < args.seconds:
            steps_workflow(args.steps)
            workflows += 1
        if profiler is not None:
            profiler.disable()
        elapsed = time.perf_counter() - start
    shutil.rmtree(ctx.scratch, ignore_errors=True)
    ops, what = (workflows * args.steps, "step") if args.steps else (workflows, "workflow")
    print(
        f"{db.label}: {workflows} workflows of {args.steps} steps in {elapsed:.1f} s: "
        f"{elapsed * 1000 / ops:.3f} ms per {what}{' (profiled)' if profiler else ''}; "
        f"floor {floor:.3f} ms"
    )
    if profiler is not None:
        stats = pstats.Stats(profiler, stream=sys.stdout)
        calls = sum(entry[1] for entry in stats.stats.values())  # type: ignore[attr-defined]
        print(f"{calls / ops:.0f} Python function calls per {what}")
        stats.sort_stats("tottime").print_stats(args.top)
        stats.sort_stats("cumulative").print_stats(args.top)


def summarize(path: Path, top: int, root: str = "call_workflow ") -> None:
    """Print the functions' shares of py-spy samples (``record -f raw``) under ``root``."""
    inclusive: Counter[str] = Counter()
    leaves: Counter[str] = Counter()
    total = 0
    for line in path.read_text().splitlines():
        stack, _, count_text = line.rpartition(" ")
        frames = stack.split(";")
        starts = [i for i, frame in enumerate(frames) if frame.startswith(root)]
        if not starts or not count_text.isdigit():
            continue
        count = int(count_text)
        frames = frames[starts[0] :]
        total += count
        for function in {re.sub(r":\d+\)$", ")", frame) for frame in frames}:
            inclusive[function] += count
        leaves[frames[-1]] += count
    if not total:
        raise SystemExit(f"no samples under {root.strip()!r} in {path}")
    print(f"{total} samples inside {root.strip()}")
    for title, counter in (("inclusive, by function", inclusive), ("leaf, by line", leaves)):
        print(f"--- {title}")
        for function, count in counter.most_common(top):
            print(f"{100 * count / total:6.1f}%  {function}")


if __name__ == "__main__":
    main(sys.argv[1:])
