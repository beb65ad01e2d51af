"""Every effect a workflow can issue, as immutable data.

Use them in :func:`transact.testing.run_program` scripts, or to inspect what a
``transact.fx`` program yields. Effects compare by value, payloads included; a
payload is left out of the hash, so it need not be hashable.
"""

from transact._core.effects import *  # noqa: F403  (the core module's __all__ lists them)
from transact._core.effects import __all__ as _effects
from transact._core.effects_more import *  # noqa: F403
from transact._core.effects_more import __all__ as _more_effects
from transact._core.query import WorkflowQuery

__all__ = [*_effects, *_more_effects, "WorkflowQuery"]
