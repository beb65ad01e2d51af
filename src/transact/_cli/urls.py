"""Which system database a command works on, resolved as DBOS's command resolves it.

In order: the ``-s/--sys-db-url`` flag, the ``DBOS_SYSTEM_DATABASE_URL`` environment
variable, ``system_database_url`` in ``dbos-config.yaml`` in the current directory, and
last the SQLite file DBOS's default config names after the application
(``sqlite:///<name>.sqlite``, the ``name`` of the same config file).
"""

from __future__ import annotations

import os
import pathlib
from typing import Any

import yaml

ENVIRONMENT_VARIABLE = "DBOS_SYSTEM_DATABASE_URL"
CONFIG_FILE = "dbos-config.yaml"


class UsageError(Exception):
    """A command cannot run as asked: its one-line message goes to stderr."""


def _config_file() -> dict[str, Any]:
    path = pathlib.Path(CONFIG_FILE)
    if not path.exists():
        return {}
    try:
        loaded = yaml.safe_load(path.read_text())
    except yaml.YAMLError as exc:
        raise UsageError(f"{CONFIG_FILE} is not valid YAML: {exc}") from None
    if loaded is None:
        return {}
    if not isinstance(loaded, dict):
        raise UsageError(f"{CONFIG_FILE} must hold a mapping of settings")
    return loaded


def system_database_url(flag: str | None) -> str:
    """The system database URL for this command (``UsageError`` if none can be found)."""
    if flag:
        return flag
    if os.environ.get(ENVIRONMENT_VARIABLE):
        return os.environ[ENVIRONMENT_VARIABLE]
    config = _config_file()
    if config.get("system_database_url"):
        return str(config["system_database_url"])
    name = config.get("name")
    if name:
        return f"sqlite:///{str(name).replace('-', '_')}.sqlite"
    raise UsageError(
        "no system database: pass -s/--sys-db-url, set "
        f"{ENVIRONMENT_VARIABLE}, or run where {CONFIG_FILE} names the application"
    )
