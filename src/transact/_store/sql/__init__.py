"""The SQL stores: one SQLAlchemy Core implementation (``store.SQLStore``), split by
concern, run on SQLite (``sqlite.open_sqlite_store``) or Postgres
(``postgres.open_postgres_store``)."""
