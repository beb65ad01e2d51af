"""``DBOSClient``: operate on a DBOS application's workflows from any process."""
