"""The pure core: effect values, the checkpoint log, replay decisions, the status machine.

Nothing here does I/O, starts threads or reads a clock (a test enforces it), so every
rule of durable execution can be tested as plain functions on plain values.
"""
