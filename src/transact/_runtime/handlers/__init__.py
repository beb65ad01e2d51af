"""One module per family of effects; importing the package registers every handler."""

from transact._runtime.handlers import calls, children, sleep, steps

__all__ = ["calls", "children", "sleep", "steps"]
