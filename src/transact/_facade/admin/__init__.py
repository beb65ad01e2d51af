"""DBOS's admin HTTP server and the maintenance operations it exposes."""
