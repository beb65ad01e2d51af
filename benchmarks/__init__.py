"""The benchmark suite of ``transact`` (run by ``make bench``; see ``benchmarks/README.md``).

Every library figure is printed next to its *floor*: the cost of one raw single-row
INSERT+COMMIT on the same database with the same settings, measured in the same run and
interleaved with the library's own repetitions, so the ratio survives a noisy machine.
"""
