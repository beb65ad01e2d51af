"""The property tests share the behaviour tests' Postgres fixture (one database per run)."""

from tests.conftest import postgres_database_url

__all__ = ["postgres_database_url"]
