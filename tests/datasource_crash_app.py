"""A program the datasource crash test runs in child processes.

``python datasource_crash_app.py SYS_URL USER_URL EFFECTS --crash`` starts a workflow
whose datasource transaction appends to EFFECTS and then SIGKILLs the process right after
the user database commits (before the system checkpoint). Without ``--crash`` it launches
(which recovers the workflow) and prints the workflow's result.
"""

from __future__ import annotations

import argparse
import os
import signal

from sqlalchemy import event, text

from transact import DBOS, SetWorkflowID, SQLAlchemyDatasource

parser = argparse.ArgumentParser()
parser.add_argument("system_url")
parser.add_argument("user_url")
parser.add_argument("effects")
parser.add_argument("--crash", action="store_true")
options = parser.parse_args()

ds = SQLAlchemyDatasource.create(options.user_url)
with ds.engine.begin() as conn:
    conn.execute(text("CREATE TABLE IF NOT EXISTS crash_orders (id TEXT PRIMARY KEY)"))


@ds.transaction()
def add_order(order_id: str) -> int:
    with open(options.effects, "a") as f:
        f.write("ran\n")
        f.flush()
        os.fsync(f.fileno())
    ds.sql_session.execute(text("INSERT INTO crash_orders (id) VALUES (:id)"), {"id": order_id})
    return int(ds.sql_session.execute(text("SELECT COUNT(*) FROM crash_orders")).scalar_one())


@DBOS.workflow()
def order_workflow() -> int:
    return add_order("o-1") * 10


if options.crash:

    @event.listens_for(ds.sessionmaker, "after_commit")
    def die(_session: object) -> None:
        os.kill(os.getpid(), signal.SIGKILL)


DBOS(config={"name": "ds-crash", "system_database_url": options.system_url})
DBOS.launch()
if options.crash:
    with SetWorkflowID("ds-crash"):
        order_workflow()
print(DBOS.retrieve_workflow("ds-crash").get_result(polling_interval_sec=0.01))
DBOS.destroy()
