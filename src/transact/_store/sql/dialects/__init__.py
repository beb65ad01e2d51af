"""The Postgres and SQLite stores: preparing the database, locking migrations, LISTEN."""
