"""The DBOS-compatible surface: the ``DBOS`` class, decorators, handles, config, contexts."""
