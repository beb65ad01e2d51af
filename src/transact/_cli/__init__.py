"""The ``transact`` command."""
