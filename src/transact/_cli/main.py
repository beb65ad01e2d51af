"""The ``transact`` command (also ``python -m transact``): one subcommand per module."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from transact._cli import dashboard


def parser() -> argparse.ArgumentParser:
    """The command line."""
    top = argparse.ArgumentParser(prog="transact", description="Operate transact applications.")
    commands = top.add_subparsers(dest="command", required=True, metavar="COMMAND")
    dashboard.add_parser(commands)
    return top


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command; its exit status."""
    options = parser().parse_args(argv)
    status: int = options.run(options)
    return status


if __name__ == "__main__":
    sys.exit(main())
