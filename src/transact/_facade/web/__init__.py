"""Web framework integrations: what ``DBOS(config, fastapi=app)`` and ``flask=app`` install."""
