"""A program the crash tests run in child processes.

``python crash_app.py URL WORKFLOW_ID EFFECTS --crash-at N`` starts a five-step workflow
and SIGKILLs itself inside step N, after the step's side effect. ``python crash_app.py
URL WORKFLOW_ID EFFECTS`` launches (which recovers the workflow) and prints its result.
Each step appends its number to EFFECTS: side effects counted outside the library.
"""

from __future__ import annotations

import argparse
import os
import signal

from transact import DBOS

parser = argparse.ArgumentParser()
parser.add_argument("url")
parser.add_argument("workflow_id")
parser.add_argument("effects")
parser.add_argument("--crash-at", type=int, default=0)
options = parser.parse_args()


@DBOS.step()
def step(n: int, total: int) -> int:
    with open(options.effects, "a") as f:
        f.write(f"{n}\n")
        f.flush()
        os.fsync(f.fileno())
    if n == options.crash_at:
        os.kill(os.getpid(), signal.SIGKILL)
    return total + n


@DBOS.workflow()
def five_steps() -> int:
    total = 0
    for n in range(1, 6):
        total = step(n, total)
    return total


if __name__ == "__main__":
    from transact import SetWorkflowID

    DBOS(config={"name": "crash-test", "system_database_url": options.url})
    DBOS.launch()
    if options.crash_at:
        with SetWorkflowID(options.workflow_id):
            five_steps()  # dies inside step --crash-at
        raise SystemExit("the crash did not happen")
    print(DBOS.retrieve_workflow(options.workflow_id).get_result(polling_interval_sec=0.05))
    DBOS.destroy()
