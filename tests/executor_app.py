"""An executor process for the multi-executor tests.

    python executor_app.py URL EXECUTOR_ID EFFECTS start WORKFLOW_ID [--go-file F]
        start WORKFLOW_ID (waiting for F to exist first, so several processes start together)
        and print its result
    python executor_app.py URL EXECUTOR_ID EFFECTS slow WORKFLOW_ID
        start a workflow whose first step takes 1.5 s, and print its result
    python executor_app.py URL EXECUTOR_ID EFFECTS recover WORKFLOW_ID
        launch (recovering this executor's PENDING workflows) and print the result

Every step body appends a line to EFFECTS (side effects counted outside the library).
"""

from __future__ import annotations

import argparse
import os
import pathlib
import time

from transact import DBOS, SetWorkflowID
from transact.errors import DBOSWorkflowConflictIDError

parser = argparse.ArgumentParser()
parser.add_argument("url")
parser.add_argument("executor_id")
parser.add_argument("effects")
parser.add_argument("mode", choices=["start", "slow", "recover"])
parser.add_argument("workflow_id")
parser.add_argument("--go-file")
options = parser.parse_args()


def effect(text: str) -> None:
    with open(options.effects, "a") as f:
        f.write(f"{text} {os.getpid()}\n")


@DBOS.step()
def note(text: str, seconds: float) -> str:
    effect(text)
    time.sleep(seconds)
    return text


@DBOS.workflow()
def counted(label: str) -> str:
    note(f"{label}-1", 0.2)
    return note(f"{label}-2", 0.0)


@DBOS.workflow()
def slow_then_fast() -> str:
    note("slow", 1.5)
    return note("fast", 0.0)


if __name__ == "__main__":
    DBOS(
        config={
            "name": "executors",
            "system_database_url": options.url,
            "executor_id": options.executor_id,
            "application_version": "v1",
        }
    )
    DBOS.launch()
    try:
        if options.mode == "start":
            if options.go_file:
                while not pathlib.Path(options.go_file).exists():
                    time.sleep(0.005)
            with SetWorkflowID(options.workflow_id):
                handle = DBOS.start_workflow(counted, "body")
        elif options.mode == "slow":
            with SetWorkflowID(options.workflow_id):
                handle = DBOS.start_workflow(slow_then_fast)
        else:
            handle = DBOS.retrieve_workflow(options.workflow_id)
        print(handle.get_result(polling_interval_sec=0.05))
    except DBOSWorkflowConflictIDError:
        print("conflict")
    finally:
        DBOS.destroy(workflow_completion_timeout_sec=5)
