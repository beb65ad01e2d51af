"""``python -m transact``: the ``transact`` command."""

import sys

from transact._cli.main import main

sys.exit(main())
