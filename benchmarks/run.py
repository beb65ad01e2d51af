"""``make bench``: run the benchmark suite and prepend its table to benchmarks/RESULTS.md.

Usage: ``.venv/bin/python benchmarks/run.py [--quick] [--only FAMILY,...] [--db sqlite,postgres]
[--no-write]`` (see ``--help`` and ``benchmarks/README.md``).
"""

from __future__ import annotations

import sys
from pathlib import Path

# Run as a script (``python benchmarks/run.py``), the package is not importable yet.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.suite import main

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
