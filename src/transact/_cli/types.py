"""Types the command's modules share."""

from __future__ import annotations

import argparse
from typing import TypeAlias

# A string: argparse._SubParsersAction is generic only to the type checker.
Subparsers: TypeAlias = "argparse._SubParsersAction[argparse.ArgumentParser]"
