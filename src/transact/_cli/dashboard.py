"""``transact dashboard``: serve the web dashboard for a system database."""

from __future__ import annotations

import argparse
import ipaddress
import os

from transact._cli.types import Subparsers
from transact._cli.urls import UsageError, system_database_url

LOOPBACK_NAMES = {"localhost"}
TOKEN_VARIABLE = "TRANSACT_DASHBOARD_TOKEN"


def add_parser(commands: Subparsers) -> None:
    """Declare the subcommand and its flags."""
    parser = commands.add_parser(
        "dashboard",
        help="serve the web dashboard",
        description="Serve the web dashboard of a system database (nothing runs here: "
        "resumed and forked workflows are enqueued for the application's executors).",
    )
    parser.add_argument("-s", "--sys-db-url", help="the system database URL")
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (127.0.0.1)")
    parser.add_argument("--port", type=int, default=8080, help="port to listen on (8080)")
    parser.add_argument(
        "--token",
        default=os.environ.get(TOKEN_VARIABLE),
        help=f"require this token (default ${TOKEN_VARIABLE}); needed off the loopback",
    )
    parser.set_defaults(run=run)


def is_loopback(host: str) -> bool:
    """Whether ``host`` only listens on this machine."""
    if host in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def run(options: argparse.Namespace) -> int:
    """Serve until interrupted; refuse a non-loopback address without a token."""
    if not is_loopback(options.host) and not options.token:
        raise UsageError(
            f"listening on {options.host} needs a token (--token or ${TOKEN_VARIABLE}); "
            "without one, listen on 127.0.0.1"
        )
    import uvicorn  # the dashboard extra; imported only by this subcommand

    from transact.dashboard import dashboard_app

    app = dashboard_app(system_database_url(options.sys_db_url), token=options.token)
    print(f"transact dashboard on http://{options.host}:{options.port}/", flush=True)
    uvicorn.run(app, host=options.host, port=options.port, log_level="warning")
    return 0
