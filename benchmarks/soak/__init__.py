"""The chaos soak (``make soak``): queued workflows over three worker processes that are
SIGKILLed every few seconds, on a Postgres server the soak starts, crashes and restarts
itself (``server.py``), then checks that nothing was lost, stuck, wrong, run again after
its commit or committed twice, that the queue's limit held and that the work spread
(``checks.py``). See ``docs/operations.md``."""
