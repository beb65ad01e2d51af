"""DBOS's ``dbos.error`` module: every error class and ``DBOSErrorCode``.

``from transact.error import DBOSException`` is ``from dbos.error import DBOSException``
with the import changed; the classes are those of :mod:`transact.errors`.
"""

from transact.errors import *  # noqa: F403  (transact.errors.__all__ lists them)
from transact.errors import __all__ as _errors

__all__ = list(_errors)
