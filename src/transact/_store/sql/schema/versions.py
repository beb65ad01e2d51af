"""The ``application_versions`` table (migration 7), as DBOS has it: one row per
application version, the one with the highest ``version_timestamp`` being the latest."""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, Index, PrimaryKeyConstraint, Table, Text

from transact._store.sql.schema.tables import metadata

__all__ = ["VERSION_INDEXES", "application_versions"]

application_versions = Table(
    "application_versions",
    metadata,
    Column("version_id", Text, nullable=False),
    Column("version_name", Text, nullable=False),
    Column("version_timestamp", BigInteger, nullable=False),
    Column("created_at", BigInteger, nullable=False),
    Column("application_name", Text),
    PrimaryKeyConstraint("version_id", name="pk_application_versions"),
)

_v = application_versions.c
# A version name is claimed by one application, or unclaimed (DBOS's two partial indexes).
VERSION_INDEXES = (
    Index(
        "uq_application_versions_owner_version",
        _v.application_name,
        _v.version_name,
        unique=True,
        postgresql_where=_v.application_name.isnot(None),
        sqlite_where=_v.application_name.isnot(None),
    ),
    Index(
        "uq_application_versions_unclaimed_version",
        _v.version_name,
        unique=True,
        postgresql_where=_v.application_name.is_(None),
        sqlite_where=_v.application_name.is_(None),
    ),
)
