"""A program ``test_classes.py`` runs in child processes: an instance workflow whose
process dies inside its second step, and a new process that recovers it on the same
configured instance.

``python classes_app.py URL EFFECTS --crash`` starts the workflow and SIGKILLs itself;
``python classes_app.py URL EFFECTS`` launches (recovering it) and prints its result,
class name and config name.
"""

from __future__ import annotations

import os
import signal
import sys

from transact import DBOS, DBOSConfiguredInstance, SetWorkflowID

url, effects = sys.argv[1], sys.argv[2]
crash = "--crash" in sys.argv


@DBOS.dbos_class()
class Accounts(DBOSConfiguredInstance):
    @DBOS.step()
    def record(self, n: int) -> int:
        with open(effects, "a") as f:
            f.write(f"{self.config_name}:{n}\n")
            f.flush()
            os.fsync(f.fileno())
        if crash and n == 2:
            os.kill(os.getpid(), signal.SIGKILL)
        return n

    @DBOS.workflow()
    def run(self) -> str:
        total = 0
        for n in (1, 2, 3):
            total = self.record(n)
        return f"{self.config_name}:{total}"


Accounts("acct-a")
b = Accounts("acct-b")

if __name__ == "__main__":
    DBOS(config={"name": "classes-crash", "system_database_url": url})
    DBOS.launch()
    if crash:
        with SetWorkflowID("acct-wf"):
            b.run()
        raise SystemExit("the crash did not happen")
    print(DBOS.retrieve_workflow("acct-wf").get_result(polling_interval_sec=0.05))
    status = DBOS.get_workflow_status("acct-wf")
    assert status is not None
    print(status.class_name, status.config_name)
    DBOS.destroy()
